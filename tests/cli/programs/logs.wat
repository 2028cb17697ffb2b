;; Logs at every level, then fails with status 3 ("not found").
(func $run (result i32)
  (drop (call $log.write (i32.const 0) "an error"))
  (drop (call $log.write (i32.const 1) "a warning"))
  (drop (call $log.write (i32.const 2) "some information"))
  (drop (call $log.write (i32.const 3) "a debug message"))
  (drop (call $log.write (i32.const 4) "a trace message"))
  (i32.const 3))
