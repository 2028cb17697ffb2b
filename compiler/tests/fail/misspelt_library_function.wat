;; A misspelt library function: the error suggests the closest name.
(func $run (result i32)
  (call $std.twise (i32.const 2)))
