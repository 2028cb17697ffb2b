;; a status kept, and never tested
;; at: 6:4
(func $run (result i32)
  (local $value i32) (local $status i32)
  (call $kv.get "count")
  (local.set $status)
  (local.set $value)
  (resv (local.get $value))
  (i32.const 0))
