;; Reads all of standard input and hands it back in capitals.
(func $run (result i32)
  (local $text i32) (local $status i32)
  (call $stdin.all) (local.set $status) (local.set $text)
  (check (local.get $status))
  (resv (call $std.str.to_upper (local.get $text)))
  (i32.const 0))
