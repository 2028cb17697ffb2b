;; `examples/hello.wat` as plain WebAssembly text, for the reference runner
;; in `process.rs`: what `tape expand` prints for it, with the memory and
;; static data Tape adds after expanding (the literal's `[u32 len][bytes]`
;; at offset 8). Only the `tape` metadata section is left out: nothing but
;; Tape reads it.
(module
  (import "core" "result" (func $core.result (param $ptr i32) (result i32)))
  (memory (export "mem.tape") 1)
  (data (i32.const 8) "\0c\00\00\00hello, world")
  (func $run (export "run") (result i32)
    (call $core.result (i32.const 8))))
