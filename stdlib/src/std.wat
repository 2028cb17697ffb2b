;; Tape's standard library.
;;
;; Every function is named `$std.…` and is linked into a program only when the
;; program calls it, together with the library functions it calls itself and
;; nothing else. stdlib/README.md documents each one with examples.
;;
;; Conventions
;; - A string, like every wire value, is a pointer to `[u32 len LE][len bytes]`.
;; - Functions that return a new string or value allocate it with `core.alloc`,
;;   the run's bump allocator: nothing is freed, and asking for more than the
;;   memory cap traps with a memory-exhausted error. A size that would wrap past
;;   2^32 is first saturated to 0xffffffff, so it traps in `core.alloc` too
;;   rather than wrapping to a small allocation that the copy then overruns.
;; - Indexes and lengths are byte counts, read as unsigned (hence `_u`
;;   comparisons throughout).
;; - Booleans are 1/0. Status codes are the runtime's: 0 ok, 1 invalid
;;   argument, 4 too large.

;; ===========================================================================
;; Strings
;; ===========================================================================

;; The byte length of string $s.
;;
;; ```wat
;; (func $run (result i32)
;;   (if (i32.ne (call $std.str.len "héllo") (i32.const 6)) ;; bytes, not characters
;;     (then (return (i32.const 1))))
;;   (i32.const 0))
;; ```
;; roles: str -> count
(func $std.str.len (param $s i32) (result i32)
  (i32.load (local.get $s)))

;; 1 if $a and $b hold the same bytes, else 0.
;; roles: str str -> bool
(func $std.str.eq (param $a i32) (param $b i32) (result i32)
  (local $len i32)
  (if (i32.eq (local.get $a) (local.get $b))
    (then (return (i32.const 1))))
  (local.set $len (i32.load (local.get $a)))
  (if (i32.ne (local.get $len) (i32.load (local.get $b)))
    (then (return (i32.const 0))))
  (i32.eqz
    (call $std.mem.compare
      (i32.add (local.get $a) (i32.const 4))
      (i32.add (local.get $b) (i32.const 4))
      (local.get $len))))

;; -1, 0 or 1 as $a sorts before, with or after $b: bytewise, unsigned, and a
;; proper prefix first ("ab" < "abc").
;; roles: str str -> num
(func $std.str.compare (param $a i32) (param $b i32) (result i32)
  (local $la i32)
  (local $lb i32)
  (local $order i32)
  (local.set $la (i32.load (local.get $a)))
  (local.set $lb (i32.load (local.get $b)))
  ;; The first difference within the shorter length decides...
  (local.set $order
    (call $std.mem.compare
      (i32.add (local.get $a) (i32.const 4))
      (i32.add (local.get $b) (i32.const 4))
      (select (local.get $la) (local.get $lb)
        (i32.lt_u (local.get $la) (local.get $lb)))))
  (if (local.get $order) (then (return (local.get $order))))
  ;; ...and without one, the shorter string sorts first: (la > lb) - (la < lb).
  (i32.sub
    (i32.gt_u (local.get $la) (local.get $lb))
    (i32.lt_u (local.get $la) (local.get $lb))))

;; A new string: $a followed by $b.
;;
;; ```wat
;; (func $run (result i32)
;;   (if (i32.eqz (call $std.str.eq (call $std.str.concat "ab" "cd") "abcd"))
;;     (then (return (i32.const 1))))
;;   (i32.const 0))
;; ```
;; roles: str str -> str
(func $std.str.concat (param $a i32) (param $b i32) (result i32)
  (local $la i32)
  (local $lb i32)
  (local $len i32)
  (local $r i32)
  (local.set $la (i32.load (local.get $a)))
  (local.set $lb (i32.load (local.get $b)))
  (local.set $len (i32.add (local.get $la) (local.get $lb)))
  ;; A sum that wrapped: ask for the impossible, which core.alloc refuses.
  (if (i32.lt_u (local.get $len) (local.get $la))
    (then (local.set $len (i32.const -1))))
  (local.set $r (call $std.wire.alloc (local.get $len)))
  (memory.copy
    (i32.add (local.get $r) (i32.const 4))
    (i32.add (local.get $a) (i32.const 4))
    (local.get $la))
  (memory.copy
    (i32.add (i32.add (local.get $r) (i32.const 4)) (local.get $la))
    (i32.add (local.get $b) (i32.const 4))
    (local.get $lb))
  (local.get $r))

;; A new string of the bytes [$start, $end) of $s. Both are clamped to the
;; length; $end <= $start gives "". The range is in bytes, so it can cut a
;; multi-byte UTF-8 character in two: take indexes from `find` and friends.
;;
;; ```wat
;; (func $run (result i32)
;;   (if (i32.eqz (call $std.str.eq (call $std.str.slice "hello" (i32.const 1) (i32.const 3)) "el"))
;;     (then (return (i32.const 1))))
;;   (i32.const 0))
;; ```
;; roles: str index index -> str
(func $std.str.slice (param $s i32) (param $start i32) (param $end i32) (result i32)
  (local $r i32)
  (if (i32.gt_u (local.get $end) (i32.load (local.get $s)))
    (then (local.set $end (i32.load (local.get $s)))))
  ;; Also covers a start past the length: it becomes the (clamped) end.
  (if (i32.gt_u (local.get $start) (local.get $end))
    (then (local.set $start (local.get $end))))
  (local.set $r (call $std.wire.alloc (i32.sub (local.get $end) (local.get $start))))
  (memory.copy
    (i32.add (local.get $r) (i32.const 4))
    (i32.add (i32.add (local.get $s) (i32.const 4)) (local.get $start))
    (i32.sub (local.get $end) (local.get $start)))
  (local.get $r))

;; The byte index of the first occurrence of $needle in $s at or after $from,
;; or -1. An empty needle is found at $from itself, if $from <= the length.
;;
;; ```wat
;; (func $run (result i32)
;;   ;; "is there a `lo` in `hello`?": find it, and compare with -1
;;   (if (i32.ne (call $std.str.find "hello" "lo" (i32.const 0)) (i32.const 3))
;;     (then (return (i32.const 1))))
;;   (if (i32.ne (call $std.str.find "hello" "x" (i32.const 0)) (i32.const -1))
;;     (then (return (i32.const 1))))
;;   (i32.const 0))
;; ```
;; roles: str str index -> index
(func $std.str.find (param $s i32) (param $needle i32) (param $from i32) (result i32)
  (local $len i32)
  (local $n i32)
  (local $first i32)
  (local $at i32)
  (local $last i32)
  (local.set $len (i32.load (local.get $s)))
  (local.set $n (i32.load (local.get $needle)))
  (if (i32.gt_u (local.get $from) (local.get $len))
    (then (return (i32.const -1))))
  (if (i32.eqz (local.get $n))
    (then (return (local.get $from))))
  ;; Too few bytes left for the needle (no wrap: $from <= $len here).
  (if (i32.gt_u (local.get $n) (i32.sub (local.get $len) (local.get $from)))
    (then (return (i32.const -1))))
  ;; Try each start from $from to $last, the last one with room for the needle:
  ;; the first byte is checked here, the rest only where it matches.
  (local.set $last (i32.sub (local.get $len) (local.get $n)))
  (local.set $first (i32.load8_u offset=4 (local.get $needle)))
  (local.set $at (local.get $from))
  (loop $try
    (if (i32.eq
          (i32.load8_u offset=4 (i32.add (local.get $s) (local.get $at)))
          (local.get $first))
      (then
        (if (i32.eqz
              (call $std.mem.compare
                (i32.add (i32.add (local.get $s) (i32.const 4)) (local.get $at))
                (i32.add (local.get $needle) (i32.const 4))
                (local.get $n)))
          (then (return (local.get $at))))))
    (local.set $at (i32.add (local.get $at) (i32.const 1)))
    (br_if $try (i32.le_u (local.get $at) (local.get $last))))
  (i32.const -1))

;; 1 if $s starts with $prefix, else 0.
;; roles: str str -> bool
(func $std.str.starts_with (param $s i32) (param $prefix i32) (result i32)
  (local $n i32)
  (local.set $n (i32.load (local.get $prefix)))
  (if (i32.gt_u (local.get $n) (i32.load (local.get $s)))
    (then (return (i32.const 0))))
  (i32.eqz
    (call $std.mem.compare
      (i32.add (local.get $s) (i32.const 4))
      (i32.add (local.get $prefix) (i32.const 4))
      (local.get $n))))

;; 1 if $s ends with $suffix, else 0.
;; roles: str str -> bool
(func $std.str.ends_with (param $s i32) (param $suffix i32) (result i32)
  (local $len i32)
  (local $n i32)
  (local.set $len (i32.load (local.get $s)))
  (local.set $n (i32.load (local.get $suffix)))
  (if (i32.gt_u (local.get $n) (local.get $len))
    (then (return (i32.const 0))))
  (i32.eqz
    (call $std.mem.compare
      (i32.add (i32.add (local.get $s) (i32.const 4))
        (i32.sub (local.get $len) (local.get $n)))
      (i32.add (local.get $suffix) (i32.const 4))
      (local.get $n))))

;; A new string: $s with ASCII a–z made A–Z; every other byte, including those
;; of non-ASCII characters, unchanged.
;; roles: str -> str
(func $std.str.to_upper (param $s i32) (result i32)
  (local $len i32)
  (local $r i32)
  (local $i i32)
  (local $c i32)
  (local.set $len (i32.load (local.get $s)))
  (local.set $r (call $std.wire.alloc (local.get $len)))
  (block $done
    (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (local.set $c (i32.load8_u offset=4 (i32.add (local.get $s) (local.get $i))))
      ;; 'a'..'z' is 0x61..0x7a; flipping bit 0x20 gives 'A'..'Z'.
      (if (i32.lt_u (i32.sub (local.get $c) (i32.const 0x61)) (i32.const 26))
        (then (local.set $c (i32.xor (local.get $c) (i32.const 0x20)))))
      (i32.store8 offset=4 (i32.add (local.get $r) (local.get $i)) (local.get $c))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
  (local.get $r))

;; A new string: $s with ASCII A–Z made a–z; every other byte unchanged.
;; roles: str -> str
(func $std.str.to_lower (param $s i32) (result i32)
  (local $len i32)
  (local $r i32)
  (local $i i32)
  (local $c i32)
  (local.set $len (i32.load (local.get $s)))
  (local.set $r (call $std.wire.alloc (local.get $len)))
  (block $done
    (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (local.set $c (i32.load8_u offset=4 (i32.add (local.get $s) (local.get $i))))
      ;; 'A'..'Z' is 0x41..0x5a; flipping bit 0x20 gives 'a'..'z'.
      (if (i32.lt_u (i32.sub (local.get $c) (i32.const 0x41)) (i32.const 26))
        (then (local.set $c (i32.xor (local.get $c) (i32.const 0x20)))))
      (i32.store8 offset=4 (i32.add (local.get $r) (local.get $i)) (local.get $c))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
  (local.get $r))

;; A new string: $s without its leading and trailing ASCII whitespace.
;; roles: str -> str
(func $std.str.trim (param $s i32) (result i32)
  (local $start i32)
  (local $end i32)
  (local.set $end (i32.load (local.get $s)))
  ;; Move $start forward past the leading whitespace...
  (block $done
    (loop $skip
      (br_if $done (i32.ge_u (local.get $start) (local.get $end)))
      (br_if $done
        (i32.eqz (call $std.ascii.is_space
          (i32.load8_u offset=4 (i32.add (local.get $s) (local.get $start))))))
      (local.set $start (i32.add (local.get $start) (i32.const 1)))
      (br $skip)))
  ;; ...and $end back past the trailing whitespace, never below $start. The
  ;; byte before $end is at $s + 4 + $end - 1, hence offset=3.
  (block $done
    (loop $skip
      (br_if $done (i32.le_u (local.get $end) (local.get $start)))
      (br_if $done
        (i32.eqz (call $std.ascii.is_space
          (i32.load8_u offset=3 (i32.add (local.get $s) (local.get $end))))))
      (local.set $end (i32.sub (local.get $end) (i32.const 1)))
      (br $skip)))
  (call $std.str.slice (local.get $s) (local.get $start) (local.get $end)))

;; Splits $s at $sep, one piece per call: (piece, next). The piece is a new
;; string of the bytes from $pos up to the next $sep, or to the end; next is
;; the index just after that $sep, to pass as $pos in the next call, or -1
;; when the piece ran to the end and was the last. Start with $pos 0 and stop
;; after a call returns -1: "a,,b" gives "a", "", "b"; "" gives one "".
;; An empty $sep gives the rest of $s and -1.
;;
;; ```wat
;; (func $run (result i32)
;;   (local $pos i32) (local $piece i32)
;;   (loop $next
;;     (call $std.str.split_next "a,b,c" "," (local.get $pos))
;;     (local.set $pos)
;;     (local.set $piece)
;;     (check (call $core.result (local.get $piece)))
;;     (br_if $next (i32.ne (local.get $pos) (i32.const -1))))
;;   (i32.const 0))
;; ```
;; roles: str str index -> str index
(func $std.str.split_next (param $s i32) (param $sep i32) (param $pos i32) (result i32 i32)
  (local $at i32)
  (local.set $at (i32.const -1))
  (if (i32.load (local.get $sep))
    (then (local.set $at (call $std.str.find (local.get $s) (local.get $sep) (local.get $pos)))))
  (if (i32.eq (local.get $at) (i32.const -1))
    (then
      (return
        (call $std.str.slice (local.get $s) (local.get $pos) (i32.load (local.get $s)))
        (i32.const -1))))
  (call $std.str.slice (local.get $s) (local.get $pos) (local.get $at))
  (i32.add (local.get $at) (i32.load (local.get $sep))))

;; The next whitespace-separated word of $s at or after $pos: (word, next).
;; Skips ASCII whitespace, then returns the word as a new string and the
;; index just after it, to pass as $pos in the next call. When no word is
;; left, returns (0, -1): the word pointer is 0, not "".
;; roles: str index -> str index
(func $std.str.words_next (param $s i32) (param $pos i32) (result i32 i32)
  (local $len i32)
  (local $end i32)
  (local.set $len (i32.load (local.get $s)))
  ;; Skip to the word's first byte, if there is one.
  (block $found
    (loop $skip
      (if (i32.ge_u (local.get $pos) (local.get $len))
        (then (return (i32.const 0) (i32.const -1))))
      (br_if $found
        (i32.eqz (call $std.ascii.is_space
          (i32.load8_u offset=4 (i32.add (local.get $s) (local.get $pos))))))
      (local.set $pos (i32.add (local.get $pos) (i32.const 1)))
      (br $skip)))
  ;; The word runs up to the next whitespace, or the end.
  (local.set $end (local.get $pos))
  (block $done
    (loop $scan
      (br_if $done (i32.ge_u (local.get $end) (local.get $len)))
      (br_if $done
        (call $std.ascii.is_space
          (i32.load8_u offset=4 (i32.add (local.get $s) (local.get $end)))))
      (local.set $end (i32.add (local.get $end) (i32.const 1)))
      (br $scan)))
  (call $std.str.slice (local.get $s) (local.get $pos) (local.get $end))
  (local.get $end))

;; 1 if byte $c is ASCII whitespace: space, \t \n \v \f \r (9–13); else 0.
;; roles: num -> bool
(func $std.ascii.is_space (param $c i32) (result i32)
  (i32.or
    (i32.eq (local.get $c) (i32.const 32))
    (i32.lt_u (i32.sub (local.get $c) (i32.const 9)) (i32.const 5))))

;; ===========================================================================
;; Numbers
;; ===========================================================================

;; A new string: $n in signed decimal, "-2147483648" to "2147483647".
;;
;; ```wat
;; (func $run (result i32)
;;   (resv (call $std.i32.to_str (i32.const -7)))
;;   (i32.const 0))
;; ```
;; roles: num -> str
(func $std.i32.to_str (param $n i32) (result i32)
  (call $std.i64.to_str (i64.extend_i32_s (local.get $n))))

;; A new string: $n in signed decimal.
;; roles: num -> str
(func $std.i64.to_str (param $n i64) (result i32)
  (local $neg i32)
  (local $u i64)
  (local $rest i64)
  (local $digits i32)
  (local $r i32)
  (local $at i32)
  (local.set $neg (i64.lt_s (local.get $n) (i64.const 0)))
  ;; The magnitude, read as unsigned from here on. For i64::MIN, 0 - n wraps
  ;; back to 0x8000000000000000, which is its magnitude, 2^63.
  (local.set $u
    (select (i64.sub (i64.const 0) (local.get $n)) (local.get $n) (local.get $neg)))
  ;; Count the digits...
  (local.set $digits (i32.const 1))
  (local.set $rest (local.get $u))
  (block $counted
    (loop $count
      (br_if $counted (i64.lt_u (local.get $rest) (i64.const 10)))
      (local.set $rest (i64.div_u (local.get $rest) (i64.const 10)))
      (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
      (br $count)))
  (local.set $r (call $std.wire.alloc (i32.add (local.get $neg) (local.get $digits))))
  (if (local.get $neg)
    (then (i32.store8 offset=4 (local.get $r) (i32.const 0x2d))))
  ;; ...then write them from the last one back.
  (local.set $at
    (i32.add (i32.add (local.get $r) (i32.const 4))
      (i32.add (local.get $neg) (local.get $digits))))
  (loop $write
    (local.set $at (i32.sub (local.get $at) (i32.const 1)))
    (i32.store8 (local.get $at)
      (i32.add (i32.const 0x30)
        (i32.wrap_i64 (i64.rem_u (local.get $u) (i64.const 10)))))
    (local.set $u (i64.div_u (local.get $u) (i64.const 10)))
    (br_if $write (i64.ne (local.get $u) (i64.const 0))))
  (local.get $r))

;; A new string: the bits of $n as lowercase hexadecimal, unsigned, with no
;; prefix and no leading zeros: "0", "ff", "ffffffff" for -1.
;; roles: num -> str
(func $std.i32.to_hex (param $n i32) (result i32)
  (call $std.i64.to_hex (i64.extend_i32_u (local.get $n))))

;; A new string: the bits of $n as lowercase hexadecimal, unsigned, with no
;; prefix and no leading zeros.
;; roles: num -> str
(func $std.i64.to_hex (param $n i64) (result i32)
  (local $digits i32)
  (local $r i32)
  (local $at i32)
  (local $d i32)
  ;; One digit per 4 significant bits, rounded up; 0 still gets one.
  (local.set $digits
    (i32.wrap_i64
      (i64.shr_u
        (i64.sub (i64.const 67) (i64.clz (local.get $n)))
        (i64.const 2))))
  (if (i32.eqz (local.get $digits))
    (then (local.set $digits (i32.const 1))))
  (local.set $r (call $std.wire.alloc (local.get $digits)))
  ;; Write the digits from the last one back, 4 bits each.
  (local.set $at (i32.add (i32.add (local.get $r) (i32.const 4)) (local.get $digits)))
  (loop $write
    (local.set $at (i32.sub (local.get $at) (i32.const 1)))
    (local.set $d (i32.wrap_i64 (i64.and (local.get $n) (i64.const 15))))
    ;; 0–9 become '0'–'9' (0x30 + d); 10–15 become 'a'–'f' (0x57 + d).
    (i32.store8 (local.get $at)
      (i32.add (local.get $d)
        (select (i32.const 0x57) (i32.const 0x30)
          (i32.ge_u (local.get $d) (i32.const 10)))))
    (local.set $n (i64.shr_u (local.get $n) (i64.const 4)))
    (br_if $write (i32.gt_u (local.get $at) (i32.add (local.get $r) (i32.const 4)))))
  (local.get $r))

;; Parses string $s as a signed decimal i32: (value, status). See
;; $std.i64.parse for the syntax; 4 TOO_LARGE outside -2147483648..2147483647.
;;
;; ```wat
;; (func $run (result i32)
;;   (local $n i32) (local $status i32)
;;   (call $std.i32.parse "-42")
;;   (local.set $status)
;;   (local.set $n)
;;   (check (local.get $status))
;;   (if (i32.ne (local.get $n) (i32.const -42)) (then (return (i32.const 1))))
;;   (i32.const 0))
;; ```
;; roles: str -> num status
(func $std.i32.parse (param $s i32) (result i32 i32)
  (local $value i64)
  (local $status i32)
  (call $std.i64.parse (local.get $s))
  (local.set $status)
  (local.set $value)
  (if (local.get $status)
    (then (return (i32.const 0) (local.get $status))))
  ;; It fits in an i32 exactly when sign-extending its low 32 bits gives it back.
  (if (i64.ne (local.get $value) (i64.extend_i32_s (i32.wrap_i64 (local.get $value))))
    (then (return (i32.const 0) (i32.const 4))))
  (i32.wrap_i64 (local.get $value))
  (i32.const 0))

;; Parses string $s as a signed decimal i64: (value, status). The syntax is an
;; optional `+` or `-`, then one or more ASCII digits, and nothing else (no
;; spaces, no `_`). Status 0 ok; 1 INVALID_ARGUMENT for anything else ("",
;; "-", "1x", " 1"), even when its digits would overflow; 4 TOO_LARGE for a
;; number outside i64. The value is 0 on error.
;; roles: str -> num status
(func $std.i64.parse (param $s i32) (result i64 i32)
  (local $len i32)
  (local $i i32)
  (local $neg i32)
  (local $d i32)
  (local $u i64)
  (local $cutoff i64)
  (local $cutdigit i64)
  (local $over i32)
  (local.set $len (i32.load (local.get $s)))
  (if (i32.eqz (local.get $len))
    (then (return (i64.const 0) (i32.const 1))))
  ;; An optional sign.
  (local.set $d (i32.load8_u offset=4 (local.get $s)))
  (if (i32.eq (local.get $d) (i32.const 0x2d))
    (then (local.set $neg (i32.const 1)) (local.set $i (i32.const 1))))
  (if (i32.eq (local.get $d) (i32.const 0x2b))
    (then (local.set $i (i32.const 1))))
  (if (i32.eq (local.get $i) (local.get $len))
    (then (return (i64.const 0) (i32.const 1))))
  ;; The magnitude may reach 2^63 - 1, or 2^63 for a negative number. It is
  ;; accumulated as unsigned, so 2^63 fits; u * 10 + d passes the limit
  ;; exactly when u > cutoff, or u = cutoff and d > cutdigit.
  (local.set $cutoff
    (i64.add (i64.const 0x7fffffffffffffff) (i64.extend_i32_u (local.get $neg))))
  (local.set $cutdigit (i64.rem_u (local.get $cutoff) (i64.const 10)))
  (local.set $cutoff (i64.div_u (local.get $cutoff) (i64.const 10)))
  (loop $digit
    (local.set $d
      (i32.sub
        (i32.load8_u offset=4 (i32.add (local.get $s) (local.get $i)))
        (i32.const 0x30)))
    (if (i32.gt_u (local.get $d) (i32.const 9))
      (then (return (i64.const 0) (i32.const 1))))
    ;; Past the limit, only the syntax is still checked.
    (if (i32.or
          (i64.gt_u (local.get $u) (local.get $cutoff))
          (i32.and
            (i64.eq (local.get $u) (local.get $cutoff))
            (i64.gt_u (i64.extend_i32_u (local.get $d)) (local.get $cutdigit))))
      (then (local.set $over (i32.const 1)))
      (else
        (local.set $u
          (i64.add
            (i64.mul (local.get $u) (i64.const 10))
            (i64.extend_i32_u (local.get $d))))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $digit (i32.lt_u (local.get $i) (local.get $len))))
  (if (local.get $over)
    (then (return (i64.const 0) (i32.const 4))))
  ;; 0 - 2^63 wraps to i64::MIN, as it should.
  (select (i64.sub (i64.const 0) (local.get $u)) (local.get $u) (local.get $neg))
  (i32.const 0))

;; ===========================================================================
;; Memory: raw bytes, no length prefixes
;; ===========================================================================

;; Copies $len bytes from $src to $dst. The ranges may overlap (memmove).
;; roles: mem mem count
(func $std.mem.copy (param $dst i32) (param $src i32) (param $len i32)
  (memory.copy (local.get $dst) (local.get $src) (local.get $len)))

;; Sets $len bytes at $dst to the low 8 bits of $byte.
;; roles: mem num count
(func $std.mem.fill (param $dst i32) (param $byte i32) (param $len i32)
  (memory.fill (local.get $dst) (local.get $byte) (local.get $len)))

;; -1, 0 or 1 as the $len bytes at $a sort before, with or after those at $b,
;; comparing bytes as unsigned.
;; roles: mem mem count -> num
(func $std.mem.compare (param $a i32) (param $b i32) (param $len i32) (result i32)
  (local $i i32)
  (local $x i32)
  (local $y i32)
  ;; Eight bytes at a time while they are equal...
  (block $differ
    (loop $words
      (br_if $differ (i32.lt_u (i32.sub (local.get $len) (local.get $i)) (i32.const 8)))
      (br_if $differ
        (i64.ne
          (i64.load (i32.add (local.get $a) (local.get $i)))
          (i64.load (i32.add (local.get $b) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br $words)))
  ;; ...then byte by byte through the word that differs, or the last few bytes.
  (block $equal
    (loop $bytes
      (br_if $equal (i32.ge_u (local.get $i) (local.get $len)))
      (local.set $x (i32.load8_u (i32.add (local.get $a) (local.get $i))))
      (local.set $y (i32.load8_u (i32.add (local.get $b) (local.get $i))))
      (if (i32.ne (local.get $x) (local.get $y))
        (then
          (return
            (select (i32.const -1) (i32.const 1)
              (i32.lt_u (local.get $x) (local.get $y))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $bytes)))
  (i32.const 0))

;; ===========================================================================
;; Wire values for results
;; ===========================================================================

;; A new value with room for $len payload bytes: `[len][payload]`, the prefix
;; written, the payload for the caller to fill in at the pointer + 4. Every
;; function above that makes a new string makes it with this.
;; roles: count -> ptr
(func $std.wire.alloc (param $len i32) (result i32)
  (local $size i32)
  (local $r i32)
  (local.set $size (i32.add (local.get $len) (i32.const 4)))
  ;; A length within 4 of 2^32 wraps: ask for the impossible instead.
  (if (i32.lt_u (local.get $size) (i32.const 4))
    (then (local.set $size (i32.const -1))))
  (local.set $r (call $core.alloc (local.get $size)))
  (i32.store (local.get $r) (local.get $len))
  (local.get $r))

;; A new value `[len][bytes]` holding the $len raw bytes at $src: a byte
;; vector, and also a string when the bytes are UTF-8.
;; roles: mem count -> ptr
(func $std.wire.bytes (param $src i32) (param $len i32) (result i32)
  (local $r i32)
  (local.set $r (call $std.wire.alloc (local.get $len)))
  (memory.copy (i32.add (local.get $r) (i32.const 4)) (local.get $src) (local.get $len))
  (local.get $r))

;; A new sequence of i32, `[4 * count][i32 LE]…`, from a raw array of $count
;; i32 at $src.
;; roles: mem count -> ptr
(func $std.wire.i32s (param $src i32) (param $count i32) (result i32)
  ;; The array's bytes are the payload as they are. Over 2^30 elements, 4 *
  ;; count would wrap: ask for the impossible instead.
  (call $std.wire.bytes
    (local.get $src)
    (select (i32.const -1) (i32.shl (local.get $count) (i32.const 2))
      (i32.gt_u (local.get $count) (i32.const 0x3fffffff)))))

;; A new sequence of strings from a raw array of $count string pointers at
;; $ptrs: `[payload len]` then each string whole, `[len][bytes]`.
;; roles: mem count -> ptr
(func $std.wire.strings (param $ptrs i32) (param $count i32) (result i32)
  (local $total i64)
  (local $i i32)
  (local $s i32)
  (local $n i32)
  (local $r i32)
  (local $at i32)
  ;; The payload's size first, summed in 64 bits so that it cannot wrap.
  (block $summed
    (loop $sum
      (br_if $summed (i32.ge_u (local.get $i) (local.get $count)))
      (local.set $s (i32.load (i32.add (local.get $ptrs) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $total
        (i64.add (local.get $total)
          (i64.add (i64.const 4) (i64.extend_i32_u (i32.load (local.get $s))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $sum)))
  (local.set $r
    (call $std.wire.alloc
      (select (i32.const -1) (i32.wrap_i64 (local.get $total))
        (i64.gt_u (local.get $total) (i64.const 0xffffffff)))))
  ;; Then each string, prefix and bytes, one after the other.
  (local.set $at (i32.add (local.get $r) (i32.const 4)))
  (local.set $i (i32.const 0))
  (block $copied
    (loop $copy
      (br_if $copied (i32.ge_u (local.get $i) (local.get $count)))
      (local.set $s (i32.load (i32.add (local.get $ptrs) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $n (i32.add (i32.load (local.get $s)) (i32.const 4)))
      (memory.copy (local.get $at) (local.get $s) (local.get $n))
      (local.set $at (i32.add (local.get $at) (local.get $n)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $copy)))
  (local.get $r))

;; A builder is `[capacity][value]`, the value being `[payload len][payload]`
;; as it grows: pushes append to the payload in place and update its prefix,
;; so `finish` copies nothing. Seq, tuple, struct and map share that layout
;; (so do string and bytes, fed only with push_text and push_raw).

;; A new builder with room for $capacity payload bytes.
;; roles: count -> mem
(func $std.wire.begin (param $capacity i32) (result i32)
  (local $size i32)
  (local $b i32)
  (local.set $size (i32.add (local.get $capacity) (i32.const 8)))
  ;; A capacity within 8 of 2^32 wraps: ask for the impossible instead.
  (if (i32.lt_u (local.get $size) (i32.const 8))
    (then (local.set $size (i32.const -1))))
  (local.set $b (call $core.alloc (local.get $size)))
  (i32.store (local.get $b) (local.get $capacity))
  (i32.store offset=4 (local.get $b) (i32.const 0))
  (local.get $b))

;; Room for $n more payload bytes in builder $b: the address to write them at,
;; with the payload length already grown by $n; or 0, with nothing changed,
;; when they would pass the capacity. For pushing what the push_… functions
;; do not cover (an f64, say).
;; roles: mem count -> mem
(func $std.wire.reserve (param $b i32) (param $n i32) (result i32)
  (local $used i32)
  (local.set $used (i32.load offset=4 (local.get $b)))
  ;; used <= capacity always holds, so the subtraction cannot wrap.
  (if (i32.gt_u (local.get $n) (i32.sub (i32.load (local.get $b)) (local.get $used)))
    (then (return (i32.const 0))))
  (i32.store offset=4 (local.get $b) (i32.add (local.get $used) (local.get $n)))
  (i32.add (i32.add (local.get $b) (i32.const 8)) (local.get $used)))

;; Appends $v, 4 bytes little-endian: status 0, or 4 TOO_LARGE over capacity
;; (nothing appended).
;; roles: mem num -> status
(func $std.wire.push_i32 (param $b i32) (param $v i32) (result i32)
  (local $at i32)
  (local.set $at (call $std.wire.reserve (local.get $b) (i32.const 4)))
  (if (i32.eqz (local.get $at)) (then (return (i32.const 4))))
  (i32.store (local.get $at) (local.get $v))
  (i32.const 0))

;; Appends $v, 8 bytes little-endian: status 0 or 4, as push_i32.
;; roles: mem num -> status
(func $std.wire.push_i64 (param $b i32) (param $v i64) (result i32)
  (local $at i32)
  (local.set $at (call $std.wire.reserve (local.get $b) (i32.const 8)))
  (if (i32.eqz (local.get $at)) (then (return (i32.const 4))))
  (i64.store (local.get $at) (local.get $v))
  (i32.const 0))

;; Appends the low byte of $v (a bool, a u8): status 0 or 4, as push_i32.
;; roles: mem num -> status
(func $std.wire.push_u8 (param $b i32) (param $v i32) (result i32)
  (local $at i32)
  (local.set $at (call $std.wire.reserve (local.get $b) (i32.const 1)))
  (if (i32.eqz (local.get $at)) (then (return (i32.const 4))))
  (i32.store8 (local.get $at) (local.get $v))
  (i32.const 0))

;; Appends the whole length-prefixed value at $v (a string, bytes, a nested
;; seq or struct) as one field: status 0 or 4, as push_i32.
;; roles: mem ptr -> status
(func $std.wire.push_value (param $b i32) (param $v i32) (result i32)
  (local $n i32)
  (local.set $n (i32.add (i32.load (local.get $v)) (i32.const 4)))
  ;; A prefix within 4 of 2^32 wraps: no builder has room for that.
  (if (i32.lt_u (local.get $n) (i32.const 4)) (then (return (i32.const 4))))
  (call $std.wire.push_raw (local.get $b) (local.get $v) (local.get $n)))

;; Appends the bytes of string $s without its length prefix, to build a string
;; in pieces: status 0 or 4, as push_i32.
;; roles: mem str -> status
(func $std.wire.push_text (param $b i32) (param $s i32) (result i32)
  (call $std.wire.push_raw
    (local.get $b)
    (i32.add (local.get $s) (i32.const 4))
    (i32.load (local.get $s))))

;; Appends the $len raw bytes at $src: status 0 or 4, as push_i32.
;; roles: mem mem count -> status
(func $std.wire.push_raw (param $b i32) (param $src i32) (param $len i32) (result i32)
  (local $at i32)
  (local.set $at (call $std.wire.reserve (local.get $b) (local.get $len)))
  (if (i32.eqz (local.get $at)) (then (return (i32.const 4))))
  (memory.copy (local.get $at) (local.get $src) (local.get $len))
  (i32.const 0))

;; The finished value of builder $b, `[payload len][payload]`, to hand to
;; `(resv …)` or push into another builder. The builder's capacity shrinks to
;; what it holds, so a push after this returns 4 TOO_LARGE and cannot change
;; the finished value.
;;
;; ```wat
;; ;; A result of type (u32, String): a struct of two fields.
;; (func $run (result i32)
;;   (local $b i32)
;;   (local.set $b (call $std.wire.begin (i32.const 32)))
;;   (check (call $std.wire.push_i32 (local.get $b) (i32.const 7)))
;;   (check (call $std.wire.push_value (local.get $b) "seven"))
;;   (resv (call $std.wire.finish (local.get $b)))
;;   (i32.const 0))
;; ```
;; roles: mem -> ptr
(func $std.wire.finish (param $b i32) (result i32)
  (i32.store (local.get $b) (i32.load offset=4 (local.get $b)))
  (i32.add (local.get $b) (i32.const 4)))
