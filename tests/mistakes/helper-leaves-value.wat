;; a helper without a result that leaves a value
;; at: 4:4
(func $double (param $n i32)
  (i32.mul (local.get $n) (i32.const 2)))
(func $run (result i32)
  (call $double (i32.const 2))
  (i32.const 0))
