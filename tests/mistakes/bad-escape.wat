;; an escape WebAssembly text does not have
;; at: 4:13
(func $run (result i32)
  (resv "tab\q")
  (i32.const 0))
