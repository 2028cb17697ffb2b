;; Names with characters a reader could be misled by (here U+202E,
;; right-to-left override) are valid text, as `names.wast` has them.
(module
  (func (export "‮") (result i32) (i32.const 1))
  (func (export "a​b") (result i32) (i32.const 2)))
