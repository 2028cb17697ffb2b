;; resv of a call that returns (value, status)
;; at: 5:10
(func $run (result i32)
  (bind $doc (call $json.parse "[1]"))
  (resv (call $json.stringify (local.get $doc)))
  (i32.const 0))
