;; echo: print the arguments on one line, separated by spaces.
;;
;;   tape run examples/echo/echo.wat hello from the sandbox
;;
;; Every argument arrives as a string in guest memory: `$core.argc` counts
;; them and `$core.arg N` returns a pointer to the N-th and a status.
;; `$std.str.concat` comes from the standard library, pulled into the
;; program because it is called.
(func $run (result i32)
  (local $line i32) (local $i i32)
  (local.set $line "")
  (block $done
    (loop $each
      (br_if $done (i32.ge_u (local.get $i) (call $core.argc)))
      ;; A space before every argument but the first.
      (if (local.get $i)
        (then (local.set $line (call $std.str.concat (local.get $line) " "))))
      ;; Locals may be declared where they are first needed.
      (local $arg i32) (local $status i32)
      ;; Two results: the pointer, then the status on top of the stack.
      (call $core.arg (local.get $i))
      (local.set $status)
      (local.set $arg)
      (check $status)  ;; return the status if it is not 0
      (local.set $line (call $std.str.concat (local.get $line) (local.get $arg)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
  ;; Hand the line over as the result (or return why the host refused it).
  (resv $line)
  (i32.const 0))
