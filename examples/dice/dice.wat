;; dice: roll dice as tabletop games write them: "3d6" is three six-sided
;; dice, "1d20" one twenty-sided die.
;;
;;   tape run examples/dice/dice.wat 3d6
;;
;; tape.toml seeds the random generator, so every run rolls the same
;; numbers, here and on any machine; without the seed, the operating
;; system's randomness decides.
(func $run (result i32)
  (local $rest i32) (local $status i32) (local $count i32) (local $sides i32)
  (local $i i32) (local $roll i32) (local $total i32) (local $line i32)
  (argv 0 $dice)
  ;; "3d6" → "3" before the "d", and where "6" starts (-1 if no "d").
  (call $std.str.split_next (local.get $dice) "d" (i32.const 0))
  (local.set $rest)
  (call $std.i32.parse)  ;; the "3", left on the stack by split_next
  (local.set $status)
  (local.set $count)
  (if (i32.or (local.get $status) (i32.eq (local.get $rest) (i32.const -1)))
    (then (return (call $usage))))
  (call $std.i32.parse
    (call $std.str.slice (local.get $dice) (local.get $rest) (call $std.str.len (local.get $dice))))
  (local.set $status)
  (local.set $sides)
  (if (local.get $status) (then (return (call $usage))))
  ;; 1 to 100 dice of 2 to 1000 sides.
  (if (i32.or (i32.gt_u (i32.sub (local.get $count) (i32.const 1)) (i32.const 99))
              (i32.gt_u (i32.sub (local.get $sides) (i32.const 2)) (i32.const 998)))
    (then (return (call $usage))))

  ;; "3d6: 4 + 2 + 6 = 12"
  (local.set $line (call $std.str.concat (local.get $dice) ": "))
  (block $done
    (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
      ;; A random u64, folded into 1..=sides. (The remainder favours small
      ;; numbers by less than one part in 10^15 for these sizes.)
      (local.set $roll (i32.add (i32.const 1)
        (i32.wrap_i64 (i64.rem_u (call $rand.u64) (i64.extend_i32_u (local.get $sides))))))
      (local.set $total (i32.add (local.get $total) (local.get $roll)))
      (if (local.get $i)
        (then (local.set $line (call $std.str.concat (local.get $line) " + "))))
      (local.set $line (call $std.str.concat (local.get $line) (call $std.i32.to_str (local.get $roll))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
  (local.set $line (call $std.str.concat (local.get $line) " = "))
  (resv (call $std.str.concat (local.get $line) (call $std.i32.to_str (local.get $total))))
  (i32.const 0))

;; Says how to write dice, and returns status 1 (invalid argument).
(func $usage (result i32)
  (drop (call $log.write (i32.const 0) "write dice as NdS: N dice (1 to 100) of S sides (2 to 1000), like 3d6"))
  (i32.const 1))
