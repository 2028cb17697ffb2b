;; std.str.concat with one argument
;; at: 4:10
(func $run (result i32)
  (resv (call $std.str.concat "a"))
  (i32.const 0))
