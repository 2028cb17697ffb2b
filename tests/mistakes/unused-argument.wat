;; an argument read, then forgotten
;; at: 5:11
(func $run (result i32)
  (argv 0 $name)
  (argv 1 $greeting)
  (resv (local.get $name))
  (i32.const 0))
