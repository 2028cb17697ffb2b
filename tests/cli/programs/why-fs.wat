;; Reads a file that is not there: status 3, with the reason.
(func $run (result i32)
  (local $text i32) (local $status i32)
  (call $fs.read "notes.txt") (local.set $status) (local.set $text)
  (check (local.get $status))
  (resv (local.get $text))
  (i32.const 0))
