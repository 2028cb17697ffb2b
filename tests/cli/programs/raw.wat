;; Raw strings: no escapes processed, on one line or several.
(func $run (result i32)
  (resv r"C:\temp\new")
  (resv r#"{"name": "h\u00e9\n"}"#)
  (resv r##"holds "# too"##)
  (resv r"""{
  "doc": "a\tb"
}""")
  (i32.const 0))
