;; agent: answer a question with a language model that may call a tool,
;; running the tool for it. This is the loop every "agent" is built on:
;;
;;   1. send the conversation and the tools the model may call;
;;   2. if the model answers with text, that is the answer: stop;
;;   3. if it asks for tools (finish_reason "tool_calls"), run each one,
;;      add the model's request and each result to the conversation, and
;;      go back to 1, at most MAX_ROUNDS times.
;;
;;   cargo run --example ai_stub                                         # elsewhere: a stand-in model
;;   python3 -m http.server 8000 --bind 127.0.0.1 --directory examples   # and the tool's API
;;   tape run examples/agent/agent.wat 'What is the weather in Paris?' http://127.0.0.1:8000/agent/api
;;
;; The tool is `weather(city)`: a GET of {api}/weather/{city}.json, files
;; under examples/agent/api/. Requests and replies are JSON text: the
;; program builds and reads them with the `json` capability.

(arg $question str "what to ask the model")
(arg $api str "the weather tool's API, e.g. http://127.0.0.1:8000/agent/api")

(func $run (result i32)
  (local $round i32) (local $i i32) (local $count i32)
  (argv $question)
  (argv $api)

  ;; The request for `ai.complete`, less its messages: the one tool, with a
  ;; JSON Schema of its parameters that the model fills in, and options.
  ;; A raw string (r"""…""") holds JSON as written, quotes and all.
  (bind $request (call $json.parse r"""{
    "tools": [{
      "name": "weather",
      "description": "The weather now in a city: conditions, temperature, wind.",
      "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "the city, e.g. Paris"}},
        "required": ["city"]
      }
    }],
    "temperature": 0,
    "max_tokens": 300
  }"""))

  ;; The conversation, a JSON array; it starts with the question.
  ;; `json.set_str` escapes whatever the question holds.
  (bind $messages (call $json.array))
  (bind $first (call $json.object))
  (check (call $json.set_str (local.get $first) "role" "user"))
  (check (call $json.set_str (local.get $first) "content" (local.get $question)))
  (check (call $json.push (local.get $messages) (local.get $first)))

  (loop $ask
    ;; 1. Send the request with the conversation so far (`json.set`
    ;; copies it in, replacing last round's).
    (check (call $json.set (local.get $request) "messages" (local.get $messages)))
    (bind $text (call $json.stringify (local.get $request)))
    ;; A model that answers with an error (a 429, say) makes this status
    ;; 6; `tape run` then prints the model's status code and message.
    (bind $reply (call $ai.complete (local.get $text)))
    ;; The reply: {"content", "finish_reason", "tool_calls": [{"id",
    ;; "name", "arguments"}], "usage", "model"}.
    (bind $answer (call $json.parse (local.get $reply)))
    (bind $finish (call $json.str (local.get $answer) "/finish_reason"))

    ;; 2. Text (finish_reason "stop", or "length" if it was cut short).
    (if (i32.eqz (call $std.str.eq (local.get $finish) "tool_calls"))
      (then
        (bind $content (call $json.str (local.get $answer) "/content"))
        (resv $content)
        (return (i32.const 0))))

    ;; 3. Tool calls. The model's message goes into the conversation as
    ;; it came (the API needs to see what it asked for), then one "tool"
    ;; message per call.
    (bind $calls (call $json.get (local.get $answer) "/tool_calls"))
    (bind $asked (call $json.object))
    (check (call $json.set_str (local.get $asked) "role" "assistant"))
    (check (call $json.set_null (local.get $asked) "content"))
    (check (call $json.set (local.get $asked) "tool_calls" (local.get $calls)))
    (check (call $json.push (local.get $messages) (local.get $asked)))
    (bind $count (call $json.len (local.get $calls) ""))
    (local.set $i (i32.const 0))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (bind $call (call $json.item (local.get $calls) "" (local.get $i)))
        (check (call $run_tool (local.get $call) (local.get $api) (local.get $messages)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))

    (local.set $round (i32.add (local.get $round) (i32.const 1)))
    (br_if $ask (i32.lt_u (local.get $round) (global.get $MAX_ROUNDS))))

  ;; A model that keeps calling tools is stopped: 4, too large.
  (drop (call $log.write (i32.const 0) "the model asked for tools round after round; stopping"))
  (i32.const 4))

;; Rounds of tool calls before the program gives up.
(global $MAX_ROUNDS i32 (i32.const 4))

;; Runs the tool call `$call`, {"id", "name", "arguments"}, and adds its
;; result to `$messages` as {"role": "tool", "tool_call_id": …,
;; "content": …}. A tool that fails tells the model why in its result,
;; as a person would be told; the status is for the program's own
;; failures.
(func $run_tool (param $call i32) (param $api i32) (param $messages i32) (result i32)
  (local $result i32)
  (bind $id (call $json.str (local.get $call) "/id"))
  (bind $name (call $json.str (local.get $call) "/name"))
  ;; JSON text, as the model wrote it: `$weather` parses it.
  (bind $arguments (call $json.str (local.get $call) "/arguments"))
  ;; "tool: weather {"city":"Paris"}", to show the loop at work.
  (resv (call $std.str.concat "tool: "
    (call $std.str.concat (local.get $name)
      (call $std.str.concat " " (local.get $arguments)))))
  (local.set $result r#"{"error": "there is no such tool"}"#)
  (if (call $std.str.eq (local.get $name) "weather")
    (then (local.set $result (call $weather (local.get $arguments) (local.get $api)))))
  (bind $message (call $json.object))
  (check (call $json.set_str (local.get $message) "role" "tool"))
  (check (call $json.set_str (local.get $message) "tool_call_id" (local.get $id)))
  (check (call $json.set_str (local.get $message) "content" (local.get $result)))
  (call $json.push (local.get $messages) (local.get $message)))

;; The weather tool: the body of {api}/weather/{city}.json, the city
;; lower-cased with dashes for spaces ("New York" is new-york.json), or
;; {"error": …} for the model. The model wrote `$arguments`, so nothing in
;; it is trusted: a city that is not a plain name is refused, and the
;; origin is the one tape.toml allows in any case.
(func $weather (param $arguments i32) (param $api i32) (result i32)
  (local $args i32) (local $city i32) (local $body i32) (local $status i32)
  (call $json.parse (local.get $arguments)) (local.set $status) (local.set $args)
  (if (local.get $status) (then (return r#"{"error": "the arguments are not JSON"}"#)))
  (call $json.str (local.get $args) "/city") (local.set $status) (local.set $city)
  (if (local.get $status) (then (return r#"{"error": "`city`, a string, is missing"}"#)))
  (if (i32.eqz (call $plain_name (local.get $city)))
    (then (return r#"{"error": "a city is letters and spaces"}"#)))
  (local.set $city (call $std.str.replace (call $std.str.to_lower (local.get $city)) " " "-"))
  (call $http.get_body
    (call $std.str.concat (local.get $api)
      (call $std.str.concat "/weather/" (call $std.str.concat (local.get $city) ".json"))))
  (local.set $status) (local.set $body)
  ;; 3 for a 404 (no such city), 6 for another answer or none at all.
  (if (local.get $status) (then (return r#"{"error": "no weather for that city"}"#)))
  (local.get $body))

;; 1 if `$s` is one or more ASCII letters and spaces, else 0.
(func $plain_name (param $s i32) (result i32)
  (local $i i32) (local $c i32)
  (if (i32.eqz (call $std.str.len (local.get $s))) (then (return (i32.const 0))))
  (block $done
    (loop $each
      (br_if $done (i32.ge_u (local.get $i) (call $std.str.len (local.get $s))))
      (local.set $c (i32.load8_u offset=4 (i32.add (local.get $s) (local.get $i))))
      ;; A space, or a letter: setting bit 0x20 makes it 'a'..'z'.
      (if (i32.and
            (i32.ne (local.get $c) (i32.const 0x20))
            (i32.ge_u (i32.sub (i32.or (local.get $c) (i32.const 0x20)) (i32.const 0x61))
                      (i32.const 26)))
        (then (return (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
  (i32.const 1))
