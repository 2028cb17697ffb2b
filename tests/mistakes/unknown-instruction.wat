;; an instruction that does not exist
;; at: 4:4
(func $run (result i32)
  (i32.plus (i32.const 1) (i32.const 2))
  drop
  (i32.const 0))
