;; $run must return an i32 status
;; at: 3:7
(func $run
  (drop (call $log.write (i32.const 2) "hi")))
