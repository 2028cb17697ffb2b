;; A value left inside a block is blamed on what made it, not on the
;; block's end.
(func $run (result i32)
  (local $i i32)
  (block $done
    (i32.add (local.get $i) (i32.const 1))
    (local.set $i (i32.const 2)))
  (i32.const 0))
