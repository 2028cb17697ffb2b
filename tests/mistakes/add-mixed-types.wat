;; i32.add of an i32 and an i64
;; at: 5:18
(func $run (result i32)
  (local $n i32)
  (local.set $n (i32.add (i32.const 1) (i64.const 2)))
  (i32.const 0))
