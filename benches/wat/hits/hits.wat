;; hits: counts a hit in `kv` and reads the count back, for the load
;; benchmark (benches/serve_load.rs). On Redis that is two round trips a
;; run: `incr` commits at once, in a transaction of its own, and `get`
;; reads the latest committed value; with no buffered write, the run's end
;; commits nothing more.
(func $run (result i32)
  (bind $_n (call $kv.incr "hits" (i64.const 1)))
  (bind $count (call $kv.get "hits"))
  (call $core.result (local.get $count)))
