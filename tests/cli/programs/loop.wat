;; Never returns: stopped by fuel or by the timeout.
(func $run (result i32)
  (loop $forever (br $forever))
  (i32.const 0))
