;; a `)` too many
;; at: 5:17
(func $run (result i32)
  (resv "done")
  (i32.const 0)))
