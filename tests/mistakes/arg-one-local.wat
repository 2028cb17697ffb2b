;; core.arg returns a pointer and a status; one local.set takes only one
;; at: 5:21
(func $run (result i32)
  (local $name i32)
  (local.set $name (call $core.arg (i32.const 0)))
  (resv (local.get $name))
  (i32.const 0))
