;; a JSON function named as another language names it
;; at: 5:21
(func $run (result i32)
  (bind $doc (call $json.parse "[1]"))
  (bind $text (call $json.to_string (local.get $doc)))
  (resv (local.get $text))
  (i32.const 0))
