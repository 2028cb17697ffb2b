;; a misspelt library function
;; at: 4:37
(func $run (result i32)
  (resv (call $std.i32.to_str (call $std.str.length "hello")))
  (i32.const 0))
