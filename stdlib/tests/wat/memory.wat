;; The raw memory functions. Every `test_…` export is a test, run in a fresh
;; instance; the `$assert_…` functions are in tests/all/prelude.wat. Each test
;; works in a scratch buffer from `core.alloc`.

(func (export "test_copy")
  (local $buf i32)
  (local.set $buf (call $core.alloc (i32.const 32)))
  (call $std.mem.copy (local.get $buf) (i32.add "abcdef" (i32.const 4)) (i32.const 6))
  (call $assert_bytes (local.get $buf) (i32.const 6) "abcdef")
  ;; Zero bytes: nothing changes.
  (call $std.mem.copy (local.get $buf) (i32.add "xyz" (i32.const 4)) (i32.const 0))
  (call $assert_bytes (local.get $buf) (i32.const 6) "abcdef"))

(func (export "test_copy_overlapping_forward")
  (local $buf i32)
  (local.set $buf (call $core.alloc (i32.const 32)))
  (call $std.mem.copy (local.get $buf) (i32.add "abcdefgh" (i32.const 4)) (i32.const 8))
  ;; Destination after the source, overlapping: a naive forward loop would
  ;; smear "a" along.
  (call $std.mem.copy (i32.add (local.get $buf) (i32.const 2)) (local.get $buf) (i32.const 6))
  (call $assert_bytes (local.get $buf) (i32.const 8) "ababcdef"))

(func (export "test_copy_overlapping_backward")
  (local $buf i32)
  (local.set $buf (call $core.alloc (i32.const 32)))
  (call $std.mem.copy (local.get $buf) (i32.add "abcdefgh" (i32.const 4)) (i32.const 8))
  ;; Destination before the source, overlapping.
  (call $std.mem.copy (local.get $buf) (i32.add (local.get $buf) (i32.const 3)) (i32.const 5))
  (call $assert_bytes (local.get $buf) (i32.const 8) "defghfgh")
  ;; Onto itself.
  (call $std.mem.copy (local.get $buf) (local.get $buf) (i32.const 8))
  (call $assert_bytes (local.get $buf) (i32.const 8) "defghfgh"))

(func (export "test_fill")
  (local $buf i32)
  (local.set $buf (call $core.alloc (i32.const 32)))
  (call $std.mem.fill (local.get $buf) (i32.const 0x2d) (i32.const 5))
  (call $assert_bytes (local.get $buf) (i32.const 6) "-----\00")
  ;; Only the low 8 bits of the byte count.
  (call $std.mem.fill (i32.add (local.get $buf) (i32.const 1)) (i32.const 0x1241) (i32.const 2))
  (call $assert_bytes (local.get $buf) (i32.const 6) "-AA--\00")
  (call $std.mem.fill (local.get $buf) (i32.const 0x7a) (i32.const 0))
  (call $assert_bytes (local.get $buf) (i32.const 6) "-AA--\00"))

(func (export "test_compare")
  (local $a i32)
  (local $b i32)
  (call $assert_i32 (call $std.mem.compare "abc" "abd" (i32.const 0)) (i32.const 0))
  (local.set $a (i32.add "abcdefghijklmnopq" (i32.const 4)))
  (local.set $b (i32.add "abcdefghijklmnopr" (i32.const 4)))
  (call $assert_i32 (call $std.mem.compare (local.get $a) (local.get $b) (i32.const 16)) (i32.const 0))
  (call $assert_i32 (call $std.mem.compare (local.get $a) (local.get $b) (i32.const 17)) (i32.const -1))
  (call $assert_i32 (call $std.mem.compare (local.get $b) (local.get $a) (i32.const 17)) (i32.const 1))
  (call $assert_i32 (call $std.mem.compare (local.get $a) (local.get $a) (i32.const 17)) (i32.const 0))
  ;; The first differing byte decides, wherever it is in an 8-byte word.
  (call $assert_i32
    (call $std.mem.compare
      (i32.add "a\00zzzzzzzzz" (i32.const 4)) (i32.add "a\01aaaaaaaaa" (i32.const 4)) (i32.const 11))
    (i32.const -1))
  (call $assert_i32
    (call $std.mem.compare
      (i32.add "0123456\ff89" (i32.const 4)) (i32.add "0123456\0099" (i32.const 4)) (i32.const 10))
    (i32.const 1))
  ;; Unsigned: 0x80 sorts after 0x7f, 0xff after 0x00.
  (call $assert_i32
    (call $std.mem.compare (i32.add "\80" (i32.const 4)) (i32.add "\7f" (i32.const 4)) (i32.const 1))
    (i32.const 1))
  (call $assert_i32
    (call $std.mem.compare (i32.add "\00" (i32.const 4)) (i32.add "\ff" (i32.const 4)) (i32.const 1))
    (i32.const -1)))

;; Every length from 0 to 40 with the difference at every position: the
;; word-at-a-time loop and the byte loop after it agree.
(func (export "test_compare_every_position")
  (local $a i32)
  (local $b i32)
  (local $len i32)
  (local $at i32)
  (local.set $a (call $core.alloc (i32.const 40)))
  (local.set $b (call $core.alloc (i32.const 40)))
  (call $std.mem.fill (local.get $a) (i32.const 0x55) (i32.const 40))
  (call $std.mem.fill (local.get $b) (i32.const 0x55) (i32.const 40))
  (block $lengths_done
    (loop $lengths
      (br_if $lengths_done (i32.gt_u (local.get $len) (i32.const 40)))
      (call $assert_i32 (call $std.mem.compare (local.get $a) (local.get $b) (local.get $len)) (i32.const 0))
      (local.set $at (i32.const 0))
      (block $positions_done
        (loop $positions
          (br_if $positions_done (i32.ge_u (local.get $at) (local.get $len)))
          (i32.store8 (i32.add (local.get $b) (local.get $at)) (i32.const 0x56))
          (call $assert_i32 (call $std.mem.compare (local.get $a) (local.get $b) (local.get $len)) (i32.const -1))
          (call $assert_i32 (call $std.mem.compare (local.get $b) (local.get $a) (local.get $len)) (i32.const 1))
          ;; A difference past the length does not count.
          (call $assert_i32 (call $std.mem.compare (local.get $a) (local.get $b) (local.get $at)) (i32.const 0))
          (i32.store8 (i32.add (local.get $b) (local.get $at)) (i32.const 0x55))
          (local.set $at (i32.add (local.get $at) (i32.const 1)))
          (br $positions)))
      (local.set $len (i32.add (local.get $len) (i32.const 1)))
      (br $lengths))))
