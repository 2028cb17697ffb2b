(func $run (result i32)
  (drop "bad \q escape")
  (drop "\u{110000}")
  (i32.const 0) §
  (drop "unterminated)
