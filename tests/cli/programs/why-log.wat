;; Logs at a level that does not exist: status 1, with the levels.
(func $run (result i32)
  (call $log.write (i32.const 9) "hello"))
