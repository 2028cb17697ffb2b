;; Read notes.txt from the granted directory and print it, then try to
;; write beside it: allowed with --dir-rw, access denied with --dir.
(func $run (result i32)
  (local $ptr i32) (local $status i32)
  (call $fs.read "notes.txt")
  (local.set $status)
  (local.set $ptr)
  (if (local.get $status) (then (return (local.get $status))))
  (resv $ptr)
  (call $fs.write "copy.txt" (local.get $ptr)))
