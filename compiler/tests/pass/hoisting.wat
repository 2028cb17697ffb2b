;; Locals declared among instructions move to the top; repeats merge.
(func $run (result i32)
  (local $early i64)
  (i32.const 1)
  (drop)
  (local $i i32)
  (block
    (local $i i32)
    (local $early i64)
    (local.set $i (i32.const 2)))
  (local $f f64)
  (local.get $i))

(func $no_body (local $x i32))
