;; An imported memory of no pages, and a 64-bit one of no pages.
(module
  (import "spectest" "memory" (memory 0))
  (memory $wide i64 0)
  (func (export "size") (result i32) (memory.size)))
