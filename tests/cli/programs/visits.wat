;; Counts visits with kv.incr, claims "owner" once with kv.cas, and keeps a
;; session for a minute with kv.set_ttl.
(func $run (result i32)
  (bind $visits (call $kv.incr "visits" (i64.const 1)))
  (resv (call $std.i64.to_str (local.get $visits)))
  (bind $claimed (call $kv.cas "owner" (i32.const 0) "the first run"))
  (resv (call $std.i32.to_str (local.get $claimed)))
  (bind $owner (call $kv.get "owner"))
  (resv $owner)
  (bind $left (call $kv.ttl "visits"))
  (resv (call $std.i64.to_str (local.get $left)))
  (check (call $kv.set_ttl "session" "ada" (i64.const 60000)))
  (i32.const 0))
