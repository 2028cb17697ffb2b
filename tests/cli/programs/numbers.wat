;; Numbers come back from json.stringify as they were written.
(func $run (result i32)
  (bind $doc (call $json.parse r#"{"price": 1.50, "big": 1e3, "id": 12345678901234567890123}"#))
  (check (call $json.set_i64 (local.get $doc) "count" (i64.const 2)))
  (bind $text (call $json.stringify (local.get $doc)))
  (resv $text)
  (i32.const 0))
