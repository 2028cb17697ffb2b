;; summarise: read a Markdown note from the granted directory and print
;; its title, its size and its open tasks (lines "- [ ] …").
;;
;;   tape run examples/summarise/summarise.wat weekly-sync.md
;;
;; tape.toml grants the directory notes/, read-only: the path is relative
;; to it, and a path that leads out of it (`../tape.toml`, `/etc/passwd`)
;; is refused with status 2 (access denied).
(func $run (result i32)
  (local $text i32) (local $status i32) (local $pos i32) (local $line i32)
  (local $title i32) (local $lines i32) (local $words i32) (local $open i32)
  (local $done i32)
  (argv 0 $name)
  ;; Log messages go to standard error, here at level 2 (info).
  (drop (call $log.write (i32.const 2) (call $std.str.concat "reading " (local.get $name))))
  (call $fs.read (local.get $name))
  (local.set $status)
  (local.set $text)
  (check $status)  ;; 3 (not found) for a file that is not there

  ;; First pass: the title (the first line, without its "# "), the lines,
  ;; and the tasks, open and done.
  (local.set $title "(untitled)")
  (block $end
    (loop $each
      (br_if $end (i32.eq (local.get $pos) (i32.const -1)))
      ;; The piece up to the next "\n", and where the next one starts (-1
      ;; after the last). The piece stays on the stack for `trim`.
      (call $std.str.split_next (local.get $text) "\n" (local.get $pos))
      (local.set $pos)
      (local.set $line (call $std.str.trim))
      ;; A text that ends in "\n" has no line after it.
      (br_if $end (i32.and (i32.eq (local.get $pos) (i32.const -1))
                           (i32.eqz (call $std.str.len (local.get $line)))))
      (local.set $lines (i32.add (local.get $lines) (i32.const 1)))
      (if (i32.and (i32.eq (local.get $lines) (i32.const 1))
                   (call $std.str.starts_with (local.get $line) "# "))
        (then (local.set $title (call $std.str.slice (local.get $line)
          (i32.const 2) (call $std.str.len (local.get $line))))))
      (if (call $std.str.starts_with (local.get $line) "- [ ] ")
        (then (local.set $open (i32.add (local.get $open) (i32.const 1)))))
      (if (call $std.str.starts_with (local.get $line) "- [x] ")
        (then (local.set $done (i32.add (local.get $done) (i32.const 1)))))
      (br $each)))
  ;; Words, all at once.
  (local.set $pos (i32.const 0))
  (block $end
    (loop $each
      (call $std.str.words_next (local.get $text) (local.get $pos))
      (local.set $pos)
      (drop) ;; the word itself: only the count matters
      (br_if $end (i32.eq (local.get $pos) (i32.const -1)))
      (local.set $words (i32.add (local.get $words) (i32.const 1)))
      (br $each)))

  (resv $title)
  (resv (call $join (call $std.i32.to_str (local.get $lines)) " lines, "
                    (call $std.i32.to_str (local.get $words)) " words"))
  (resv (call $join (call $std.i32.to_str (local.get $done)) " tasks done, "
                    (call $std.i32.to_str (local.get $open)) " open:"))

  ;; Second pass: print the open tasks.
  (local.set $pos (i32.const 0))
  (block $end
    (loop $each
      (br_if $end (i32.eq (local.get $pos) (i32.const -1)))
      (call $std.str.split_next (local.get $text) "\n" (local.get $pos))
      (local.set $pos)
      (local.set $line (call $std.str.trim))
      (if (call $std.str.starts_with (local.get $line) "- [ ] ")
        (then (resv (call $std.str.concat "  "
          (call $std.str.slice (local.get $line)
            (i32.const 6) (call $std.str.len (local.get $line)))))))
      (br $each)))
  (i32.const 0))

;; Four strings joined into one.
(func $join (param $a i32) (param $b i32) (param $c i32) (param $d i32) (result i32)
  (call $std.str.concat
    (call $std.str.concat (local.get $a) (local.get $b))
    (call $std.str.concat (local.get $c) (local.get $d))))
