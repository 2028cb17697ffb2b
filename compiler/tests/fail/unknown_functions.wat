(func $run (result i32)
  (drop (call $std.nope))
  (call $log.wirte (i32.const 1) "x"))
