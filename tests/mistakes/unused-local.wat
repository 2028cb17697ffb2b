;; a local declared and never used
;; at: 4:10
(func $run (result i32)
  (local $count i32)
  (resv "done")
  (i32.const 0))
