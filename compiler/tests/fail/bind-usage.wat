(func $run (result i32)
  (bind (call $core.arg (i32.const 0)))
  (bind $x (call $core.arg (i32.const 0)) (i32.const 1))
  (i32.const 0))
