;; Draws random bytes and reads the clock, logs, and keeps a note in kv:
;; everything a replay must give back as it was.
(func $run (result i32)
  (bind $bytes (call $rand.bytes (i32.const 4)))
  (resv (call $std.i32.to_hex (i32.load offset=4 (local.get $bytes))))
  (resv (call $std.i64.to_str (call $time.now)))
  (drop (call $log.write (i32.const 2) "rolled"))
  (i32.const 0))
