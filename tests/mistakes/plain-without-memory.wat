;; plain WebAssembly text that stores to a memory it never declared
;; at: 5:6
(module
  (func (export "f")
    (i32.store (i32.const 0) (i32.const 1))))
