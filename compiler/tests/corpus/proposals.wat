;; Proposals `wat` and wasmtime 48 implement beyond the validator's
;; defaults: custom page sizes and wide arithmetic.
(module
  (memory $small 1 (pagesize 1))
  (func (export "size") (result i32) (memory.size $small))
  (func (export "add128") (param i64 i64 i64 i64) (result i64 i64)
    (i64.add128 (local.get 0) (local.get 1) (local.get 2) (local.get 3))))
