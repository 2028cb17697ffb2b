;; typo: a program with two mistakes in it, on purpose, to show what Tape
;; says about them. It does not compile: `tape run` prints every error at
;; its line and column, with what to do about it, and exits with code 3.
;;
;;   tape run examples/typo/typo.wat
;;
;; The fixes: `$log.write` and `$std.str.len`.
(func $run (result i32)
  (local $name i32)
  (local.set $name "Ada")
  (drop (call $log.wirte (i32.const 2) (local.get $name)))
  (resv (call $std.i32.to_str (call $std.str.length (local.get $name))))
  (i32.const 0))
