;; Reads the reason itself, and hands it over as a result.
(func $run (result i32)
  (local $_text i32) (local $why i32) (local $status i32)
  (call $fs.read "notes.txt") (local.set $status) (local.set $_text)
  (if (local.get $status)
    (then
      (call $core.reason) (local.set $status) (local.set $why)
      (check (local.get $status))
      (resv (local.get $why))))
  (i32.const 0))
