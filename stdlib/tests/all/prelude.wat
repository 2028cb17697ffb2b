;; Assertions for the WAT tests in tests/wat/, appended to each file.
;;
;; An assertion that fails logs what it got and what it wanted, then traps;
;; the harness reports the line of the failing assertion (the outermost frame
;; of the trap's call stack) with those two messages. Nothing here calls the
;; standard library, so a broken library function cannot vouch for itself.

;; String $got must hold the bytes of string $want. A $want of 0 asks for the
;; null pointer itself, not "".
(func $assert_str (param $got i32) (param $want i32)
  (if (call $t.same (local.get $got) (local.get $want)) (then (return)))
  (call $t.fail (call $t.quote (local.get $got)) (call $t.quote (local.get $want))))

(func $assert_i32 (param $got i32) (param $want i32)
  (if (i32.eq (local.get $got) (local.get $want)) (then (return)))
  (call $t.fail
    (call $t.dec (i64.extend_i32_s (local.get $got)))
    (call $t.dec (i64.extend_i32_s (local.get $want)))))

(func $assert_i64 (param $got i64) (param $want i64)
  (if (i64.eq (local.get $got) (local.get $want)) (then (return)))
  (call $t.fail (call $t.dec (local.get $got)) (call $t.dec (local.get $want))))

;; The $len raw bytes at $ptr must be the bytes of string $want.
(func $assert_bytes (param $ptr i32) (param $len i32) (param $want i32)
  (call $assert_str (call $t.string (local.get $ptr) (local.get $len)) (local.get $want)))

;; An (i32 value, status) pair, as `$std.i32.parse` returns.
(func $assert_parsed (param $got i32) (param $status i32) (param $want i32) (param $want_status i32)
  (if (i32.and
        (i32.eq (local.get $got) (local.get $want))
        (i32.eq (local.get $status) (local.get $want_status)))
    (then (return)))
  (call $t.fail
    (call $t.pair
      (call $t.dec (i64.extend_i32_s (local.get $got)))
      (call $t.dec (i64.extend_i32_s (local.get $status))))
    (call $t.pair
      (call $t.dec (i64.extend_i32_s (local.get $want)))
      (call $t.dec (i64.extend_i32_s (local.get $want_status))))))

;; An (i64 value, status) pair, as `$std.i64.parse` returns.
(func $assert_parsed64 (param $got i64) (param $status i32) (param $want i64) (param $want_status i32)
  (if (i32.and
        (i64.eq (local.get $got) (local.get $want))
        (i32.eq (local.get $status) (local.get $want_status)))
    (then (return)))
  (call $t.fail
    (call $t.pair
      (call $t.dec (local.get $got))
      (call $t.dec (i64.extend_i32_s (local.get $status))))
    (call $t.pair
      (call $t.dec (local.get $want))
      (call $t.dec (i64.extend_i32_s (local.get $want_status))))))

;; A (string, next index) pair, as `$std.str.split_next` and
;; `$std.str.words_next` return; a $want of 0 asks for the null pointer.
(func $assert_piece (param $got i32) (param $next i32) (param $want i32) (param $want_next i32)
  (if (i32.and
        (call $t.same (local.get $got) (local.get $want))
        (i32.eq (local.get $next) (local.get $want_next)))
    (then (return)))
  (call $t.fail
    (call $t.pair
      (call $t.quote (local.get $got))
      (call $t.dec (i64.extend_i32_s (local.get $next))))
    (call $t.pair
      (call $t.quote (local.get $want))
      (call $t.dec (i64.extend_i32_s (local.get $want_next))))))

;; A new string of the first $len bytes of string $text, with the rest of its
;; bytes right after it in memory: a function that reads past a length
;; sees them.
(func $truncated (param $text i32) (param $len i32) (result i32)
  (local $s i32)
  (local.set $s (call $t.string (i32.add (local.get $text) (i32.const 4)) (i32.load (local.get $text))))
  (i32.store (local.get $s) (local.get $len))
  (local.get $s))

;; ---- Helpers of the assertions --------------------------------------------

;; Logs "got: …" and "want: …", then traps.
(func $t.fail (param $got i32) (param $want i32)
  (drop (call $log.write (i32.const 0) (call $t.cat "got:  " (local.get $got))))
  (drop (call $log.write (i32.const 0) (call $t.cat "want: " (local.get $want))))
  unreachable)

;; 1 if strings $a and $b hold the same bytes, or are both the null pointer.
(func $t.same (param $a i32) (param $b i32) (result i32)
  (local $i i32)
  (if (i32.or (i32.eqz (local.get $a)) (i32.eqz (local.get $b)))
    (then (return (i32.eq (local.get $a) (local.get $b)))))
  (if (i32.ne (i32.load (local.get $a)) (i32.load (local.get $b)))
    (then (return (i32.const 0))))
  (block $done
    (loop $each
      (br_if $done (i32.ge_u (local.get $i) (i32.load (local.get $a))))
      (if (i32.ne
            (i32.load8_u offset=4 (i32.add (local.get $a) (local.get $i)))
            (i32.load8_u offset=4 (i32.add (local.get $b) (local.get $i))))
        (then (return (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
  (i32.const 1))

;; A new string of the $len bytes at $ptr.
(func $t.string (param $ptr i32) (param $len i32) (result i32)
  (local $r i32)
  (local.set $r (call $core.alloc (i32.add (local.get $len) (i32.const 4))))
  (i32.store (local.get $r) (local.get $len))
  (memory.copy (i32.add (local.get $r) (i32.const 4)) (local.get $ptr) (local.get $len))
  (local.get $r))

;; A new string, $a then $b.
(func $t.cat (param $a i32) (param $b i32) (result i32)
  (local $r i32)
  (local.set $r
    (call $t.string
      (i32.add (local.get $a) (i32.const 4))
      (i32.add (i32.load (local.get $a)) (i32.load (local.get $b)))))
  (memory.copy
    (i32.add (i32.add (local.get $r) (i32.const 4)) (i32.load (local.get $a)))
    (i32.add (local.get $b) (i32.const 4))
    (i32.load (local.get $b)))
  (local.get $r))

;; `"s"`, or `null` for the null pointer.
(func $t.quote (param $s i32) (result i32)
  (if (i32.eqz (local.get $s)) (then (return "null")))
  (call $t.cat (call $t.cat "\"" (local.get $s)) "\""))

;; `(a, b)`.
(func $t.pair (param $a i32) (param $b i32) (result i32)
  (call $t.cat (call $t.cat (call $t.cat "(" (local.get $a)) (call $t.cat ", " (local.get $b))) ")"))

;; $n in decimal. Done differently from the library: digits are taken off a
;; value kept negative, which holds i64::MIN without an unsigned magnitude.
(func $t.dec (param $n i64) (result i32)
  (local $neg i32)
  (local $digit i32)
  (local $r i32)
  (local.set $neg (i64.lt_s (local.get $n) (i64.const 0)))
  (if (i32.eqz (local.get $neg))
    (then (local.set $n (i64.sub (i64.const 0) (local.get $n)))))
  (local.set $r "")
  (loop $each
    (local.set $digit
      (i32.wrap_i64 (i64.sub (i64.const 0) (i64.rem_s (local.get $n) (i64.const 10)))))
    (local.set $r
      (call $t.cat
        (call $t.string
          (i32.add "0123456789" (i32.add (i32.const 4) (local.get $digit)))
          (i32.const 1))
        (local.get $r)))
    (local.set $n (i64.div_s (local.get $n) (i64.const 10)))
    (br_if $each (i64.ne (local.get $n) (i64.const 0))))
  (if (local.get $neg) (then (local.set $r (call $t.cat "-" (local.get $r)))))
  (local.get $r))
