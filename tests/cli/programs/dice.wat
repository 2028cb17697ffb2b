;; Four random bytes, printed as hex.
(func $run (result i32)
  (local $ptr i32) (local $status i32)
  (call $rand.bytes (i32.const 4))
  (local.set $status)
  (local.set $ptr)
  (if (local.get $status) (then (return (local.get $status))))
  (resv $ptr)
  (i32.const 0))
