;; Imports of every kind, and a start function.
(module
  (import "env" "f" (func $f (param i32)))
  (import "env" "mem" (memory 1))
  (import "env" "table" (table 1 funcref))
  (import "env" "g" (global $g i32))
  (import "env" "mg" (global $mg (mut i64)))
  (func $start (call $f (global.get $g)))
  (start $start))
