;; A library for the fixtures, standing in for the standard library.
(func $std.greet (result i32) "hello from the library")
(func $std.twice (param $x i32) (result i32)
  (i32.add (call $std.once (local.get $x)) (local.get $x)))
(func $std.once (param $x i32) (result i32) (local.get $x))
(func $std.shout (param $msg i32) (result i32)
  (call $log.write (i32.const 2) (local.get $msg)))
(func $std.unused (result i32) "never linked")
(func $std.ticks (result i64 i32) (i64.const 42) (i32.const 0))
