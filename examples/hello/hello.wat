;; hello: the smallest Tape program. It hands the host one string, which
;; `tape run` prints.
;;
;;   tape run examples/hello/hello.wat
;;
;; `$run` is the entry point; it returns a status, 0 for success. The string
;; literal becomes a pointer to `[u32 length][bytes]` in static data, and
;; `$core.result` is imported by itself on first use; its status (0 when the
;; host took the result) is what `$run` returns.
(func $run (result i32)
  (call $core.result "hello, world"))
