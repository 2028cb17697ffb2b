;; one local name declared with two types
;; at: 5:10
(func $run (result i32)
  (local $n i32)
  (local $n i64)
  (i32.const 0))
