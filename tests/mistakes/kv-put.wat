;; `put` from another key-value store: Tape's is `set`
;; at: 4:16
(func $run (result i32)
  (check (call $kv.put "count" "1"))
  (i32.const 0))
