;; In a `(module …)`, declarations are its fields; in an annotation, `arg`
;; is not Tape's and stays as written.
(module $greeter
  (@custom "note" "(arg $x str \"\")")
  (@tape.example (arg $nope str "kept"))
  (func $run (result i32)
    (argv $who)
    (resv $who)
    (i32.const 0))
  (arg $who str "who to greet" (default "world")))
