;; Memories of no pages, which only a module without literals can keep:
;; Tape must not raise their minimum (`memory.size` would say 1).
(module
  (memory 0 0)
  (func (export "size") (result i32) (memory.size))
  (func (export "grow") (result i32) (memory.grow (i32.const 1))))
