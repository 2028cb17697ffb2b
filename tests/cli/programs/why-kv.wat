;; Gets a key that was never set: status 3, with the key.
(func $run (result i32)
  (local $value i32) (local $status i32)
  (call $kv.get "visits") (local.set $status) (local.set $value)
  (check (local.get $status))
  (resv (local.get $value))
  (i32.const 0))
