;; the two local.set after json.parse written the wrong way round
;; at: 8:3
(func $run (result i32)
  (local $doc i32) (local $status i32) (local $text i32)
  (call $json.parse "[1, 2]")
  (local.set $doc)
  (local.set $status)
  (check (local.get $status))
  (bind $text (call $json.stringify (local.get $doc)))
  (resv (local.get $text))
  (i32.const 0))
