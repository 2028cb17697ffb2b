;; counter: count this program's runs. The count lives in `kv`, which
;; tape.toml keeps in counter.redb beside this file, so it outlives the
;; run: each run prints one more than the last.
;;
;;   tape run examples/counter/counter.wat
;;
;; The count is stored as text ("1", "2", …), so the standard library
;; parses and formats it.
(func $run (result i32)
  (local $stored i32) (local $status i32) (local $count i32) (local $text i32)
  (call $kv.get "runs")
  (local.set $status)
  (local.set $stored)
  ;; Status 3 (not found) on the first run: the count starts at 0. Any
  ;; other failure ends the run with that status.
  (if (i32.ne (local.get $status) (i32.const 3))
    (then
      (check $status)
      ;; A kv value is `[len][bytes]`, the layout of a string.
      (call $std.i32.parse (local.get $stored))
      (local.set $status)
      (local.set $count)
      (check $status)))
  (local.set $count (i32.add (local.get $count) (i32.const 1)))
  (local.set $text (call $std.i32.to_str (local.get $count)))
  ;; Written when the run ends: a run that fails commits nothing.
  (check (call $kv.set "runs" (local.get $text)))
  (resv (call $std.str.concat "runs so far: " (local.get $text)))
  (i32.const 0))
