(func $run (result i32)
  (drop "a literal before the error")
  (i32.add (i32.const 1) (i32.nope)))
