;; a misspelt capability function
;; at: 4:16
(func $run (result i32)
  (check (call $log.wirte (i32.const 2) "hello"))
  (i32.const 0))
