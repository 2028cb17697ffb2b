;; the name another language gives it, in the wrong group: `str.to_i64` is `i64.parse`
;; at: 4:9
(func $run (result i32)
  (call $std.str.to_i64 "42")
  (drop)
  (drop)
  (i32.const 0))
