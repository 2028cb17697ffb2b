//! Large, deterministic WAT inputs for the compile benchmark: realistic code
//! shapes (arithmetic, locals, blocks, loops, memory, calls), generated so
//! the repository does not carry megabytes of text.

/// The capability imports the extended input calls, `(module, function,
/// signature)`: the catalogue the benchmark compiles with.
pub const CATALOGUE: [(&str, &str, &str); 3] = [
    ("core", "arg", "(param $n i32) (result i32 i32)"),
    ("core", "result", "(param $ptr i32) (result i32)"),
    (
        "log",
        "write",
        "(param $level i32) (param $msg i32) (result i32)",
    ),
];

/// A plain WebAssembly module of `functions` functions.
pub fn plain(functions: usize) -> String {
    let mut out = String::from("(module\n  (memory 1)\n  (global $g (mut i32) (i32.const 0))\n");
    for i in 0..functions {
        out.push_str(&format!(
            r#"  (func $f{i} (param $a i32) (param $b i32) (result i32)
    (local $i i32) (local $acc i32)
    (local.set $acc (i32.add (local.get $a) (i32.const {i})))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $b)))
        (local.set $acc
          (i32.xor (i32.mul (local.get $acc) (i32.const 31)) (local.get $i)))
        (i32.store (i32.and (local.get $i) (i32.const 1020)) (local.get $acc))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (if (result i32) (i32.eqz (local.get $acc))
      (then (global.get $g))
      (else (i32.load offset=4 (i32.const 16)))))
"#
        ));
        if i > 0 {
            out.push_str(&format!(
                "  (func $c{i} (result i32) (call $f{} (i32.const 1) (i32.const 2)))\n",
                i - 1
            ));
        }
    }
    out.push_str(")\n");
    out
}

/// A Tape program of `functions` functions full of extensions: string
/// literals, macros, locals among instructions, automatic imports.
pub fn extended(functions: usize) -> String {
    let mut out = String::new();
    for i in 0..functions {
        out.push_str(&format!(
            r#"(func $f{i} (result i32)
  (argv 0 $name)
  (drop (call $log.write (i32.const 2) "function {i} starts"))
  (local $n i32)
  (local.set $n (i32.load (local.get $name)))
  (check (call $log.write (i32.const 3) "a shared message"))
  (block
    (local $tmp i32)
    (local.set $tmp (i32.add (local.get $n) (i32.const {i}))))
  (resv """a multi-line
literal number {i}""")
  (i32.const 0))
"#
        ));
    }
    out.push_str("(func $run (result i32) (call $f0))\n");
    out
}
