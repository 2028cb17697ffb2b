;; A raw string opened with one `#` and closed without it.
(func $run (result i32)
  (resv r#"{"a": 1}")
  (i32.const 0))
