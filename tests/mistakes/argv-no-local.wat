;; argv needs the local to set
;; at: 4:3
(func $run (result i32)
  (argv 0)
  (i32.const 0))
