(module
  (memory $a 1)
  (memory $b 2)
  (func (export "copy") (i32.store $b (i32.const 0) (i32.load $a (i32.const 4)))))
