;; `contains` from another language: the library's is `find`
;; at: 4:13
(func $run (result i32)
  (if (call $std.str.contains "hello" "ell")
    (then (resv "yes")))
  (i32.const 0))
