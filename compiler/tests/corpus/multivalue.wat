(module
  (func $swap (param i32 i32) (result i32 i32) (local.get 1) (local.get 0))
  (func $pair (result i32 i64) (i32.const 1) (i64.const 2))
  (func (export "use") (result i32)
    (block (result i32 i32) (call $swap (i32.const 1) (i32.const 2)))
    (drop)
    (call $pair) (drop) (drop)))
