;; Literals become pointers into static data; equal ones share a copy.
(module
  (global $greeting i32 "hi")
  (func $run (export "main") (result i32)
    (drop "hi")
    (drop "tab\there \u{e9} \ff")
    (drop """first line
  "quoted" second line""")
    (call $core.result "hi")))
