;; a type the library has no functions for
;; at: 4:15
(func $run (result i32)
  (resv (call $std.f64.to_str (f64.const 1.5)))
  (i32.const 0))
