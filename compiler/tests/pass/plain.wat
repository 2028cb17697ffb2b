;; Plain WebAssembly text passes through unchanged but for the wrapper.
(module
  (type $t (func (param i32) (result i32)))
  (import "env" "f" (func $f (type $t)))
  (memory 1)
  (table 2 funcref)
  (elem (i32.const 0) func $g $g)
  (data (i32.const 64) "\00\01raw")
  (func $g (type $t) (call $f (local.get 0)))
  (start $s)
  (func $s))
