;; clock: print the date and time in UTC, then time a piece of work.
;;
;;   tape run examples/clock/clock.wat
;;
;; `time.now` is the wall clock in nanoseconds since 1970; `time.monotonic`
;; a clock that never goes back, for measuring. tape.toml fixes the clock,
;; so the output is the same on every run: delete its [time] table to see
;; the real time.
(func $run (result i32)
  (local $now i64) (local $secs i64) (local $start i64) (local $took i64)
  (local $i i32) (local $sum i64)
  (local.set $now (call $time.now))
  (local.set $secs (i64.div_s (local.get $now) (i64.const 1_000_000_000)))
  (resv (call $std.str.concat
    (call $std.str.concat (call $date (i64.div_s (local.get $secs) (i64.const 86400))) " ")
    (call $std.str.concat (call $time_of_day (i64.rem_s (local.get $secs) (i64.const 86400))) " UTC")))

  ;; Some work to time: the sum of the squares of 1 to 1000.
  (local.set $start (call $time.monotonic))
  (local.set $i (i32.const 1))
  (block $done
    (loop $each
      (br_if $done (i32.gt_u (local.get $i) (i32.const 1000)))
      (local.set $sum (i64.add (local.get $sum)
        (i64.mul (i64.extend_i32_u (local.get $i)) (i64.extend_i32_u (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
  (local.set $took (i64.sub (call $time.monotonic) (local.get $start)))
  (resv (call $std.str.concat "sum of squares 1..1000: " (call $std.i64.to_str (local.get $sum))))
  (resv (call $std.str.concat
    (call $std.str.concat "took " (call $std.i64.to_str (i64.div_u (local.get $took) (i64.const 1000))))
    " µs"))
  (i32.const 0))

;; "2024-05-01" for a count of days since 1970-01-01 (0 or more), by Howard
;; Hinnant's civil_from_days (http://howardhinnant.github.io/date_algorithms.html).
(func $date (param $days i64) (result i32)
  (local $era i64) (local $doe i64) (local $yoe i64) (local $doy i64) (local $mp i64)
  (local $year i64) (local $month i64) (local $day i64)
  (local.set $days (i64.add (local.get $days) (i64.const 719468)))  ;; from 0000-03-01
  (local.set $era (i64.div_u (local.get $days) (i64.const 146097)))  ;; 400-year eras
  (local.set $doe (i64.sub (local.get $days) (i64.mul (local.get $era) (i64.const 146097))))
  (local.set $yoe (i64.div_u
    (i64.sub (i64.add (i64.sub (local.get $doe) (i64.div_u (local.get $doe) (i64.const 1460)))
                      (i64.div_u (local.get $doe) (i64.const 36524)))
             (i64.div_u (local.get $doe) (i64.const 146096)))
    (i64.const 365)))
  (local.set $year (i64.add (local.get $yoe) (i64.mul (local.get $era) (i64.const 400))))
  (local.set $doy (i64.sub (local.get $doe)
    (i64.sub (i64.add (i64.mul (i64.const 365) (local.get $yoe)) (i64.div_u (local.get $yoe) (i64.const 4)))
             (i64.div_u (local.get $yoe) (i64.const 100)))))
  (local.set $mp (i64.div_u (i64.add (i64.mul (i64.const 5) (local.get $doy)) (i64.const 2)) (i64.const 153)))
  (local.set $day (i64.add (i64.sub (local.get $doy)
    (i64.div_u (i64.add (i64.mul (i64.const 153) (local.get $mp)) (i64.const 2)) (i64.const 5))) (i64.const 1)))
  ;; Months counted from March: March to December are 0 to 9.
  (local.set $month (select
    (i64.add (local.get $mp) (i64.const 3))
    (i64.sub (local.get $mp) (i64.const 9))
    (i64.lt_u (local.get $mp) (i64.const 10))))
  (if (i64.le_u (local.get $month) (i64.const 2))
    (then (local.set $year (i64.add (local.get $year) (i64.const 1)))))
  (call $std.str.concat
    (call $std.str.concat (call $std.i64.to_str (local.get $year)) "-")
    (call $std.str.concat
      (call $std.str.concat (call $two_digits (local.get $month)) "-")
      (call $two_digits (local.get $day)))))

;; "12:00:00" for seconds since midnight.
(func $time_of_day (param $secs i64) (result i32)
  (call $std.str.concat
    (call $std.str.concat
      (call $two_digits (i64.div_u (local.get $secs) (i64.const 3600))) ":")
    (call $std.str.concat
      (call $std.str.concat
        (call $two_digits (i64.rem_u (i64.div_u (local.get $secs) (i64.const 60)) (i64.const 60))) ":")
      (call $two_digits (i64.rem_u (local.get $secs) (i64.const 60))))))

;; "07" for 7: at least two digits.
(func $two_digits (param $n i64) (result i32)
  (if (result i32) (i64.lt_u (local.get $n) (i64.const 10))
    (then (call $std.str.concat "0" (call $std.i64.to_str (local.get $n))))
    (else (call $std.i64.to_str (local.get $n)))))
