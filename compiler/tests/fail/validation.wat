(func $helper)

(func $run (result i32)
  (local $x i64)
  (local.get $x))
