;; fetch: download a page and keep it in `kv` under its path, then list
;; every page kept so far.
;;
;;   python3 -m http.server 8000 --bind 127.0.0.1 --directory examples   # elsewhere
;;   tape run examples/fetch/fetch.wat http://127.0.0.1:8000/fetch/pages/hello.txt
;;
;; tape.toml allows that one origin and keeps the pages in pages.redb; a
;; URL anywhere else is refused with status 2 (access denied).
(func $run (result i32)
  (local $status i32) (local $body i32) (local $key i32) (local $keys i32)
  (local $at i32) (local $end i32)
  (argv 0 $url)
  ;; The body of a 2xx response. A 404 is status 3 (not found); any
  ;; other answer, or no answer, is status 6 (I/O failure), and the
  ;; reason says which; `http.get` would give the whole response.
  (call $http.get_body (local.get $url))
  (local.set $status)
  (local.set $body)
  (check $status)
  (local.set $key (call $std.str.concat "page:" (call $path (local.get $url))))
  (check (call $kv.set (local.get $key) (local.get $body)))
  (resv (call $std.str.concat
    (call $std.str.concat "saved " (local.get $key))
    (call $std.str.concat
      (call $std.str.concat " (" (call $std.i32.to_str (call $std.str.len (local.get $body))))
      " bytes)")))

  ;; Every key with the prefix, sorted, this run's write included, as a
  ;; sequence of strings: `[u32 total bytes][u32 len][bytes][u32 len]…`.
  (call $kv.list "page:")
  (local.set $status)
  (local.set $keys)
  (check $status)
  (resv "pages kept:")
  (local.set $at (i32.add (local.get $keys) (i32.const 4)))
  (local.set $end (i32.add (local.get $at) (i32.load (local.get $keys))))
  (block $done
    (loop $each
      (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
      ;; Each element is a string in its own right.
      (resv (call $std.str.concat "  " (local.get $at)))
      (local.set $at (i32.add (local.get $at)
        (i32.add (i32.const 4) (i32.load (local.get $at)))))
      (br $each)))
  (i32.const 0))

;; The path of `$url`: from the first "/" after "://" (or "/" if none).
(func $path (param $url i32) (result i32)
  (local $at i32)
  (local.set $at (call $std.str.find (local.get $url) "://" (i32.const 0)))
  (if (i32.ne (local.get $at) (i32.const -1))
    (then (local.set $at (i32.add (local.get $at) (i32.const 3)))))
  (local.set $at (call $std.str.find (local.get $url) "/" (local.get $at)))
  (if (result i32) (i32.eq (local.get $at) (i32.const -1))
    (then "/")
    (else (call $std.str.slice (local.get $url) (local.get $at) (call $std.str.len (local.get $url))))))
