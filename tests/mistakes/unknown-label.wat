;; a branch to a label that does not exist
;; at: 5:12
(func $run (result i32)
  (block $done
    (br_if $don (i32.const 1)))
  (i32.const 0))
