;; a string where an i64 goes
;; at: 4:10
(func $run (result i32)
  (resv (call $std.i64.to_str "5"))
  (i32.const 0))
