;; greet: greet someone, as many times as asked, shouting if asked to.
;;
;;   tape run examples/greet/greet.wat Ada 2 true
;;   tape run examples/greet/greet.wat --help
;;   tape run --args-json '{"name": "Ada", "times": 2}' examples/greet/greet.wat
;;
;; The program declares its arguments: a name, a type and one line each,
;; and a default for the optional ones. So `tape run` converts the words to
;; those types (`2` is the number 2, `true` a flag) and refuses a wrong one
;; before the program runs, with this program's usage; `tape inspect`
;; shows the usage, and `tape inspect --json` a JSON Schema of them for
;; agents, which pass them by name with --args-json.
(arg $name str "who to greet")
(arg $times i32 "how many times" (default 1))
(arg $shout bool "greet in capitals" (default false))

(func $run (result i32)
  (local $line i32)
  ;; `argv` by name: `$name` is a pointer to the text, `$times` the number
  ;; itself, `$shout` 1 or 0.
  (argv $name)
  (argv $times)
  (argv $shout)
  (local.set $line
    (call $std.str.concat (call $std.str.concat "Hello, " (local.get $name)) "!"))
  (if (local.get $shout)
    (then (local.set $line (call $std.str.to_upper (local.get $line)))))
  (block $done
    (loop $again
      (br_if $done (i32.le_s (local.get $times) (i32.const 0)))
      (resv $line)
      (local.set $times (i32.sub (local.get $times) (i32.const 1)))
      (br $again)))
  (i32.const 0))
