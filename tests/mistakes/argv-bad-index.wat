;; argv needs an argument index
;; at: 4:9
(func $run (result i32)
  (argv first $name)
  (resv (local.get $name))
  (i32.const 0))
