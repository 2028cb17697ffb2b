(module
  (memory 1)
  (func (export "simd") (param i32) (result i32)
    (v128.store (local.get 0)
      (i32x4.add (v128.load (local.get 0)) (v128.const i32x4 1 2 3 4)))
    (i32x4.extract_lane 2
      (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
        (v128.load (local.get 0)) (f32x4.splat (f32.const 1))))))
