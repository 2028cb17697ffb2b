;; FizzBuzz: count from 1 to N, saying "Fizz" for multiples of 3, "Buzz"
;; for multiples of 5 and "FizzBuzz" for multiples of both.
;;
;;   tape run examples/fizzbuzz/fizzbuzz.wat 15
;;
;; Each result prints on its own line.
(func $run (result i32)
  (local $n i32) (local $status i32) (local $i i32)
  ;; `argv` loads argument 0 into a new local `$limit`; without one, `$run`
  ;; returns status 3 (not found) and `tape` says so.
  (argv 0 $limit)
  ;; The argument is text: parse it. The status is 1 (invalid argument)
  ;; for text that is not a number, 4 (too large) past an i32.
  (call $std.i32.parse (local.get $limit))
  (local.set $status)
  (local.set $n)
  (check $status)
  (local.set $i (i32.const 1))
  (block $done
    (loop $each
      (br_if $done (i32.gt_s (local.get $i) (local.get $n)))
      (resv (call $say (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
  (i32.const 0))

;; What to say for `$i`: a string literal, or the number as text.
(func $say (param $i i32) (result i32)
  (if (i32.eqz (i32.rem_u (local.get $i) (i32.const 15)))
    (then (return "FizzBuzz")))
  (if (i32.eqz (i32.rem_u (local.get $i) (i32.const 3)))
    (then (return "Fizz")))
  (if (i32.eqz (i32.rem_u (local.get $i) (i32.const 5)))
    (then (return "Buzz")))
  (call $std.i32.to_str (local.get $i)))
