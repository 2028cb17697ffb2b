;; std.i32.parse returns a value and a status
;; at: 5:18
(func $run (result i32)
  (local $n i32)
  (local.set $n (call $std.i32.parse "42"))
  (resv (call $std.i32.to_str (local.get $n)))
  (i32.const 0))
