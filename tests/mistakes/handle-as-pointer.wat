;; a JSON handle handed over as if it were a string
;; at: 5:3
(func $run (result i32)
  (bind $doc (call $json.parse "{\"a\": 1}"))
  (resv (local.get $doc))
  (i32.const 0))
