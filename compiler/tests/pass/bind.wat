;; `bind`: call, check the status, keep the value, in one form. A local
;; declared already keeps its type; one `bind` declares has the type of the
;; call's value, where the catalogue or the library says.
(func $wide (result i64 i32) (i64.const 7) (i32.const 0))
(func $run (result i32)
  (local $big i64)
  (bind $name (call $core.arg (i32.const 0)))
  (bind $big (call $wide))
  (bind $ticks (call $std.ticks))
  (drop (local.get $ticks))
  (resv (local.get $name))
  (i32.const 0))
