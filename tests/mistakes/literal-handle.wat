;; a number written where a JSON handle goes
;; at: 4:10
(func $run (result i32)
  (drop (call $json.str (i32.const 1) "/name"))
  (drop)
  (i32.const 0))
