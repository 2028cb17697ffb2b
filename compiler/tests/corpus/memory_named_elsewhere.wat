(module
  (memory (export "heap") 1)
  (data (i32.const 100) "user data")
  (func $run (export "main") (result i32) (i32.load (i32.const 100))))
