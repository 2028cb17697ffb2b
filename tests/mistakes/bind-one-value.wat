;; bind is for a call that returns a value and a status
;; at: 4:12
(func $run (result i32)
  (bind $n (call $std.str.len "abc"))
  (i32.const 0))
