(func $run (param $n i32) (result i32)
  (local.get $n))
