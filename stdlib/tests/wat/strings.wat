;; The string functions. Every `test_…` export is a test, run in a fresh
;; instance; the `$assert_…` functions are in tests/all/prelude.wat.

(func (export "test_len")
  (call $assert_i32 (call $std.str.len "") (i32.const 0))
  (call $assert_i32 (call $std.str.len "a") (i32.const 1))
  (call $assert_i32 (call $std.str.len "hello, world") (i32.const 12))
  ;; Bytes, not characters: é is two bytes, 😀 four.
  (call $assert_i32 (call $std.str.len "\u{e9}\u{1f600}") (i32.const 6)))

(func (export "test_eq")
  (call $assert_i32 (call $std.str.eq "" "") (i32.const 1))
  (call $assert_i32 (call $std.str.eq "abc" "abc") (i32.const 1))
  (call $assert_i32 (call $std.str.eq "abc" "abd") (i32.const 0))
  (call $assert_i32 (call $std.str.eq "abc" "ab") (i32.const 0))
  (call $assert_i32 (call $std.str.eq "ab" "abc") (i32.const 0))
  (call $assert_i32 (call $std.str.eq "" "a") (i32.const 0))
  ;; Equal literals share one copy; a new string with the same bytes is
  ;; another pointer, and still equal.
  (call $assert_i32 (call $std.str.eq "abc" (call $std.str.concat "ab" "c")) (i32.const 1))
  ;; Longer than one 8-byte word, differing only in the last byte, or only
  ;; in the first.
  (call $assert_i32
    (call $std.str.eq "the quick brown fox jumps" "the quick brown fox jumps")
    (i32.const 1))
  (call $assert_i32
    (call $std.str.eq "the quick brown fox jumps" "the quick brown fox jumpz")
    (i32.const 0))
  (call $assert_i32
    (call $std.str.eq "the quick brown fox jumps" "The quick brown fox jumps")
    (i32.const 0)))

(func (export "test_compare")
  (call $assert_i32 (call $std.str.compare "" "") (i32.const 0))
  (call $assert_i32 (call $std.str.compare "abc" "abc") (i32.const 0))
  (call $assert_i32 (call $std.str.compare "abc" "abd") (i32.const -1))
  (call $assert_i32 (call $std.str.compare "abd" "abc") (i32.const 1))
  ;; A proper prefix sorts first.
  (call $assert_i32 (call $std.str.compare "ab" "abc") (i32.const -1))
  (call $assert_i32 (call $std.str.compare "abc" "ab") (i32.const 1))
  (call $assert_i32 (call $std.str.compare "" "a") (i32.const -1))
  (call $assert_i32 (call $std.str.compare "a" "") (i32.const 1))
  ;; The first difference decides, not the length.
  (call $assert_i32 (call $std.str.compare "b" "abc") (i32.const 1))
  ;; Bytes are unsigned: é (c3 a9) sorts after every ASCII byte, and 0x80
  ;; after 0x7f.
  (call $assert_i32 (call $std.str.compare "\u{e9}" "z") (i32.const 1))
  (call $assert_i32 (call $std.str.compare "\7f" "\80") (i32.const -1))
  (call $assert_i32 (call $std.str.compare "\ff" "\00") (i32.const 1))
  ;; A difference past the first 8-byte word, and one inside it.
  (call $assert_i32 (call $std.str.compare "0123456789a" "0123456789b") (i32.const -1))
  (call $assert_i32 (call $std.str.compare "0123x56789b" "0123456789a") (i32.const 1)))

(func (export "test_concat")
  (call $assert_str (call $std.str.concat "" "") "")
  (call $assert_str (call $std.str.concat "ab" "") "ab")
  (call $assert_str (call $std.str.concat "" "cd") "cd")
  (call $assert_str (call $std.str.concat "ab" "cd") "abcd")
  (call $assert_str (call $std.str.concat "h\u{e9}" "llo") "h\u{e9}llo"))

(func (export "test_concat_makes_a_new_string")
  (local $s i32)
  (local.set $s (call $std.str.concat "ab" ""))
  (call $assert_i32 (i32.eq (local.get $s) "ab") (i32.const 0))
  ;; Writing into the new string leaves the literal alone.
  (i32.store8 offset=4 (local.get $s) (i32.const 0x78))
  (call $assert_str (local.get $s) "xb")
  (call $assert_str "ab" (call $std.str.concat "a" "b")))

(func (export "test_slice")
  (call $assert_str (call $std.str.slice "hello" (i32.const 0) (i32.const 5)) "hello")
  (call $assert_str (call $std.str.slice "hello" (i32.const 1) (i32.const 3)) "el")
  (call $assert_str (call $std.str.slice "hello" (i32.const 0) (i32.const 0)) "")
  (call $assert_str (call $std.str.slice "hello" (i32.const 4) (i32.const 5)) "o")
  (call $assert_str (call $std.str.slice "hello" (i32.const 5) (i32.const 5)) "")
  (call $assert_str (call $std.str.slice "" (i32.const 0) (i32.const 0)) ""))

(func (export "test_slice_clamps")
  ;; An end past the length is the length.
  (call $assert_str (call $std.str.slice "hello" (i32.const 2) (i32.const 99)) "llo")
  (call $assert_str (call $std.str.slice "" (i32.const 0) (i32.const 1)) "")
  ;; A start past the length gives "".
  (call $assert_str (call $std.str.slice "hello" (i32.const 6) (i32.const 9)) "")
  (call $assert_str (call $std.str.slice "hello" (i32.const 99) (i32.const 3)) "")
  ;; end <= start gives "".
  (call $assert_str (call $std.str.slice "hello" (i32.const 3) (i32.const 3)) "")
  (call $assert_str (call $std.str.slice "hello" (i32.const 3) (i32.const 1)) "")
  ;; Indexes are unsigned: -1 is 4294967295, past any length.
  (call $assert_str (call $std.str.slice "hello" (i32.const 1) (i32.const -1)) "ello")
  (call $assert_str (call $std.str.slice "hello" (i32.const -1) (i32.const -1)) "")
  (call $assert_str (call $std.str.slice "hello" (i32.const -2147483648) (i32.const 2)) ""))

(func (export "test_find")
  (call $assert_i32 (call $std.str.find "hello" "l" (i32.const 0)) (i32.const 2))
  (call $assert_i32 (call $std.str.find "hello" "lo" (i32.const 0)) (i32.const 3))
  (call $assert_i32 (call $std.str.find "hello" "hello" (i32.const 0)) (i32.const 0))
  (call $assert_i32 (call $std.str.find "hello" "h" (i32.const 0)) (i32.const 0))
  ;; At or after `from`: `from` itself counts.
  (call $assert_i32 (call $std.str.find "hello" "l" (i32.const 2)) (i32.const 2))
  (call $assert_i32 (call $std.str.find "hello" "l" (i32.const 3)) (i32.const 3))
  ;; At the very end.
  (call $assert_i32 (call $std.str.find "hello" "o" (i32.const 0)) (i32.const 4))
  (call $assert_i32 (call $std.str.find "hello" "o" (i32.const 4)) (i32.const 4))
  ;; A partial match before the real one.
  (call $assert_i32 (call $std.str.find "aaab" "aab" (i32.const 0)) (i32.const 1))
  (call $assert_i32 (call $std.str.find "abcabd" "abd" (i32.const 0)) (i32.const 3))
  ;; Longer than a word.
  (call $assert_i32
    (call $std.str.find "the quick brown fox jumps over" "fox jumps over" (i32.const 0))
    (i32.const 16)))

(func (export "test_find_not_found")
  (call $assert_i32 (call $std.str.find "hello" "z" (i32.const 0)) (i32.const -1))
  (call $assert_i32 (call $std.str.find "hello" "l" (i32.const 4)) (i32.const -1))
  (call $assert_i32 (call $std.str.find "hello" "o" (i32.const 5)) (i32.const -1))
  ;; A match would run past the end.
  (call $assert_i32 (call $std.str.find "hello" "lox" (i32.const 0)) (i32.const -1))
  (call $assert_i32 (call $std.str.find "hello" "hello!" (i32.const 0)) (i32.const -1))
  (call $assert_i32 (call $std.str.find "" "a" (i32.const 0)) (i32.const -1))
  ;; `from` past the end, also as an unsigned -1.
  (call $assert_i32 (call $std.str.find "hello" "h" (i32.const 6)) (i32.const -1))
  (call $assert_i32 (call $std.str.find "hello" "h" (i32.const -1)) (i32.const -1)))

(func (export "test_find_empty_needle")
  (call $assert_i32 (call $std.str.find "hello" "" (i32.const 0)) (i32.const 0))
  (call $assert_i32 (call $std.str.find "hello" "" (i32.const 3)) (i32.const 3))
  (call $assert_i32 (call $std.str.find "hello" "" (i32.const 5)) (i32.const 5))
  (call $assert_i32 (call $std.str.find "" "" (i32.const 0)) (i32.const 0))
  ;; Only when `from` <= the length.
  (call $assert_i32 (call $std.str.find "hello" "" (i32.const 6)) (i32.const -1))
  (call $assert_i32 (call $std.str.find "" "" (i32.const 1)) (i32.const -1))
  (call $assert_i32 (call $std.str.find "hello" "" (i32.const -1)) (i32.const -1)))

(func (export "test_starts_with")
  (call $assert_i32 (call $std.str.starts_with "hello" "he") (i32.const 1))
  (call $assert_i32 (call $std.str.starts_with "hello" "hello") (i32.const 1))
  (call $assert_i32 (call $std.str.starts_with "hello" "") (i32.const 1))
  (call $assert_i32 (call $std.str.starts_with "" "") (i32.const 1))
  (call $assert_i32 (call $std.str.starts_with "hello" "el") (i32.const 0))
  (call $assert_i32 (call $std.str.starts_with "hello" "hello!") (i32.const 0))
  (call $assert_i32 (call $std.str.starts_with "" "h") (i32.const 0))
  (call $assert_i32 (call $std.str.starts_with "he" "hello") (i32.const 0)))

(func (export "test_ends_with")
  (call $assert_i32 (call $std.str.ends_with "hello" "lo") (i32.const 1))
  (call $assert_i32 (call $std.str.ends_with "hello" "hello") (i32.const 1))
  (call $assert_i32 (call $std.str.ends_with "hello" "") (i32.const 1))
  (call $assert_i32 (call $std.str.ends_with "" "") (i32.const 1))
  (call $assert_i32 (call $std.str.ends_with "hello" "l") (i32.const 0))
  (call $assert_i32 (call $std.str.ends_with "hello" "!hello") (i32.const 0))
  (call $assert_i32 (call $std.str.ends_with "" "o") (i32.const 0))
  (call $assert_i32 (call $std.str.ends_with "lo" "hello") (i32.const 0))
  (call $assert_i32 (call $std.str.ends_with "file.tar.gz" ".gz") (i32.const 1)))

(func (export "test_to_upper")
  (call $assert_str (call $std.str.to_upper "") "")
  (call $assert_str (call $std.str.to_upper "hello, World 42!") "HELLO, WORLD 42!")
  ;; The bytes either side of a–z stay: ` { @ [.
  (call $assert_str (call $std.str.to_upper "`az{@AZ[") "`AZ{@AZ[")
  ;; Only ASCII: é (and its bytes) unchanged.
  (call $assert_str (call $std.str.to_upper "caf\u{e9}") "CAF\u{e9}")
  (call $assert_str (call $std.str.to_upper "\e1\ff\7a") "\e1\ff\5a"))

(func (export "test_to_lower")
  (call $assert_str (call $std.str.to_lower "") "")
  (call $assert_str (call $std.str.to_lower "Hello, WORLD 42!") "hello, world 42!")
  (call $assert_str (call $std.str.to_lower "@AZ[`az{") "@az[`az{")
  (call $assert_str (call $std.str.to_lower "CAF\u{c9}") "caf\u{c9}")
  (call $assert_str (call $std.str.to_lower "\c1\df\5a") "\c1\df\7a"))

(func (export "test_case_changes_make_new_strings")
  (local $s i32)
  (local.set $s "MiXeD")
  (call $assert_str (call $std.str.to_upper (local.get $s)) "MIXED")
  (call $assert_str (call $std.str.to_lower (local.get $s)) "mixed")
  (call $assert_str (local.get $s) "MiXeD"))

(func (export "test_trim")
  (call $assert_str (call $std.str.trim "") "")
  (call $assert_str (call $std.str.trim "hello") "hello")
  (call $assert_str (call $std.str.trim "  hello  ") "hello")
  (call $assert_str (call $std.str.trim "\t\n\0b\0c\r hello world \r\n\t") "hello world")
  (call $assert_str (call $std.str.trim " x") "x")
  (call $assert_str (call $std.str.trim "x ") "x")
  ;; Only whitespace: nothing left.
  (call $assert_str (call $std.str.trim " ") "")
  (call $assert_str (call $std.str.trim " \t\n\0b\0c\r ") "")
  ;; Not ASCII whitespace: NUL, 0x0e, 0x1f, 0x85, a no-break space (c2 a0).
  (call $assert_str (call $std.str.trim "\00a\00") "\00a\00")
  (call $assert_str (call $std.str.trim "\0ea\1f") "\0ea\1f")
  (call $assert_str (call $std.str.trim "\u{a0}a\u{85}") "\u{a0}a\u{85}"))

(func (export "test_is_space")
  (call $assert_i32 (call $std.ascii.is_space (i32.const 0x20)) (i32.const 1))
  (call $assert_i32 (call $std.ascii.is_space (i32.const 0x09)) (i32.const 1))
  (call $assert_i32 (call $std.ascii.is_space (i32.const 0x0d)) (i32.const 1))
  (call $assert_i32 (call $std.ascii.is_space (i32.const 0x08)) (i32.const 0))
  (call $assert_i32 (call $std.ascii.is_space (i32.const 0x0e)) (i32.const 0))
  (call $assert_i32 (call $std.ascii.is_space (i32.const 0x21)) (i32.const 0))
  (call $assert_i32 (call $std.ascii.is_space (i32.const 0x00)) (i32.const 0))
  (call $assert_i32 (call $std.ascii.is_space (i32.const 0xa0)) (i32.const 0)))

(func (export "test_split_next")
  (local $next i32)
  (call $assert_piece (call $std.str.split_next "a,b,c" "," (i32.const 0)) "a" (i32.const 2))
  (call $assert_piece (call $std.str.split_next "a,b,c" "," (i32.const 2)) "b" (i32.const 4))
  (call $assert_piece (call $std.str.split_next "a,b,c" "," (i32.const 4)) "c" (i32.const -1))
  ;; A separator of several bytes.
  (call $assert_piece (call $std.str.split_next "a::b" "::" (i32.const 0)) "a" (i32.const 3))
  (call $assert_piece (call $std.str.split_next "a::b" "::" (i32.const 3)) "b" (i32.const -1))
  ;; No separator at all: the whole string, the last piece.
  (call $assert_piece (call $std.str.split_next "abc" "," (i32.const 0)) "abc" (i32.const -1)))

(func (export "test_split_next_empty_pieces")
  ;; Adjacent separators make an empty piece between them.
  (call $assert_piece (call $std.str.split_next "a,,b" "," (i32.const 0)) "a" (i32.const 2))
  (call $assert_piece (call $std.str.split_next "a,,b" "," (i32.const 2)) "" (i32.const 3))
  (call $assert_piece (call $std.str.split_next "a,,b" "," (i32.const 3)) "b" (i32.const -1))
  ;; A leading separator makes an empty first piece...
  (call $assert_piece (call $std.str.split_next ",a" "," (i32.const 0)) "" (i32.const 1))
  (call $assert_piece (call $std.str.split_next ",a" "," (i32.const 1)) "a" (i32.const -1))
  ;; ...and a trailing one an empty last piece.
  (call $assert_piece (call $std.str.split_next "a," "," (i32.const 0)) "a" (i32.const 2))
  (call $assert_piece (call $std.str.split_next "a," "," (i32.const 2)) "" (i32.const -1))
  ;; "" is one empty piece; "," two.
  (call $assert_piece (call $std.str.split_next "" "," (i32.const 0)) "" (i32.const -1))
  (call $assert_piece (call $std.str.split_next "," "," (i32.const 0)) "" (i32.const 1))
  (call $assert_piece (call $std.str.split_next "," "," (i32.const 1)) "" (i32.const -1)))

(func (export "test_split_next_edges")
  ;; An empty separator gives the rest and -1.
  (call $assert_piece (call $std.str.split_next "abc" "" (i32.const 0)) "abc" (i32.const -1))
  (call $assert_piece (call $std.str.split_next "abc" "" (i32.const 1)) "bc" (i32.const -1))
  (call $assert_piece (call $std.str.split_next "" "" (i32.const 0)) "" (i32.const -1))
  ;; A position past the end: an empty last piece.
  (call $assert_piece (call $std.str.split_next "a,b" "," (i32.const 9)) "" (i32.const -1))
  (call $assert_piece (call $std.str.split_next "a,b" "," (i32.const -1)) "" (i32.const -1))
  ;; A separator longer than what is left.
  (call $assert_piece (call $std.str.split_next "a," ",,," (i32.const 0)) "a," (i32.const -1)))

;; The idiom from the README: every piece of a string, joined back with `|`.
(func (export "test_split_loop")
  (local $pos i32)
  (local $piece i32)
  (local $out i32)
  (local.set $out "")
  (block $done
    (loop $each
      (call $std.str.split_next ",one,,two three," "," (local.get $pos))
      (local.set $pos)
      (local.set $piece)
      (local.set $out (call $std.str.concat (local.get $out) (local.get $piece)))
      (local.set $out (call $std.str.concat (local.get $out) "|"))
      (br_if $done (i32.eq (local.get $pos) (i32.const -1)))
      (br $each)))
  (call $assert_str (local.get $out) "|one||two three||"))

(func (export "test_words_next")
  (call $assert_piece (call $std.str.words_next "one two" (i32.const 0)) "one" (i32.const 3))
  (call $assert_piece (call $std.str.words_next "one two" (i32.const 3)) "two" (i32.const 7))
  (call $assert_piece (call $std.str.words_next "one two" (i32.const 7)) (i32.const 0) (i32.const -1))
  ;; Any run of ASCII whitespace separates; leading and trailing is skipped.
  (call $assert_piece
    (call $std.str.words_next " \t\n one\r\n\0b\0c two  " (i32.const 0))
    "one" (i32.const 7))
  (call $assert_piece
    (call $std.str.words_next " \t\n one\r\n\0b\0c two  " (i32.const 7))
    "two" (i32.const 15))
  (call $assert_piece
    (call $std.str.words_next " \t\n one\r\n\0b\0c two  " (i32.const 15))
    (i32.const 0) (i32.const -1))
  ;; From the middle of a word: the rest of it.
  (call $assert_piece (call $std.str.words_next "hello" (i32.const 2)) "llo" (i32.const 5))
  ;; Non-ASCII bytes belong to words.
  (call $assert_piece (call $std.str.words_next "\u{a0}caf\u{e9} x" (i32.const 0)) "\u{a0}caf\u{e9}" (i32.const 7)))

(func (export "test_words_next_nothing_left")
  (call $assert_piece (call $std.str.words_next "" (i32.const 0)) (i32.const 0) (i32.const -1))
  (call $assert_piece (call $std.str.words_next " " (i32.const 0)) (i32.const 0) (i32.const -1))
  (call $assert_piece (call $std.str.words_next " \t\r\n\0b\0c " (i32.const 0)) (i32.const 0) (i32.const -1))
  (call $assert_piece (call $std.str.words_next "word" (i32.const 4)) (i32.const 0) (i32.const -1))
  (call $assert_piece (call $std.str.words_next "word" (i32.const 99)) (i32.const 0) (i32.const -1))
  (call $assert_piece (call $std.str.words_next "word" (i32.const -1)) (i32.const 0) (i32.const -1)))

;; The idiom from the README: count the words and join them with `_`.
(func (export "test_words_loop")
  (local $pos i32)
  (local $word i32)
  (local $count i32)
  (local $out i32)
  (local.set $out "")
  (block $done
    (loop $each
      (call $std.str.words_next "  the quick\tbrown\n\nfox " (local.get $pos))
      (local.set $pos)
      (local.set $word)
      (br_if $done (i32.eqz (local.get $word)))
      (local.set $count (i32.add (local.get $count) (i32.const 1)))
      (local.set $out (call $std.str.concat (local.get $out) (local.get $word)))
      (local.set $out (call $std.str.concat (local.get $out) "_"))
      (br $each)))
  (call $assert_i32 (local.get $count) (i32.const 4))
  (call $assert_str (local.get $out) "the_quick_brown_fox_"))

;; No function reads past a string's length, whatever follows it in memory.
(func (export "test_reads_stop_at_the_length")
  (local $ab i32)
  (local.set $ab (call $truncated "abz" (i32.const 2)))
  (call $assert_i32 (call $std.str.len (local.get $ab)) (i32.const 2))
  (call $assert_i32 (call $std.str.eq (local.get $ab) "ab") (i32.const 1))
  (call $assert_i32 (call $std.str.compare (local.get $ab) "abc") (i32.const -1))
  (call $assert_i32 (call $std.str.compare "abc" (local.get $ab)) (i32.const 1))
  (call $assert_i32 (call $std.str.compare (local.get $ab) "ab") (i32.const 0))
  (call $assert_str (call $std.str.concat (local.get $ab) (local.get $ab)) "abab")
  (call $assert_str (call $std.str.slice (local.get $ab) (i32.const 0) (i32.const 3)) "ab")
  (call $assert_i32 (call $std.str.find (local.get $ab) "z" (i32.const 0)) (i32.const -1))
  (call $assert_i32 (call $std.str.find (local.get $ab) "bz" (i32.const 0)) (i32.const -1))
  (call $assert_i32 (call $std.str.find "abc" (local.get $ab) (i32.const 0)) (i32.const 0))
  (call $assert_i32 (call $std.str.starts_with (local.get $ab) "abz") (i32.const 0))
  (call $assert_i32 (call $std.str.ends_with (local.get $ab) "z") (i32.const 0))
  (call $assert_i32 (call $std.str.ends_with (local.get $ab) "ab") (i32.const 1))
  (call $assert_str (call $std.str.to_upper (local.get $ab)) "AB")
  (call $assert_str (call $std.str.to_lower (call $truncated "ABZ" (i32.const 2))) "ab")
  (call $assert_str (call $std.str.trim (call $truncated " a  b" (i32.const 3))) "a")
  (call $assert_str (call $std.str.trim (call $truncated "  x" (i32.const 2))) "")
  (call $assert_piece (call $std.str.split_next (call $truncated "a,b" (i32.const 1)) "," (i32.const 0))
    "a" (i32.const -1))
  (call $assert_piece (call $std.str.split_next (local.get $ab) "bz" (i32.const 0))
    "ab" (i32.const -1))
  (call $assert_piece (call $std.str.words_next (call $truncated "ab cd" (i32.const 3)) (i32.const 2))
    (i32.const 0) (i32.const -1))
  (call $assert_piece (call $std.str.words_next (call $truncated "abcd" (i32.const 2)) (i32.const 0))
    "ab" (i32.const 2)))

(func (export "test_contains")
  (call $assert_i32 (call $std.str.contains "hello" "ell") (i32.const 1))
  (call $assert_i32 (call $std.str.contains "hello" "hello") (i32.const 1))
  (call $assert_i32 (call $std.str.contains "hello" "") (i32.const 1))
  (call $assert_i32 (call $std.str.contains "" "") (i32.const 1))
  (call $assert_i32 (call $std.str.contains "hello" "hello!") (i32.const 0))
  (call $assert_i32 (call $std.str.contains "hello" "L") (i32.const 0))
  (call $assert_i32 (call $std.str.contains "" "a") (i32.const 0)))

(func (export "test_replace")
  (call $assert_str (call $std.str.replace "a-b-c" "-" " + ") "a + b + c")
  (call $assert_str (call $std.str.replace "aaaa" "aa" "b") "bb")
  (call $assert_str (call $std.str.replace "aaa" "aa" "b") "ba")
  (call $assert_str (call $std.str.replace "abc" "x" "y") "abc")
  (call $assert_str (call $std.str.replace "abc" "abc" "") "")
  (call $assert_str (call $std.str.replace "" "a" "b") "")
  (call $assert_str (call $std.str.replace "café café" "é" "e") "cafe cafe")
  ;; The replacement is not searched again.
  (call $assert_str (call $std.str.replace "ab" "a" "aa") "aab"))

;; An empty pattern matches at every character boundary, as in Rust.
(func (export "test_replace_empty_pattern")
  (call $assert_str (call $std.str.replace "ab" "" "-") "-a-b-")
  (call $assert_str (call $std.str.replace "" "" "-") "-")
  (call $assert_str (call $std.str.replace "é!" "" "|") "|é|!|"))

(func (export "test_replace_makes_a_new_string")
  (local $s i32)
  (local.set $s "abc")
  (call $assert_i32 (i32.eq (call $std.str.replace (local.get $s) "x" "y") (local.get $s)) (i32.const 0))
  (call $assert_str (local.get $s) "abc"))

(func (export "test_split_all")
  (local $seq i32)
  (local.set $seq (call $std.str.split_all "a,,b" ","))
  (call $assert_bytes (local.get $seq) (i32.const 18)
    "\0e\00\00\00\01\00\00\00a\00\00\00\00\01\00\00\00b")
  (call $assert_bytes (call $std.str.split_all "" ",") (i32.const 8) "\04\00\00\00\00\00\00\00")
  (call $assert_bytes (call $std.str.split_all "ab" "") (i32.const 10) "\06\00\00\00\02\00\00\00ab")
  (call $assert_bytes (call $std.str.split_all "x--" "--") (i32.const 13)
    "\09\00\00\00\01\00\00\00x\00\00\00\00"))

(func (export "test_join")
  (call $assert_str (call $std.str.join (call $std.str.split_all "a b c" " ") ", ") "a, b, c")
  (call $assert_str (call $std.str.join (call $std.str.split_all "one" " ") ", ") "one")
  (call $assert_str (call $std.str.join (call $std.str.split_all "a,,b" ",") "") "ab")
  (call $assert_str (call $std.str.join "" "-") "")
  ;; An item claiming more than the sequence holds ends the walk.
  (call $assert_str (call $std.str.join "\01\00\00\00a\09\00\00\00xy" "-") "a"))
