;; The smallest Tape program: hand the host one string as the result.
;;
;; The string literal becomes a pointer to `[u32 len][bytes]` in static data,
;; and `$core.result` is imported automatically on first use.
(func $run (result i32)
  (call $core.result "hello, world"))
