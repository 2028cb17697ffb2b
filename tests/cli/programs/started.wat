;; Hands over one result, then never returns: stopped by a limit.
(func $spin
  (loop $forever
    (br $forever)))
(func $run (result i32)
  (resv "started")
  (call $spin)
  (i32.const 0))
