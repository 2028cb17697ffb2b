;; a type the library has no functions for
;; at: 4:15
(func $run (result i32)
  (resv (call $std.bool.to_str (i32.const 1)))
  (i32.const 0))
