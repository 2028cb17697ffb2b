;; an if whose branch is not wrapped in then
;; at: 4:3
(func $run (result i32)
  (if (i32.eq (i32.const 1) (i32.const 1)) (resv "one"))
  (i32.const 0))
