;; Reads standard input in chunks of 4 bytes and counts them.
(func $run (result i32)
  (local $chunk i32) (local $status i32) (local $chunks i32) (local $bytes i32)
  (block $done
    (loop $next
      (call $stdin.read (i32.const 4)) (local.set $status) (local.set $chunk)
      (br_if $done (i32.eq (local.get $status) (i32.const 3)))
      (check (local.get $status))
      (local.set $chunks (i32.add (local.get $chunks) (i32.const 1)))
      (local.set $bytes (i32.add (local.get $bytes) (call $std.str.len (local.get $chunk))))
      (br $next)))
  (resv (call $std.i32.to_str (local.get $chunks)))
  (resv (call $std.i32.to_str (local.get $bytes)))
  (i32.const 0))
