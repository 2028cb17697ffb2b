;; a local never declared (misspelt)
;; at: 5:20
(func $run (result i32)
  (argv 0 $name)
  (resv (local.get $nme))
  (i32.const 0))
