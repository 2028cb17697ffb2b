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

;; 1 if $needle occurs in $s, else 0; every string contains "".
;; roles: str str -> bool
(func $std.str.contains (param $s i32) (param $needle i32) (result i32)
  (i32.ne (call $std.str.find (local.get $s) (local.get $needle) (i32.const 0)) (i32.const -1)))

;; A new string: $s with every occurrence of $from replaced by $to, left to
;; right, not overlapping (Rust's `str::replace`). An empty $from puts $to
;; before every character and at the end: ("ab", "", "-") gives "-a-b-".
;;
;; ```wat
;; (func $run (result i32)
;;   (resv (call $std.str.replace "a-b-c" "-" " + "))   ;; "a + b + c"
;;   (i32.const 0))
;; ```
;; roles: str str str -> str
(func $std.str.replace (param $s i32) (param $from i32) (param $to i32) (result i32)
  (local $len i32)
  (local $n i32)
  (local $b i32)
  (local $pos i32)
  (local $at i32)
  (local.set $len (i32.load (local.get $s)))
  (local.set $n (i32.load (local.get $from)))
  (local.set $b (call $std.wire.begin (local.get $len)))
  ;; Pushes fail only past 4 GiB, and memory traps long before: their
  ;; statuses are dropped.
  (if (i32.eqz (local.get $n))
    (then
      (block $done
        (loop $each
          ;; A character starts at every byte but UTF-8's continuation bytes
          ;; (10xxxxxx), and the end counts as one.
          (local.set $at (i32.const 1))
          (if (i32.lt_u (local.get $pos) (local.get $len))
            (then
              (local.set $at
                (i32.ne
                  (i32.and
                    (i32.load8_u offset=4 (i32.add (local.get $s) (local.get $pos)))
                    (i32.const 0xc0))
                  (i32.const 0x80)))))
          (if (local.get $at)
            (then (drop (call $std.wire.push_text (local.get $b) (local.get $to)))))
          (br_if $done (i32.ge_u (local.get $pos) (local.get $len)))
          (drop (call $std.wire.push_raw (local.get $b)
            (i32.add (i32.add (local.get $s) (i32.const 4)) (local.get $pos)) (i32.const 1)))
          (local.set $pos (i32.add (local.get $pos) (i32.const 1)))
          (br $each)))
      (return (call $std.wire.finish (local.get $b)))))
  (loop $each
    (local.set $at (call $std.str.find (local.get $s) (local.get $from) (local.get $pos)))
    (if (i32.eq (local.get $at) (i32.const -1))
      (then
        (drop (call $std.wire.push_raw (local.get $b)
          (i32.add (i32.add (local.get $s) (i32.const 4)) (local.get $pos))
          (i32.sub (local.get $len) (local.get $pos))))
        (return (call $std.wire.finish (local.get $b)))))
    (drop (call $std.wire.push_raw (local.get $b)
      (i32.add (i32.add (local.get $s) (i32.const 4)) (local.get $pos))
      (i32.sub (local.get $at) (local.get $pos))))
    (drop (call $std.wire.push_text (local.get $b) (local.get $to)))
    (local.set $pos (i32.add (local.get $at) (local.get $n)))
    (br $each))
  (unreachable))

;; A new sequence of strings: the pieces of $s split at every $sep, as
;; `$std.str.split_next` gives them one by one (`"a,,b"` gives `["a", "", "b"]`;
;; an empty $sep gives `[$s]`).
;; roles: str str -> ptr
(func $std.str.split_all (param $s i32) (param $sep i32) (result i32)
  (local $len i32)
  (local $n i32)
  (local $b i32)
  (local $pos i32)
  (local $at i32)
  (local $end i32)
  (local.set $len (i32.load (local.get $s)))
  (local.set $n (i32.load (local.get $sep)))
  (local.set $b (call $std.wire.begin (i32.add (local.get $len) (i32.const 16))))
  (block $done
    (loop $each
      (local.set $at (i32.const -1))
      (if (local.get $n)
        (then (local.set $at (call $std.str.find (local.get $s) (local.get $sep) (local.get $pos)))))
      (local.set $end
        (select (local.get $len) (local.get $at) (i32.eq (local.get $at) (i32.const -1))))
      ;; As in str.replace, pushes cannot fail before memory runs out.
      (drop (call $std.wire.push_i32 (local.get $b) (i32.sub (local.get $end) (local.get $pos))))
      (drop (call $std.wire.push_raw (local.get $b)
        (i32.add (i32.add (local.get $s) (i32.const 4)) (local.get $pos))
        (i32.sub (local.get $end) (local.get $pos))))
      (br_if $done (i32.eq (local.get $at) (i32.const -1)))
      (local.set $pos (i32.add (local.get $at) (local.get $n)))
      (br $each)))
  (call $std.wire.finish (local.get $b)))

;; A new string: the strings of sequence $seq with $sep between them (`[]`
;; gives ""). The walk stops at an item that claims more bytes than the
;; sequence holds.
;;
;; ```wat
;; ;; The names of the files in the granted directory, one per line.
;; (func $run (result i32)
;;   (bind $names (call $fs.list "."))
;;   (resv (call $std.str.join (local.get $names) "\n"))
;;   (i32.const 0))
;; ```
;; roles: ptr str -> str
(func $std.str.join (param $seq i32) (param $sep i32) (result i32)
  (local $r i32)
  (local $b i32)
  (local $item i32)
  (local $more i32)
  (local.set $r (call $std.wire.reader (local.get $seq)))
  (local.set $b (call $std.wire.begin (i32.load (local.get $seq))))
  (block $done
    (loop $each
      (local.set $item (call $std.seq.next (local.get $r)))
      (br_if $done (i32.eqz (local.get $item)))
      (if (local.get $more)
        (then (drop (call $std.wire.push_text (local.get $b) (local.get $sep)))))
      (local.set $more (i32.const 1))
      (drop (call $std.wire.push_text (local.get $b) (local.get $item)))
      (br $each)))
  (call $std.wire.finish (local.get $b)))

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

;; $a × $b: (product, status), status 4 TOO_LARGE (product 0) when it
;; overflows an i64.
;; roles: num num -> num status
(func $std.i64.mul (param $a i64) (param $b i64) (result i64 i32)
  (local $p i64)
  (if (i64.eqz (local.get $a)) (then (return (i64.const 0) (i32.const 0))))
  ;; -1 × i64::MIN is the one product whose check below would itself trap.
  (if (i32.and
        (i64.eq (local.get $a) (i64.const -1))
        (i64.eq (local.get $b) (i64.const 0x8000000000000000)))
    (then (return (i64.const 0) (i32.const 4))))
  (local.set $p (i64.mul (local.get $a) (local.get $b)))
  (if (i64.ne (i64.div_s (local.get $p) (local.get $a)) (local.get $b))
    (then (return (i64.const 0) (i32.const 4))))
  (local.get $p)
  (i32.const 0))

;; $base to the power $exp: (value, status). Status 1 INVALID_ARGUMENT for a
;; negative $exp, 4 TOO_LARGE when the value overflows an i64 (Rust's
;; `checked_pow`); the value is 0 on error. Any base to the power 0 is 1.
;;
;; ```wat
;; (func $run (result i32)
;;   (local $kib i64)
;;   (bind $kib (call $std.i64.pow (i64.const 2) (i32.const 10)))  ;; 1024
;;   (resv (call $std.i64.to_str (local.get $kib)))
;;   (i32.const 0))
;; ```
;; roles: num num -> num status
(func $std.i64.pow (param $base i64) (param $exp i32) (result i64 i32)
  (local $acc i64)
  (local $status i32)
  (if (i32.lt_s (local.get $exp) (i32.const 0))
    (then (return (i64.const 0) (i32.const 1))))
  (local.set $acc (i64.const 1))
  (if (i32.eqz (local.get $exp)) (then (return (i64.const 1) (i32.const 0))))
  ;; Square and multiply; the last square is not taken, so it cannot
  ;; overflow when the result does not.
  (block $done
    (loop $bit
      (br_if $done (i32.le_u (local.get $exp) (i32.const 1)))
      (if (i32.and (local.get $exp) (i32.const 1))
        (then
          (call $std.i64.mul (local.get $acc) (local.get $base))
          (local.set $status)
          (local.set $acc)
          (if (local.get $status) (then (return (i64.const 0) (local.get $status))))))
      (local.set $exp (i32.shr_u (local.get $exp) (i32.const 1)))
      (call $std.i64.mul (local.get $base) (local.get $base))
      (local.set $status)
      (local.set $base)
      (if (local.get $status) (then (return (i64.const 0) (local.get $status))))
      (br $bit)))
  (call $std.i64.mul (local.get $acc) (local.get $base)))

;; $base to the power $exp, as `$std.i64.pow`, for i32: status 4 when the
;; value overflows an i32.
;; roles: num num -> num status
(func $std.i32.pow (param $base i32) (param $exp i32) (result i32 i32)
  (local $value i64)
  (local $status i32)
  (call $std.i64.pow (i64.extend_i32_s (local.get $base)) (local.get $exp))
  (local.set $status)
  (local.set $value)
  (if (local.get $status) (then (return (i32.const 0) (local.get $status))))
  (if (i64.ne (local.get $value) (i64.extend_i32_s (i32.wrap_i64 (local.get $value))))
    (then (return (i32.const 0) (i32.const 4))))
  (i32.wrap_i64 (local.get $value))
  (i32.const 0))

;; A new string: $x in the shortest decimal that reads back as the same f64
;; (Rust's `{:?}`): "0.1", "1.0", "-2.5", "1e21", "1.5e-7", "NaN", "inf",
;; "-inf". The digits come from the host's `core.f64_format`, which is exact.
;;
;; ```wat
;; (func $run (result i32)
;;   (resv (call $std.f64.to_str (f64.div (f64.const 1) (f64.const 3))))  ;; "0.3333333333333333"
;;   (i32.const 0))
;; ```
;; roles: num -> str
(func $std.f64.to_str (param $x f64) (result i32)
  (call $core.f64_format (local.get $x) (i32.const -1)))

;; A new string: $x rounded to $decimals digits after the point (Rust's
;; `{:.N}`, ties to even on the exact value): (2.345, 2) gives "2.35",
;; (1e21, 0) "1000000000000000000000"; any number of decimals, past the
;; 1074th all 0. A negative $decimals is the shortest form, as
;; `$std.f64.to_str`.
;; roles: num count -> str
(func $std.f64.to_fixed (param $x f64) (param $decimals i32) (result i32)
  (call $core.f64_format (local.get $x) (local.get $decimals)))

;; Parses string $s as an f64: (value, status), correctly rounded. The syntax
;; is Rust's `str::parse::<f64>`: an optional sign, digits with an optional
;; point and exponent ("1", "-0.5", "1e3", ".5", "5."), or "inf", "infinity",
;; "nan" in any case; no spaces. Status 1 INVALID_ARGUMENT otherwise (value 0).
;; A number too large is infinity, as in Rust, not an error.
;; roles: str -> num status
(func $std.f64.parse (param $s i32) (result f64 i32)
  (call $core.f64_parse (local.get $s)))

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

;; A builder is two words, `[value][capacity]`: the value being
;; `[payload len][payload]` as it grows, with room for $capacity payload bytes.
;; Pushes append to the payload in place and update its prefix, so `finish`
;; copies nothing. A push past the capacity moves the value to a larger
;; allocation first (the old one is left behind: nothing is freed). Seq, tuple,
;; struct and map share that layout (so do string and bytes, fed only with
;; push_text and push_raw). A finished builder has capacity -1, which no
;; allocation can have.

;; A new builder with room for $capacity payload bytes before it first grows.
;; roles: count -> mem
(func $std.wire.begin (param $capacity i32) (result i32)
  (local $b i32)
  (local $v i32)
  (local.set $b (call $core.alloc (i32.const 8)))
  ;; A capacity within 4 of 2^32 traps in wire.alloc; so does -1, which would
  ;; otherwise read as finished.
  (local.set $v (call $std.wire.alloc (local.get $capacity)))
  (i32.store (local.get $v) (i32.const 0))
  (i32.store (local.get $b) (local.get $v))
  (i32.store offset=4 (local.get $b) (local.get $capacity))
  (local.get $b))

;; Room for $n more payload bytes in builder $b: the address to write them at,
;; with the payload length already grown by $n (the address is good until the
;; next push, which may move the value). The builder grows when it must; 0,
;; with nothing changed, when the builder is finished or the payload would
;; pass 4 GiB. For pushing what the push_… functions do not cover.
;; roles: mem count -> mem
(func $std.wire.reserve (param $b i32) (param $n i32) (result i32)
  (local $v i32)
  (local $capacity i32)
  (local $used i32)
  (local $need i32)
  (local $extra i32)
  (local $grown i32)
  (local.set $v (i32.load (local.get $b)))
  (local.set $capacity (i32.load offset=4 (local.get $b)))
  (if (i32.eq (local.get $capacity) (i32.const -1))
    (then (return (i32.const 0))))
  (local.set $used (i32.load (local.get $v)))
  (local.set $need (i32.add (local.get $used) (local.get $n)))
  (if (i32.lt_u (local.get $need) (local.get $used))
    (then (return (i32.const 0))))
  (if (i32.gt_u (local.get $need) (local.get $capacity))
    (then
      ;; Grow by what is held, at least 64 bytes and at most 16 MiB more than
      ;; needed: appends stay linear overall, and a large builder asks for
      ;; little beyond what it needs.
      (local.set $extra
        (select (i32.const 0x1000000) (local.get $capacity)
          (i32.gt_u (local.get $capacity) (i32.const 0x1000000))))
      (local.set $extra
        (select (i32.const 64) (local.get $extra)
          (i32.lt_u (local.get $extra) (i32.const 64))))
      (local.set $grown (i32.add (local.get $need) (local.get $extra)))
      (if (i32.lt_u (local.get $grown) (local.get $need))
        (then (local.set $grown (local.get $need))))
      (local.set $v (call $std.wire.alloc (local.get $grown)))
      (memory.copy
        (i32.add (local.get $v) (i32.const 4))
        (i32.add (i32.load (local.get $b)) (i32.const 4))
        (local.get $used))
      (i32.store (local.get $b) (local.get $v))
      (i32.store offset=4 (local.get $b) (local.get $grown))))
  (i32.store (local.get $v) (local.get $need))
  (i32.add (i32.add (local.get $v) (i32.const 4)) (local.get $used)))

;; Appends $v, 4 bytes little-endian: status 0, or 4 TOO_LARGE when the
;; builder is finished or would pass 4 GiB (nothing appended).
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

;; Appends $v, 8 bytes, IEEE 754 little-endian: status 0 or 4, as push_i32.
;; roles: mem num -> status
(func $std.wire.push_f64 (param $b i32) (param $v f64) (result i32)
  (local $at i32)
  (local.set $at (call $std.wire.reserve (local.get $b) (i32.const 8)))
  (if (i32.eqz (local.get $at)) (then (return (i32.const 4))))
  (f64.store (local.get $at) (local.get $v))
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
;; `(resv …)` or push into another builder. The builder is closed: a push
;; after this returns 4 TOO_LARGE and cannot change the finished value, and
;; finishing again gives the same value.
;;
;; ```wat
;; ;; A result of type (u32, String): a struct of two fields.
;; (func $run (result i32)
;;   (local $b i32)
;;   (local.set $b (call $std.wire.begin (i32.const 0)))
;;   (check (call $std.wire.push_i32 (local.get $b) (i32.const 7)))
;;   (check (call $std.wire.push_value (local.get $b) "seven"))
;;   (resv (call $std.wire.finish (local.get $b)))
;;   (i32.const 0))
;; ```
;; roles: mem -> ptr
(func $std.wire.finish (param $b i32) (result i32)
  (i32.store offset=4 (local.get $b) (i32.const -1))
  (i32.load (local.get $b)))

;; ===========================================================================
;; Scalar results
;; ===========================================================================

;; A result is found from its pointer alone, so it carries its length; a
;; number has no prefix of its own, so it is handed over as `[width][bytes]`,
;; a one-field tuple, which the host reads as the number itself
;; (`outcome.result::<i32>(0)`).

;; A new value `[4][$v LE]`: an i32 (or u32) result.
;;
;; ```wat
;; (func $run (result i32)
;;   (resv (call $std.wire.i32 (i32.const 42)))   ;; the host reads 42i32
;;   (i32.const 0))
;; ```
;; roles: num -> ptr
(func $std.wire.i32 (param $v i32) (result i32)
  (local $r i32)
  (local.set $r (call $std.wire.alloc (i32.const 4)))
  (i32.store offset=4 (local.get $r) (local.get $v))
  (local.get $r))

;; A new value `[8][$v LE]`: an i64 (or u64) result.
;; roles: num -> ptr
(func $std.wire.i64 (param $v i64) (result i32)
  (local $r i32)
  (local.set $r (call $std.wire.alloc (i32.const 8)))
  (i64.store offset=4 (local.get $r) (local.get $v))
  (local.get $r))

;; A new value `[8][$v IEEE 754 LE]`: an f64 result.
;; roles: num -> ptr
(func $std.wire.f64 (param $v f64) (result i32)
  (local $r i32)
  (local.set $r (call $std.wire.alloc (i32.const 8)))
  (f64.store offset=4 (local.get $r) (local.get $v))
  (local.get $r))

;; ===========================================================================
;; Reading wire values
;; ===========================================================================

;; A reader is two words, `[position][end]`, over the payload of one
;; length-prefixed value: a struct's fields, a tuple's, a sequence's items, in
;; order. Each read takes one field and moves on; a read past the end takes
;; nothing and returns status 3 NOT_FOUND when nothing is left, 1
;; INVALID_ARGUMENT when something is left but not enough (a malformed value).

;; A new reader over the payload of the length-prefixed value at $v.
;;
;; ```wat
;; ;; The keys under "user:" in kv, as one comma-separated result.
;; (func $run (result i32)
;;   (local $r i32) (local $key i32) (local $b i32)
;;   (bind $keys (call $kv.list "user:"))
;;   (local.set $r (call $std.wire.reader (local.get $keys)))
;;   (local.set $b (call $std.wire.begin (i32.const 0)))
;;   (block $done
;;     (loop $each
;;       (local.set $key (call $std.seq.next (local.get $r)))
;;       (br_if $done (i32.eqz (local.get $key)))
;;       (check (call $std.wire.push_text (local.get $b) (local.get $key)))
;;       (check (call $std.wire.push_text (local.get $b) ","))
;;       (br $each)))
;;   (resv (call $std.wire.finish (local.get $b)))
;;   (i32.const 0))
;; ```
;; roles: ptr -> mem
(func $std.wire.reader (param $v i32) (result i32)
  (local $r i32)
  (local $start i32)
  (local $end i32)
  (local.set $start (i32.add (local.get $v) (i32.const 4)))
  (local.set $end (i32.add (local.get $start) (i32.load (local.get $v))))
  ;; A prefix reaching past 4 GiB: read up to the end of the address space,
  ;; where a load traps, as any load outside memory does.
  (if (i32.lt_u (local.get $end) (local.get $start))
    (then (local.set $end (i32.const -1))))
  (local.set $r (call $core.alloc (i32.const 8)))
  (i32.store (local.get $r) (local.get $start))
  (i32.store offset=4 (local.get $r) (local.get $end))
  (local.get $r))

;; The number of payload bytes reader $r has not read yet: 0 at the end.
;; roles: mem -> count
(func $std.wire.remaining (param $r i32) (result i32)
  (i32.sub (i32.load offset=4 (local.get $r)) (i32.load (local.get $r))))

;; Takes $n bytes from reader $r: their address, and the reader moves past
;; them; or 0, with nothing taken, when fewer remain.
;; roles: mem count -> mem
(func $std.wire.take (param $r i32) (param $n i32) (result i32)
  (local $at i32)
  (local.set $at (i32.load (local.get $r)))
  (if (i32.gt_u (local.get $n) (call $std.wire.remaining (local.get $r)))
    (then (return (i32.const 0))))
  (i32.store (local.get $r) (i32.add (local.get $at) (local.get $n)))
  (local.get $at))

;; The status of a read that found too few bytes: 3 NOT_FOUND at the end, 1
;; INVALID_ARGUMENT when some are left.
;; roles: mem -> status
(func $std.wire.short (param $r i32) (result i32)
  (select (i32.const 3) (i32.const 1)
    (i32.eqz (call $std.wire.remaining (local.get $r)))))

;; Reads 4 bytes, little-endian: (an i32 or u32, status).
;; roles: mem -> num status
(func $std.wire.read_i32 (param $r i32) (result i32 i32)
  (local $at i32)
  (local.set $at (call $std.wire.take (local.get $r) (i32.const 4)))
  (if (i32.eqz (local.get $at))
    (then (return (i32.const 0) (call $std.wire.short (local.get $r)))))
  (i32.load (local.get $at))
  (i32.const 0))

;; Reads 8 bytes, little-endian: (an i64 or u64, status).
;; roles: mem -> num status
(func $std.wire.read_i64 (param $r i32) (result i64 i32)
  (local $at i32)
  (local.set $at (call $std.wire.take (local.get $r) (i32.const 8)))
  (if (i32.eqz (local.get $at))
    (then (return (i64.const 0) (call $std.wire.short (local.get $r)))))
  (i64.load (local.get $at))
  (i32.const 0))

;; Reads 8 bytes, IEEE 754 little-endian: (an f64, status).
;; roles: mem -> num status
(func $std.wire.read_f64 (param $r i32) (result f64 i32)
  (local $at i32)
  (local.set $at (call $std.wire.take (local.get $r) (i32.const 8)))
  (if (i32.eqz (local.get $at))
    (then (return (f64.const 0) (call $std.wire.short (local.get $r)))))
  (f64.load (local.get $at))
  (i32.const 0))

;; Reads 1 byte: (a u8 or a bool as 0/1, status).
;; roles: mem -> num status
(func $std.wire.read_u8 (param $r i32) (result i32 i32)
  (local $at i32)
  (local.set $at (call $std.wire.take (local.get $r) (i32.const 1)))
  (if (i32.eqz (local.get $at))
    (then (return (i32.const 0) (call $std.wire.short (local.get $r)))))
  (i32.load8_u (local.get $at))
  (i32.const 0))

;; Reads one length-prefixed value (a string, bytes, a nested struct or
;; sequence): (its pointer, status). The value stays where it is, inside the
;; one being read: nothing is copied. Status 1 when its prefix claims more
;; bytes than are left.
;; roles: mem -> ptr status
(func $std.wire.read_value (param $r i32) (result i32 i32)
  (local $at i32)
  (local $left i32)
  (local.set $at (i32.load (local.get $r)))
  (local.set $left (call $std.wire.remaining (local.get $r)))
  (if (i32.lt_u (local.get $left) (i32.const 4))
    (then (return (i32.const 0) (call $std.wire.short (local.get $r)))))
  (if (i32.gt_u (i32.load (local.get $at)) (i32.sub (local.get $left) (i32.const 4)))
    (then (return (i32.const 0) (i32.const 1))))
  (i32.store (local.get $r)
    (i32.add (i32.add (local.get $at) (i32.const 4)) (i32.load (local.get $at))))
  (local.get $at)
  (i32.const 0))

;; ===========================================================================
;; Sequences
;; ===========================================================================

;; A sequence is `[payload len][items]`: of strings (what `kv.list`,
;; `json.keys` and `fs.list` return), each `[len][bytes]`; of i32, 4 bytes
;; each; of i64, 8 bytes each.

;; The next item of a sequence of length-prefixed values (strings, bytes,
;; structs), read with reader $r from `$std.wire.reader`: a pointer to the
;; item in place, or 0 after the last. An item whose prefix claims more than
;; is left ends the walk too; `$std.wire.read_value` tells the two apart.
;; roles: mem -> ptr
(func $std.seq.next (param $r i32) (result i32)
  (local $item i32)
  (local $status i32)
  (call $std.wire.read_value (local.get $r))
  (local.set $status)
  (local.set $item)
  (select (i32.const 0) (local.get $item) (local.get $status)))

;; The number of length-prefixed items in sequence $seq, or -1 when the last
;; one claims more bytes than the sequence holds.
;; roles: ptr -> count
(func $std.seq.count (param $seq i32) (result i32)
  (local $r i32)
  (local $n i32)
  (local $status i32)
  (local.set $r (call $std.wire.reader (local.get $seq)))
  (block $done
    (loop $each
      (call $std.wire.read_value (local.get $r))
      (local.set $status)
      (drop)
      (br_if $done (local.get $status))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $each)))
  (select (local.get $n) (i32.const -1) (i32.eq (local.get $status) (i32.const 3))))

;; Item $i (from 0) of a sequence of length-prefixed values: a pointer to it in
;; place, or 0 when there are not that many.
;; roles: ptr index -> ptr
(func $std.seq.get (param $seq i32) (param $i i32) (result i32)
  (local $r i32)
  (local $item i32)
  (local.set $r (call $std.wire.reader (local.get $seq)))
  (loop $each
    (local.set $item (call $std.seq.next (local.get $r)))
    (if (i32.eqz (local.get $item)) (then (return (i32.const 0))))
    (if (local.get $i)
      (then
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $each))))
  (local.get $item))

;; Sorts the i32 items of sequence $seq in place, ascending, signed: status 0,
;; or 1 INVALID_ARGUMENT (nothing moved) when its payload is not a whole
;; number of i32.
;; roles: ptr -> status
(func $std.seq.sort_i32 (param $seq i32) (result i32)
  (local $len i32)
  (local.set $len (i32.load (local.get $seq)))
  (if (i32.and (local.get $len) (i32.const 3)) (then (return (i32.const 1))))
  (call $std.seq.heapsort
    (i32.add (local.get $seq) (i32.const 4))
    (i32.shr_u (local.get $len) (i32.const 2))
    (i32.const 0))
  (i32.const 0))

;; Sorts the i64 items of sequence $seq in place, ascending, signed: status 0,
;; or 1 (nothing moved) when its payload is not a whole number of i64.
;; roles: ptr -> status
(func $std.seq.sort_i64 (param $seq i32) (result i32)
  (local $len i32)
  (local.set $len (i32.load (local.get $seq)))
  (if (i32.and (local.get $len) (i32.const 7)) (then (return (i32.const 1))))
  (call $std.seq.heapsort
    (i32.add (local.get $seq) (i32.const 4))
    (i32.shr_u (local.get $len) (i32.const 3))
    (i32.const 1))
  (i32.const 0))

;; Sorts the strings of sequence $seq in place, in `$std.str.compare` order
;; (bytewise): status 0, or 1 (nothing moved) when an item claims more bytes
;; than the sequence holds. Uses room for one pointer per item and a copy of
;; the payload, allocated and left behind.
;;
;; ```wat
;; (func $run (result i32)
;;   (local $names i32)
;;   (local.set $names (call $std.str.split_all "pear,fig,apple" ","))
;;   (check (call $std.seq.sort_str (local.get $names)))
;;   (resv (call $std.str.join (local.get $names) ", "))   ;; "apple, fig, pear"
;;   (i32.const 0))
;; ```
;; roles: ptr -> status
(func $std.seq.sort_str (param $seq i32) (result i32)
  (local $count i32)
  (local $ptrs i32)
  (local $r i32)
  (local $i i32)
  (local $len i32)
  (local $copy i32)
  (local $at i32)
  (local $n i32)
  (local $item i32)
  (local.set $count (call $std.seq.count (local.get $seq)))
  (if (i32.eq (local.get $count) (i32.const -1)) (then (return (i32.const 1))))
  ;; The items' addresses, sorted by the strings they point at.
  (local.set $ptrs (call $core.alloc (i32.shl (local.get $count) (i32.const 2))))
  (local.set $r (call $std.wire.reader (local.get $seq)))
  (block $done
    (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
      (i32.store
        (i32.add (local.get $ptrs) (i32.shl (local.get $i) (i32.const 2)))
        (call $std.seq.next (local.get $r)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
  (call $std.seq.heapsort (local.get $ptrs) (local.get $count) (i32.const 2))
  ;; The items in that order into a copy, then the copy over the payload: the
  ;; same bytes, in another order, so the same length.
  (local.set $len (i32.load (local.get $seq)))
  (local.set $copy (call $core.alloc (local.get $len)))
  (local.set $at (local.get $copy))
  (local.set $i (i32.const 0))
  (block $done
    (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
      (local.set $item
        (i32.load (i32.add (local.get $ptrs) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $n (i32.add (i32.load (local.get $item)) (i32.const 4)))
      (memory.copy (local.get $at) (local.get $item) (local.get $n))
      (local.set $at (i32.add (local.get $at) (local.get $n)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
  (memory.copy (i32.add (local.get $seq) (i32.const 4)) (local.get $copy) (local.get $len))
  (i32.const 0))

;; Heapsort of $count elements at $base: $kind 0 for i32, 1 for i64, both
;; signed, 2 for string pointers compared with `$std.str.compare`.
;; O(n log n) comparisons at worst, no room beyond the elements.
;; roles: mem count num
(func $std.seq.heapsort (param $base i32) (param $count i32) (param $kind i32)
  (local $i i32)
  (local $end i32)
  ;; Make a max-heap: sift down every parent, last first.
  (local.set $i (i32.shr_u (local.get $count) (i32.const 1)))
  (block $built
    (loop $build
      (br_if $built (i32.eqz (local.get $i)))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (call $std.seq.sift (local.get $base) (local.get $i) (local.get $count) (local.get $kind))
      (br $build)))
  ;; Move the largest to the end, one at a time.
  (local.set $end (local.get $count))
  (block $sorted
    (loop $pop
      (br_if $sorted (i32.le_u (local.get $end) (i32.const 1)))
      (local.set $end (i32.sub (local.get $end) (i32.const 1)))
      (call $std.seq.swap (local.get $base) (i32.const 0) (local.get $end) (local.get $kind))
      (call $std.seq.sift (local.get $base) (i32.const 0) (local.get $end) (local.get $kind))
      (br $pop))))

;; Sifts element $root down the heap of the first $n elements at $base.
;; roles: mem index count num
(func $std.seq.sift (param $base i32) (param $root i32) (param $n i32) (param $kind i32)
  (local $child i32)
  (block $done
    (loop $down
      (local.set $child (i32.add (i32.shl (local.get $root) (i32.const 1)) (i32.const 1)))
      (br_if $done (i32.ge_u (local.get $child) (local.get $n)))
      (if (i32.lt_u (i32.add (local.get $child) (i32.const 1)) (local.get $n))
        (then
          (if (call $std.seq.less (local.get $base) (local.get $child)
                (i32.add (local.get $child) (i32.const 1)) (local.get $kind))
            (then (local.set $child (i32.add (local.get $child) (i32.const 1)))))))
      (br_if $done
        (i32.eqz (call $std.seq.less (local.get $base) (local.get $root)
          (local.get $child) (local.get $kind))))
      (call $std.seq.swap (local.get $base) (local.get $root) (local.get $child) (local.get $kind))
      (local.set $root (local.get $child))
      (br $down))))

;; 1 if element $i sorts before element $j, as heapsort's $kind says.
;; roles: mem index index num -> bool
(func $std.seq.less (param $base i32) (param $i i32) (param $j i32) (param $kind i32) (result i32)
  (if (i32.eq (local.get $kind) (i32.const 1))
    (then
      (return
        (i64.lt_s
          (i64.load (i32.add (local.get $base) (i32.shl (local.get $i) (i32.const 3))))
          (i64.load (i32.add (local.get $base) (i32.shl (local.get $j) (i32.const 3))))))))
  (local.set $i (i32.load (i32.add (local.get $base) (i32.shl (local.get $i) (i32.const 2)))))
  (local.set $j (i32.load (i32.add (local.get $base) (i32.shl (local.get $j) (i32.const 2)))))
  (if (local.get $kind)
    (then
      (return
        (i32.eq (call $std.str.compare (local.get $i) (local.get $j)) (i32.const -1)))))
  (i32.lt_s (local.get $i) (local.get $j)))

;; Swaps elements $i and $j: 8 bytes each for $kind 1, else 4.
;; roles: mem index index num
(func $std.seq.swap (param $base i32) (param $i i32) (param $j i32) (param $kind i32)
  (local $a i32)
  (local $b i32)
  (local $x i64)
  (if (i32.eq (local.get $kind) (i32.const 1))
    (then
      (local.set $a (i32.add (local.get $base) (i32.shl (local.get $i) (i32.const 3))))
      (local.set $b (i32.add (local.get $base) (i32.shl (local.get $j) (i32.const 3))))
      (local.set $x (i64.load (local.get $a)))
      (i64.store (local.get $a) (i64.load (local.get $b)))
      (i64.store (local.get $b) (local.get $x))
      (return)))
  (local.set $a (i32.add (local.get $base) (i32.shl (local.get $i) (i32.const 2))))
  (local.set $b (i32.add (local.get $base) (i32.shl (local.get $j) (i32.const 2))))
  (local.set $i (i32.load (local.get $a)))
  (i32.store (local.get $a) (i32.load (local.get $b)))
  (i32.store (local.get $b) (local.get $i)))
