;; the two local.set after core.arg written the wrong way round
;; at: 7:3
(func $run (result i32)
  (local $ptr i32) (local $status i32)
  (call $core.arg (i32.const 0))
  (local.set $ptr) (local.set $status)
  (check (local.get $status))
  (resv (local.get $ptr))
  (i32.const 0))
