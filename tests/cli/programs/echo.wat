;; Hands every argument back as a result, in order. Arguments must be
;; length-prefixed values (strings, files, JSON strings, arrays, objects).
(func $run (result i32)
  (local $i i32) (local $ptr i32) (local $status i32)
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (call $core.argc)))
      (call $core.arg (local.get $i))
      (local.set $status)
      (local.set $ptr)
      (if (local.get $status) (then (return (local.get $status))))
      (local.set $status (call $core.result (local.get $ptr)))
      (if (local.get $status) (then (return (local.get $status))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
  (i32.const 0))
