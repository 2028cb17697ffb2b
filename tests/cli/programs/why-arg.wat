;; Takes an argument it was not given: status 3, with the count.
(func $run (result i32)
  (local $name i32)
  (argv 0 $name)
  (resv (call $std.str.concat "hello, " (local.get $name)))
  (i32.const 0))
