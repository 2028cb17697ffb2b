;; Reads a member the document does not have: status 3, with the pointer.
(func $run (result i32)
  (local $doc i32) (local $name i32) (local $status i32)
  (call $json.parse "{\"user\": {\"id\": 7}}") (local.set $status) (local.set $doc)
  (check (local.get $status))
  (call $json.str (local.get $doc) "/user/name") (local.set $status) (local.set $name)
  (check (local.get $status))
  (resv (local.get $name))
  (i32.const 0))
