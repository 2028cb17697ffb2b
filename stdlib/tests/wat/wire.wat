;; Building wire values, byte by byte. Every `test_…` export is a test, run in
;; a fresh instance; the `$assert_…` functions are in tests/all/prelude.wat.
;; That the values decode as the Rust types they stand for is tested in
;; tests/all/wire.rs.

(func (export "test_alloc")
  (local $v i32)
  (local.set $v (call $std.wire.alloc (i32.const 3)))
  (call $assert_i32 (i32.load (local.get $v)) (i32.const 3))
  (i32.store8 offset=4 (local.get $v) (i32.const 0x61))
  (i32.store8 offset=5 (local.get $v) (i32.const 0x62))
  (i32.store8 offset=6 (local.get $v) (i32.const 0x63))
  (call $assert_str (local.get $v) "abc")
  (call $assert_str (call $std.wire.alloc (i32.const 0)) ""))

(func (export "test_bytes")
  (local $v i32)
  (local.set $v (call $std.wire.bytes (i32.add "hello" (i32.const 5)) (i32.const 4)))
  (call $assert_str (local.get $v) "ello")
  (call $assert_str (call $std.wire.bytes (i32.const 8) (i32.const 0)) "")
  ;; Any bytes, not only UTF-8.
  (local.set $v (call $std.wire.bytes (i32.add "\00\ff\80" (i32.const 4)) (i32.const 3)))
  (call $assert_bytes (local.get $v) (i32.const 7) "\03\00\00\00\00\ff\80"))

(func (export "test_i32s")
  (local $array i32)
  (local.set $array (call $core.alloc (i32.const 12)))
  (i32.store (local.get $array) (i32.const 1))
  (i32.store offset=4 (local.get $array) (i32.const -2))
  (i32.store offset=8 (local.get $array) (i32.const 0x01020304))
  (call $assert_bytes (call $std.wire.i32s (local.get $array) (i32.const 3)) (i32.const 16)
    "\0c\00\00\00\01\00\00\00\fe\ff\ff\ff\04\03\02\01")
  (call $assert_bytes (call $std.wire.i32s (local.get $array) (i32.const 0)) (i32.const 4)
    "\00\00\00\00"))

(func (export "test_strings")
  (local $ptrs i32)
  (local.set $ptrs (call $core.alloc (i32.const 12)))
  (i32.store (local.get $ptrs) "ab")
  (i32.store offset=4 (local.get $ptrs) "")
  (i32.store offset=8 (local.get $ptrs) "c")
  ;; [payload 15] [2]"ab" [0] [1]"c"
  (call $assert_bytes (call $std.wire.strings (local.get $ptrs) (i32.const 3)) (i32.const 19)
    "\0f\00\00\00\02\00\00\00ab\00\00\00\00\01\00\00\00c")
  (call $assert_bytes (call $std.wire.strings (local.get $ptrs) (i32.const 0)) (i32.const 4)
    "\00\00\00\00"))

(func (export "test_builder_numbers")
  (local $b i32)
  (local.set $b (call $std.wire.begin (i32.const 13)))
  (call $assert_i32 (call $std.wire.push_i32 (local.get $b) (i32.const -2)) (i32.const 0))
  (call $assert_i32 (call $std.wire.push_i64 (local.get $b) (i64.const 0x0102030405060708)) (i32.const 0))
  (call $assert_i32 (call $std.wire.push_u8 (local.get $b) (i32.const 0x1ff)) (i32.const 0))
  (call $assert_bytes (call $std.wire.finish (local.get $b)) (i32.const 17)
    "\0d\00\00\00\fe\ff\ff\ff\08\07\06\05\04\03\02\01\ff"))

(func (export "test_builder_empty")
  (call $assert_bytes (call $std.wire.finish (call $std.wire.begin (i32.const 0))) (i32.const 4)
    "\00\00\00\00")
  (call $assert_bytes (call $std.wire.finish (call $std.wire.begin (i32.const 64))) (i32.const 4)
    "\00\00\00\00"))

(func (export "test_builder_values")
  (local $b i32)
  (local $inner i32)
  ;; A nested builder, finished, then pushed whole into the outer one.
  (local.set $inner (call $std.wire.begin (i32.const 8)))
  (call $assert_i32 (call $std.wire.push_i32 (local.get $inner) (i32.const 7)) (i32.const 0))
  (local.set $inner (call $std.wire.finish (local.get $inner)))
  (local.set $b (call $std.wire.begin (i32.const 64)))
  (call $assert_i32 (call $std.wire.push_value (local.get $b) "hi") (i32.const 0))
  (call $assert_i32 (call $std.wire.push_value (local.get $b) (local.get $inner)) (i32.const 0))
  (call $assert_i32 (call $std.wire.push_value (local.get $b) "") (i32.const 0))
  (call $assert_bytes (call $std.wire.finish (local.get $b)) (i32.const 22)
    "\12\00\00\00\02\00\00\00hi\04\00\00\00\07\00\00\00\00\00\00\00"))

(func (export "test_builder_text")
  (local $b i32)
  (local.set $b (call $std.wire.begin (i32.const 32)))
  (call $assert_i32 (call $std.wire.push_text (local.get $b) "hello") (i32.const 0))
  (call $assert_i32 (call $std.wire.push_raw (local.get $b) (i32.add "xx, yy" (i32.const 6)) (i32.const 2)) (i32.const 0))
  (call $assert_i32 (call $std.wire.push_text (local.get $b) "") (i32.const 0))
  (call $assert_i32 (call $std.wire.push_raw (local.get $b) (i32.const 0) (i32.const 0)) (i32.const 0))
  (call $assert_i32 (call $std.wire.push_text (local.get $b) "world") (i32.const 0))
  (call $assert_str (call $std.wire.finish (local.get $b)) "hello, world"))

;; Past its capacity a builder grows, whatever the push, and keeps what it
;; held.
(func (export "test_builder_grows")
  (local $b i32)
  (local.set $b (call $std.wire.begin (i32.const 6)))
  (call $assert_i32 (call $std.wire.push_i32 (local.get $b) (i32.const 0x64636261)) (i32.const 0))
  (call $assert_i32 (call $std.wire.push_u8 (local.get $b) (i32.const 0x65)) (i32.const 0))
  (call $assert_i32 (call $std.wire.push_text (local.get $b) "fg") (i32.const 0))
  (call $assert_i32 (call $std.wire.push_i64 (local.get $b) (i64.const 0x6f6e6d6c6b6a6968)) (i32.const 0))
  (call $assert_i32 (call $std.wire.push_value (local.get $b) "") (i32.const 0))
  (call $assert_i32 (call $std.wire.push_raw (local.get $b) (i32.add "xyz" (i32.const 4)) (i32.const 3)) (i32.const 0))
  (call $assert_bytes (call $std.wire.finish (local.get $b)) (i32.const 26)
    "\16\00\00\00abcdefghijklmno\00\00\00\00xyz"))

(func (export "test_builder_with_no_capacity")
  (local $b i32)
  (local.set $b (call $std.wire.begin (i32.const 0)))
  (call $assert_str (call $std.wire.finish (local.get $b)) "")
  (local.set $b (call $std.wire.begin (i32.const 0)))
  (call $assert_i32 (call $std.wire.push_u8 (local.get $b) (i32.const 0x41)) (i32.const 0))
  (call $assert_str (call $std.wire.finish (local.get $b)) "A"))

;; Many small pushes: 10,000 of them, 4 bytes each, from no capacity at all.
(func (export "test_builder_grows_many_times")
  (local $b i32)
  (local $i i32)
  (local $v i32)
  (local.set $b (call $std.wire.begin (i32.const 0)))
  (block $done
    (loop $each
      (br_if $done (i32.ge_u (local.get $i) (i32.const 10000)))
      (call $assert_i32 (call $std.wire.push_i32 (local.get $b) (local.get $i)) (i32.const 0))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
  (local.set $v (call $std.wire.finish (local.get $b)))
  (call $assert_i32 (i32.load (local.get $v)) (i32.const 40000))
  (call $assert_i32 (i32.load offset=4 (local.get $v)) (i32.const 0))
  (call $assert_i32 (i32.load offset=40000 (local.get $v)) (i32.const 9999)))

;; A push that would take the payload past 4 GiB fails cleanly, without
;; wrapping, and leaves the builder as it was.
(func (export "test_builder_huge_pushes")
  (local $b i32)
  (local $fake i32)
  (local.set $b (call $std.wire.begin (i32.const 16)))
  (call $assert_i32 (call $std.wire.push_u8 (local.get $b) (i32.const 1)) (i32.const 0))
  (call $assert_i32 (call $std.wire.push_raw (local.get $b) (i32.const 8) (i32.const -1)) (i32.const 4))
  (call $assert_i32 (call $std.wire.reserve (local.get $b) (i32.const -1)) (i32.const 0))
  ;; A value whose prefix claims nearly 4 GiB: prefix and payload would wrap
  ;; to a few bytes.
  (local.set $fake (call $core.alloc (i32.const 4)))
  (i32.store (local.get $fake) (i32.const -1))
  (call $assert_i32 (call $std.wire.push_value (local.get $b) (local.get $fake)) (i32.const 4))
  (i32.store (local.get $fake) (i32.const -4))
  (call $assert_i32 (call $std.wire.push_value (local.get $b) (local.get $fake)) (i32.const 4))
  (call $assert_bytes (call $std.wire.finish (local.get $b)) (i32.const 5) "\01\00\00\00\01"))

(func (export "test_reserve")
  (local $b i32)
  (local $at i32)
  (local.set $b (call $std.wire.begin (i32.const 4)))
  (call $assert_i32 (call $std.wire.push_u8 (local.get $b) (i32.const 1)) (i32.const 0))
  ;; Room for 8 more grows the builder: write at the address given.
  (local.set $at (call $std.wire.reserve (local.get $b) (i32.const 8)))
  (f64.store (local.get $at) (f64.const 1.5))
  (call $assert_i32 (i32.eqz (call $std.wire.reserve (local.get $b) (i32.const 3))) (i32.const 0))
  (call $assert_bytes (call $std.wire.finish (local.get $b)) (i32.const 16)
    "\0c\00\00\00\01\00\00\00\00\00\00\f8\3f\00\00\00"))

(func (export "test_push_f64")
  (local $b i32)
  (local.set $b (call $std.wire.begin (i32.const 0)))
  (call $assert_i32 (call $std.wire.push_f64 (local.get $b) (f64.const -2)) (i32.const 0))
  (call $assert_bytes (call $std.wire.finish (local.get $b)) (i32.const 12)
    "\08\00\00\00\00\00\00\00\00\00\00\c0"))

;; A finished builder takes no more: later pushes fail and the finished value
;; stays as it was.
(func (export "test_no_push_after_finish")
  (local $b i32)
  (local $v i32)
  (local.set $b (call $std.wire.begin (i32.const 64)))
  (call $assert_i32 (call $std.wire.push_text (local.get $b) "done") (i32.const 0))
  (local.set $v (call $std.wire.finish (local.get $b)))
  (call $assert_i32 (call $std.wire.push_text (local.get $b) "!") (i32.const 4))
  (call $assert_i32 (call $std.wire.push_u8 (local.get $b) (i32.const 0)) (i32.const 4))
  (call $assert_str (local.get $v) "done")
  (call $assert_str (call $std.wire.finish (local.get $b)) "done"))

;; The README's struct example: { name: String, count: i32 }.
(func (export "test_builder_struct")
  (local $b i32)
  (local.set $b (call $std.wire.begin (i32.const 256)))
  (call $assert_i32 (call $std.wire.push_value (local.get $b) "tape") (i32.const 0))
  (call $assert_i32 (call $std.wire.push_i32 (local.get $b) (i32.const 3)) (i32.const 0))
  (call $assert_bytes (call $std.wire.finish (local.get $b)) (i32.const 16)
    "\0c\00\00\00\04\00\00\00tape\03\00\00\00"))
