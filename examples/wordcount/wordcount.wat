;; wordcount: count the lines, words and bytes of a text, as `wc` does,
;; and find its longest word.
;;
;;   tape run examples/wordcount/wordcount.wat 'the quick brown fox jumps over the lazy dog'
;;   tape run examples/wordcount/wordcount.wat @README.md   # a file's bytes
;;
;; `$std.str.words_next` walks the words; `$std.wire.begin` and its
;; `push_…` functions build the report line.
(func $run (result i32)
  (local $pos i32) (local $word i32) (local $words i32) (local $lines i32)
  (local $longest i32)
  (argv 0 $text)
  (local.set $longest "")
  ;; words_next returns the next word and the position after it, or
  ;; (0, -1) when no word is left.
  (block $done
    (loop $each
      (call $std.str.words_next (local.get $text) (local.get $pos))
      (local.set $pos)
      (local.set $word)
      (br_if $done (i32.eq (local.get $pos) (i32.const -1)))
      (local.set $words (i32.add (local.get $words) (i32.const 1)))
      (if (i32.gt_u (call $std.str.len (local.get $word))
                    (call $std.str.len (local.get $longest)))
        (then (local.set $longest (local.get $word))))
      (br $each)))
  ;; Lines: newlines, plus one for a last line that does not end in one.
  (local.set $lines (call $count_newlines (local.get $text)))
  (if (i32.and
        (i32.gt_u (call $std.str.len (local.get $text)) (i32.const 0))
        (i32.eqz (call $std.str.ends_with (local.get $text) "\n")))
    (then (local.set $lines (i32.add (local.get $lines) (i32.const 1)))))

  ;; "lines: 1, words: 9, bytes: 43": a builder appends text, and reports
  ;; status 4 (too large) past its capacity, which `check` returns.
  (local $out i32)
  (local.set $out (call $std.wire.begin (i32.const 64)))
  (check (call $std.wire.push_text (local.get $out) "lines: "))
  (check (call $std.wire.push_text (local.get $out) (call $std.i32.to_str (local.get $lines))))
  (check (call $std.wire.push_text (local.get $out) ", words: "))
  (check (call $std.wire.push_text (local.get $out) (call $std.i32.to_str (local.get $words))))
  (check (call $std.wire.push_text (local.get $out) ", bytes: "))
  (check (call $std.wire.push_text (local.get $out)
    (call $std.i32.to_str (call $std.str.len (local.get $text)))))
  (resv (call $std.wire.finish (local.get $out)))
  (resv (call $std.str.concat "longest word: " (local.get $longest)))
  (i32.const 0))

;; How many times "\n" occurs in `$s`, with `$std.str.find`.
(func $count_newlines (param $s i32) (result i32)
  (local $n i32) (local $at i32)
  (block $done
    (loop $each
      (local.set $at (call $std.str.find (local.get $s) "\n" (local.get $at)))
      (br_if $done (i32.eq (local.get $at) (i32.const -1)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (local.set $at (i32.add (local.get $at) (i32.const 1)))
      (br $each)))
  (local.get $n))
