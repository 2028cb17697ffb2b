;; a call to a function the program never defines
;; at: 4:15
(func $run (result i32)
  (resv (call $greeting "Ada"))
  (i32.const 0))
