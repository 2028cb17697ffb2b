;; argv, check and resv expand onto core.arg and core.result.
(func $run (result i32)
  (argv 0 $name)
  (argv 1 $greeting)
  (check (call $helper (local.get $name)))
  (resv $greeting)
  (resv "done")
  (i32.const 0))

(func $helper (param $x i32) (result i32)
  (local $status i32)
  (check $status)
  (i32.const 0))
