;; review: ask a language model whether a product review is positive,
;; negative or neutral, and print its verdict as one word.
;;
;;   cargo run --example ai_stub   # elsewhere: a stand-in model on 127.0.0.1:8001
;;   tape run examples/review/review.wat 'Great battery, and the screen is lovely.'
;;
;; The conversation is built with the `json` capability, so a review with
;; quotes or newlines in it is escaped properly, then sent with
;; `ai.chat_messages` to the endpoint and model tape.toml names.
(func $run (result i32)
  (local $messages i32) (local $text i32) (local $reply i32)
  (local $answer i32) (local $status i32)
  (argv 0 $review)
  ;; [{"role": "system", "content": …}, {"role": "user", "content": …}]
  (call $json.array)
  (local.set $status)
  (local.set $messages)
  (check $status)
  (check (call $message (local.get $messages) "system"
    "You sort product reviews. Answer with one word: positive, negative or neutral."))
  (check (call $message (local.get $messages) "user"
    (call $std.str.concat "Review: " (local.get $review))))
  (call $json.stringify (local.get $messages))
  (local.set $status)
  (local.set $text)
  (check $status)

  (call $ai.chat_messages (local.get $text))
  (local.set $status)
  (local.set $reply)
  (check $status)  ;; 6 (I/O failure) when the endpoint cannot be reached

  ;; Models add capitals and punctuation: "Positive." is positive.
  (local.set $answer (call $std.str.to_lower (call $std.str.trim (local.get $reply))))
  (if (call $std.str.starts_with (local.get $answer) "positive")
    (then (resv "positive") (return (i32.const 0))))
  (if (call $std.str.starts_with (local.get $answer) "negative")
    (then (resv "negative") (return (i32.const 0))))
  (if (call $std.str.starts_with (local.get $answer) "neutral")
    (then (resv "neutral") (return (i32.const 0))))
  ;; Anything else: say what the model said, at level 1 (warning).
  (drop (call $log.write (i32.const 1)
    (call $std.str.concat "the model did not answer with one word: " (local.get $reply))))
  (resv "unclear")
  (i32.const 0))

;; Appends {"role": role, "content": content} to the array `$messages`.
;; Returns a status, like the host functions it calls.
(func $message (param $messages i32) (param $role i32) (param $content i32) (result i32)
  (local $m i32) (local $status i32)
  (call $json.object)
  (local.set $status)
  (local.set $m)
  (check $status)
  (check (call $json.set_str (local.get $m) "role" (local.get $role)))
  (check (call $json.set_str (local.get $m) "content" (local.get $content)))
  ;; `push` copies the object into the array.
  (call $json.push (local.get $messages) (local.get $m)))
