;; a capability under the name another platform gives it
;; at: 4:21
(func $run (result i32)
  (bind $page (call $net.get "https://example.com" ""))
  (resv (local.get $page))
  (i32.const 0))
