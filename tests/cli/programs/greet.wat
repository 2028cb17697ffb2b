;; Greets someone, as many times as asked: its arguments are declared, so
;; `tape run` converts and checks them before the run.
(arg $name str "who to greet")
(arg $times i32 "how many times" (default 1))
(func $run (result i32)
  (argv $name)
  (argv $times)
  (block $done
    (loop $again
      (br_if $done (i32.le_s (local.get $times) (i32.const 0)))
      (resv (call $std.str.concat "hello, " (local.get $name)))
      (local.set $times (i32.sub (local.get $times) (i32.const 1)))
      (br $again)))
  (i32.const 0))
