;; Hands the host one string.
(func $run (result i32)
  (call $core.result "hello, world"))
