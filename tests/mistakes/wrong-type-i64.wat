;; an i64 where a string pointer (i32) goes
;; at: 4:10
(func $run (result i32)
  (resv (call $std.str.concat (i64.const 1) "a"))
  (i32.const 0))
