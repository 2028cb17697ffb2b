;; resv hands over one value
;; at: 4:3
(func $run (result i32)
  (resv "a" "b")
  (i32.const 0))
