(func $run (result i32)
  (local $name i32)
  (local.set $name (call $core.arg (i32.const 0)))
  (call $core.result (local.get $name)))
