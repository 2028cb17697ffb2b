(func $run
  (nop))
