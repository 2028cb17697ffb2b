;; a `(` never closed
;; at: 3:1
(func $run (result i32)
  (resv "done")
  (i32.const 0)
