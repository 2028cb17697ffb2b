;; code after a return never runs
;; at: 6:9
(func $run (result i32)
  (resv "done")
  (return (i32.const 0))
  (resv "never")
  (i32.const 0))
