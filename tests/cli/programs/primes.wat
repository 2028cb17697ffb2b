;; Counts the primes below N by trial division.
(func $run (result i32)
  (local $n i32) (local $count i32) (local $i i32)
  (local.set $n (i32.const 400000))
  (local.set $i (i32.const 2))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (if (call $is_prime (local.get $i))
        (then (local.set $count (i32.add (local.get $count) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
  (resv (call $std.i32.to_str (local.get $count)))
  (i32.const 0))

(func $is_prime (param $k i32) (result i32)
  (local $d i32)
  (local.set $d (i32.const 2))
  (block $yes
    (loop $try
      (br_if $yes (i32.gt_u (i32.mul (local.get $d) (local.get $d)) (local.get $k)))
      (if (i32.eqz (i32.rem_u (local.get $k) (local.get $d)))
        (then (return (i32.const 0))))
      (local.set $d (i32.add (local.get $d) (i32.const 1)))
      (br $try)))
  (i32.const 1))
