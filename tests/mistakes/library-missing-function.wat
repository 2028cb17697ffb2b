;; a function the library does not have
;; at: 4:15
(func $run (result i32)
  (resv (call $std.str.reverse "a-b"))
  (i32.const 0))
