;; an unnamed local among the instructions
;; at: 5:3
(func $run (result i32)
  (resv "start")
  (local i32)
  (i32.const 0))
