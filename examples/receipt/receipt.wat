;; receipt: total a shopping list and print it as a receipt, names on the
;; left, amounts lined up on the right.
;;
;;   tape run examples/receipt/receipt.wat coffee=350 bagel=275 'orange juice=420' coupon=-100
;;
;; Each argument is NAME=CENTS. Amounts are kept in whole cents (i64), so
;; nothing is lost to rounding, and formatted as dollars and cents only
;; when printed.

;; The width of the receipt, in bytes.
(global $width i32 (i32.const 24))

(func $run (result i32)
  (local $i i32) (local $status i32) (local $item i32) (local $name i32)
  (local $rest i32) (local $cents i64) (local $total i64)
  (block $done
    (loop $each
      (br_if $done (i32.ge_u (local.get $i) (call $core.argc)))
      (call $core.arg (local.get $i))
      (local.set $status)
      (local.set $item)
      (check $status)
      ;; The text before the first "=", and where the text after it starts
      ;; (-1 if there is no "=").
      (call $std.str.split_next (local.get $item) "=" (i32.const 0))
      (local.set $rest)
      (local.set $name)
      (if (i32.eq (local.get $rest) (i32.const -1))
        (then (return (call $bad_item (local.get $item)))))
      (call $std.i64.parse
        (call $std.str.slice (local.get $item) (local.get $rest) (call $std.str.len (local.get $item))))
      (local.set $status)
      (local.set $cents)
      (if (local.get $status)
        (then (return (call $bad_item (local.get $item)))))
      (resv (call $line
        (call $std.str.to_upper (call $std.str.trim (local.get $name)))
        (local.get $cents)))
      (local.set $total (i64.add (local.get $total) (local.get $cents)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
  (resv (call $filled (i32.const 0x2d)))  ;; a rule of "-"
  (resv (call $line "TOTAL" (local.get $total)))
  (i32.const 0))

;; Says what is wrong with an argument, on standard error, and returns
;; status 1 (invalid argument).
(func $bad_item (param $item i32) (result i32)
  (drop (call $log.write (i32.const 0)  ;; level 0: error
    (call $std.str.concat "expected NAME=CENTS, like coffee=350, got: " (local.get $item))))
  (i32.const 1))

;; A new string of `$width` copies of `$byte`.
(func $filled (param $byte i32) (result i32)
  (local $s i32)
  (local.set $s (call $core.alloc (i32.add (global.get $width) (i32.const 4))))
  (i32.store (local.get $s) (global.get $width))
  (call $std.mem.fill (i32.add (local.get $s) (i32.const 4)) (local.get $byte) (global.get $width))
  (local.get $s))

;; One line of the receipt: `$name` at the left (cut short if need be),
;; the amount at the right, spaces between. Widths count bytes, so a name
;; with letters outside ASCII comes out narrower, and may be cut inside one.
(func $line (param $name i32) (param $cents i64) (result i32)
  (local $amount i32) (local $line i32) (local $room i32) (local $len i32)
  (local.set $amount (call $money (local.get $cents)))
  (local.set $len (call $std.str.len (local.get $amount)))
  (local.set $line (call $filled (i32.const 0x20)))
  ;; The name gets what the amount and one space leave.
  (local.set $room (i32.sub (i32.sub (global.get $width) (local.get $len)) (i32.const 1)))
  (call $std.mem.copy
    (i32.add (local.get $line) (i32.const 4))
    (i32.add (local.get $name) (i32.const 4))
    (select (call $std.str.len (local.get $name)) (local.get $room)
      (i32.lt_u (call $std.str.len (local.get $name)) (local.get $room))))
  (call $std.mem.copy
    (i32.add (local.get $line) (i32.sub (i32.add (global.get $width) (i32.const 4)) (local.get $len)))
    (i32.add (local.get $amount) (i32.const 4))
    (local.get $len))
  (local.get $line))

;; Cents as dollars: 1045 → "10.45", 5 → "0.05", -100 → "-1.00".
(func $money (param $cents i64) (result i32)
  (local $sign i32) (local $abs i64) (local $hundredths i64) (local $text i32)
  (local.set $sign "")
  (local.set $abs (local.get $cents))
  (if (i64.lt_s (local.get $cents) (i64.const 0))
    (then
      (local.set $sign "-")
      (local.set $abs (i64.sub (i64.const 0) (local.get $cents)))))
  ;; Unsigned division, so that even the most negative i64 comes out right.
  (local.set $text (call $std.str.concat (local.get $sign)
    (call $std.i64.to_str (i64.div_u (local.get $abs) (i64.const 100)))))
  (local.set $text (call $std.str.concat (local.get $text) "."))
  (local.set $hundredths (i64.rem_u (local.get $abs) (i64.const 100)))
  (if (i64.lt_u (local.get $hundredths) (i64.const 10))
    (then (local.set $text (call $std.str.concat (local.get $text) "0"))))
  (call $std.str.concat (local.get $text) (call $std.i64.to_str (local.get $hundredths))))
