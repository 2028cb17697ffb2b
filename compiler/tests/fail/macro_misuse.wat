(module
  (global $g i32 (check (i32.const 0)))
  (func $run (result i32)
    (argv $x 0)
    (argv 1)
    (check (i32.const 1) (i32.const 2))
    (resv)
    (i32.const 0)))
