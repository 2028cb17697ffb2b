;; repos: ask a GitHub-style API for a user's repositories and print the
;; fields that matter from its JSON reply: name, language, stars, license.
;;
;;   python3 -m http.server 8000 --bind 127.0.0.1 --directory examples   # elsewhere
;;   tape run examples/repos/repos.wat http://127.0.0.1:8000/repos/api/users/ada/repos.json
;;
;; The `json` capability parses the reply on the host side; the program
;; reads it by JSON Pointer paths ("/name", "/license/key").
(func $run (result i32)
  (local $status i32) (local $body i32) (local $doc i32) (local $count i32)
  (local $i i32) (local $repo i32) (local $stars i64) (local $total i64)
  (local $line i32) (local $reply i32) (local $code i32)
  (argv 0 $url)
  ;; The whole response, with headers of our own ("Name: value" lines).
  (call $http.get (local.get $url) "Accept: application/json")
  (local.set $status)
  (local.set $reply)
  (check $status)
  ;; The reply is {status: u32, headers: seq, body: bytes}: the HTTP
  ;; status at offset 4, the headers' size at 8, the body after them.
  (local.set $code (i32.load offset=4 (local.get $reply)))
  (if (i32.ne (local.get $code) (i32.const 200))
    (then
      (drop (call $log.write (i32.const 0)
        (call $std.str.concat "the API answered HTTP " (call $std.i32.to_str (local.get $code)))))
      (return (i32.const 6))))  ;; I/O failure
  (local.set $body (i32.add (i32.add (local.get $reply) (i32.const 12))
                            (i32.load offset=8 (local.get $reply))))
  ;; A handle to the parsed document; 1 (invalid argument) if it is not JSON.
  (call $json.parse (local.get $body))
  (local.set $status)
  (local.set $doc)
  (check $status)
  ;; The reply is an array, "" its own path.
  (call $json.len (local.get $doc) "")
  (local.set $status)
  (local.set $count)
  (check $status)
  (block $done
    (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
      ;; A handle to element i; paths below are relative to it.
      (call $json.item (local.get $doc) "" (local.get $i))
      (local.set $status)
      (local.set $repo)
      (check $status)
      (call $json.i64 (local.get $repo) "/stargazers_count")
      (local.set $status)
      (local.set $stars)
      (check $status)
      (local.set $total (i64.add (local.get $total) (local.get $stars)))
      ;; "analytical-engine (Rust, MIT License): 1843 stars"
      (local.set $line (call $std.str.concat (call $text (local.get $repo) "/name") " ("))
      (local.set $line (call $std.str.concat (local.get $line) (call $text (local.get $repo) "/language")))
      (local.set $line (call $std.str.concat (local.get $line) ", "))
      (local.set $line (call $std.str.concat (local.get $line) (call $text (local.get $repo) "/license/name")))
      (local.set $line (call $std.str.concat (local.get $line) "): "))
      (local.set $line (call $std.str.concat (local.get $line) (call $std.i64.to_str (local.get $stars))))
      (resv (call $std.str.concat (local.get $line) " stars"))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
  (resv (call $std.str.concat
    (call $std.str.concat (call $std.i32.to_str (local.get $count)) " repositories, ")
    (call $std.str.concat (call $std.i64.to_str (local.get $total)) " stars in all")))
  (i32.const 0))

;; The string at `$path` in the JSON value `$h`, or "none" where the value
;; is null, missing or not a string (a repository without a license has
;; "license": null, so "/license/name" is not found).
(func $text (param $h i32) (param $path i32) (result i32)
  (local $s i32) (local $status i32)
  (call $json.str (local.get $h) (local.get $path))
  (local.set $status)
  (local.set $s)
  (if (result i32) (local.get $status)
    (then "none")
    (else (local.get $s))))
