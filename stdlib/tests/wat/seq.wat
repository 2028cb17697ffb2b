;; Sequences: walking, counting, indexing and sorting them in place.

;; The walk a program makes over what kv.list, json.keys or fs.list returns.
(func (export "test_next_walks_a_sequence_of_strings")
  (local $r i32)
  (local.set $r (call $std.wire.reader (call $std.str.split_all "a,bc," ",")))
  (call $assert_str (call $std.seq.next (local.get $r)) "a")
  (call $assert_str (call $std.seq.next (local.get $r)) "bc")
  (call $assert_str (call $std.seq.next (local.get $r)) "")
  (call $assert_str (call $std.seq.next (local.get $r)) (i32.const 0))
  (call $assert_str (call $std.seq.next (local.get $r)) (i32.const 0))
  ;; An empty sequence has nothing.
  (call $assert_str (call $std.seq.next (call $std.wire.reader "")) (i32.const 0)))

(func (export "test_count")
  (call $assert_i32 (call $std.seq.count (call $std.str.split_all "a b c" " ")) (i32.const 3))
  (call $assert_i32 (call $std.seq.count "") (i32.const 0))
  ;; The second item claims 9 bytes, and 2 are there.
  (call $assert_i32 (call $std.seq.count "\01\00\00\00a\09\00\00\00xy") (i32.const -1))
  (call $assert_i32 (call $std.seq.count "\01\00\00\00a\00\00") (i32.const -1)))

(func (export "test_get")
  (local $seq i32)
  (local.set $seq (call $std.str.split_all "zero one two" " "))
  (call $assert_str (call $std.seq.get (local.get $seq) (i32.const 0)) "zero")
  (call $assert_str (call $std.seq.get (local.get $seq) (i32.const 2)) "two")
  (call $assert_str (call $std.seq.get (local.get $seq) (i32.const 3)) (i32.const 0))
  (call $assert_str (call $std.seq.get (local.get $seq) (i32.const -1)) (i32.const 0)))

(func (export "test_sort_str")
  (local $seq i32)
  (local.set $seq (call $std.str.split_all "pear,fig,apple,fig,,banana,Zebra,é" ","))
  (call $assert_i32 (call $std.seq.sort_str (local.get $seq)) (i32.const 0))
  (call $assert_str (call $std.str.join (local.get $seq) ",") ",Zebra,apple,banana,fig,fig,pear,é")
  ;; Sorted already, one item, none.
  (call $assert_i32 (call $std.seq.sort_str (local.get $seq)) (i32.const 0))
  (call $assert_str (call $std.str.join (local.get $seq) ",") ",Zebra,apple,banana,fig,fig,pear,é")
  (local.set $seq (call $std.str.split_all "one" ","))
  (call $assert_i32 (call $std.seq.sort_str (local.get $seq)) (i32.const 0))
  (call $assert_str (call $std.str.join (local.get $seq) ",") "one")
  (call $assert_i32 (call $std.seq.sort_str "") (i32.const 0))
  ;; Prefixes first.
  (local.set $seq (call $std.str.split_all "abc ab b a" " "))
  (call $assert_i32 (call $std.seq.sort_str (local.get $seq)) (i32.const 0))
  (call $assert_str (call $std.str.join (local.get $seq) " ") "a ab abc b"))

;; A malformed sequence is refused whole: status 1, nothing moved.
(func (export "test_sort_str_refuses_a_malformed_sequence")
  (local $seq i32)
  (local.set $seq "\01\00\00\00b\01\00\00\00a\09\00\00\00xy")
  (call $assert_i32 (call $std.seq.sort_str (local.get $seq)) (i32.const 1))
  (call $assert_str (local.get $seq) "\01\00\00\00b\01\00\00\00a\09\00\00\00xy"))

(func (export "test_sort_i32")
  (local $seq i32)
  (local $b i32)
  (local $i i32)
  (local $x i32)
  ;; 1,000 numbers from a linear congruential sequence, signed.
  (local.set $b (call $std.wire.begin (i32.const 0)))
  (local.set $x (i32.const 12345))
  (block $done
    (loop $each
      (br_if $done (i32.ge_u (local.get $i) (i32.const 1000)))
      (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 1103515245)) (i32.const 12345)))
      (call $assert_i32 (call $std.wire.push_i32 (local.get $b) (local.get $x)) (i32.const 0))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
  (local.set $seq (call $std.wire.finish (local.get $b)))
  (call $assert_i32 (call $std.seq.sort_i32 (local.get $seq)) (i32.const 0))
  (local.set $i (i32.const 1))
  (block $done
    (loop $each
      (br_if $done (i32.ge_u (local.get $i) (i32.const 1000)))
      (call $assert_i32
        (i32.le_s
          (i32.load (i32.add (local.get $seq) (i32.shl (local.get $i) (i32.const 2))))
          (i32.load offset=4 (i32.add (local.get $seq) (i32.shl (local.get $i) (i32.const 2)))))
        (i32.const 1))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
  ;; A small one, exactly; and one whose payload is not whole i32.
  (local.set $seq "\03\00\00\00\ff\ff\ff\ff\00\00\00\80\01\00\00\00")
  (call $assert_i32 (call $std.seq.sort_i32 (local.get $seq)) (i32.const 0))
  (call $assert_str (local.get $seq) "\00\00\00\80\ff\ff\ff\ff\01\00\00\00\03\00\00\00")
  (call $assert_i32 (call $std.seq.sort_i32 "abcde") (i32.const 1))
  (call $assert_i32 (call $std.seq.sort_i32 "") (i32.const 0)))

(func (export "test_sort_i64")
  (local $seq i32)
  (local.set $seq "\05\00\00\00\00\00\00\00\00\00\00\00\00\00\00\80\ff\ff\ff\ff\ff\ff\ff\ff\05\00\00\00\00\00\00\00")
  (call $assert_i32 (call $std.seq.sort_i64 (local.get $seq)) (i32.const 0))
  (call $assert_str (local.get $seq)
    "\00\00\00\00\00\00\00\80\ff\ff\ff\ff\ff\ff\ff\ff\05\00\00\00\00\00\00\00\05\00\00\00\00\00\00\00")
  (call $assert_i32 (call $std.seq.sort_i64 "abcd") (i32.const 1)))

;; The sort's parts on raw arrays: heapsort, and the comparison, swap and
;; sift-down it is made of.
(func (export "test_heapsort_parts")
  (local $a i32)
  (local.set $a (i32.add "\05\00\00\00\01\00\00\00\04\00\00\00\02\00\00\00\03\00\00\00" (i32.const 4)))
  (call $assert_i32 (call $std.seq.less (local.get $a) (i32.const 1) (i32.const 0) (i32.const 0)) (i32.const 1))
  (call $assert_i32 (call $std.seq.less (local.get $a) (i32.const 0) (i32.const 1) (i32.const 0)) (i32.const 0))
  (call $assert_i32 (call $std.seq.less (local.get $a) (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const 0))
  (call $std.seq.swap (local.get $a) (i32.const 0) (i32.const 4) (i32.const 0))
  (call $assert_bytes (local.get $a) (i32.const 20)
    "\03\00\00\00\01\00\00\00\04\00\00\00\02\00\00\00\05\00\00\00")
  ;; 3 at the root of the heap of the first 3 sinks below its larger child, 4.
  (call $std.seq.sift (local.get $a) (i32.const 0) (i32.const 3) (i32.const 0))
  (call $assert_bytes (local.get $a) (i32.const 20)
    "\04\00\00\00\01\00\00\00\03\00\00\00\02\00\00\00\05\00\00\00")
  (call $std.seq.heapsort (local.get $a) (i32.const 5) (i32.const 0))
  (call $assert_bytes (local.get $a) (i32.const 20)
    "\01\00\00\00\02\00\00\00\03\00\00\00\04\00\00\00\05\00\00\00")
  ;; Kind 2: pointers, ordered by the strings they point at.
  (local.set $a (call $core.alloc (i32.const 12)))
  (i32.store (local.get $a) "b")
  (i32.store offset=4 (local.get $a) "c")
  (i32.store offset=8 (local.get $a) "a")
  (call $std.seq.heapsort (local.get $a) (i32.const 3) (i32.const 2))
  (call $assert_str (i32.load (local.get $a)) "a")
  (call $assert_str (i32.load offset=4 (local.get $a)) "b")
  (call $assert_str (i32.load offset=8 (local.get $a)) "c"))
