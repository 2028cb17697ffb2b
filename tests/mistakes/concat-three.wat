;; std.str.concat takes two strings, not three
;; at: 4:31
(func $run (result i32)
  (resv (call $std.str.concat "hello, " "big " "world"))
  (i32.const 0))
