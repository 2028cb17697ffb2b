;; Library functions are pulled in when called, with what they call.
(func $run (result i32)
  (drop (call $std.twice (i32.const 2)))
  (drop (call $std.shout (call $std.greet)))
  (i32.const 0))
