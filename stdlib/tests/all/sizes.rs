//! A value too large for memory traps with a memory-exhausted error, also
//! when its size does not fit in 32 bits: no size wraps around to a small
//! allocation that the copy after it would overrun.

use tape_rt::{Args, Error, ErrorKind, Grants};

/// Runs `body` after `$huge` is set to a fake string claiming `len` bytes
/// (only its prefix is real) and `$array` to two pointers to it.
fn run_with_huge(len: u32, body: &str) -> Result<tape_rt::Outcome, Error> {
    let source = format!(
        r#"(func $run (result i32)
  (local $huge i32)
  (local $array i32)
  (local.set $huge (call $core.alloc (i32.const 4)))
  (i32.store (local.get $huge) (i32.const {len}))
  (local.set $array (call $core.alloc (i32.const 8)))
  (i32.store (local.get $array) (local.get $huge))
  (i32.store offset=4 (local.get $array) (local.get $huge))
  {body}
  (i32.const 0))"#,
        len = len as i32
    );
    crate::engine()
        .compile_str("sizes.wat", &source, &Grants::new())
        .unwrap_or_else(|e| panic!("{e}"))
        .run(&Args::new())
}

#[test]
fn sizes_past_32_bits_trap_instead_of_wrapping() {
    for (len, body) in [
        // 2 × 2^31 wraps to 0.
        (
            0x8000_0000,
            "(drop (call $std.str.concat (local.get $huge) (local.get $huge)))",
        ),
        // len + 4 wraps to 0..3.
        (0, "(drop (call $std.wire.alloc (i32.const -1)))"),
        (0, "(drop (call $std.wire.alloc (i32.const -4)))"),
        (
            0,
            "(drop (call $std.wire.bytes (i32.const 8) (i32.const -2)))",
        ),
        // capacity + 8 wraps to 0..7.
        (0, "(drop (call $std.wire.begin (i32.const -8)))"),
        (0, "(drop (call $std.wire.begin (i32.const -1)))"),
        // 4 × (2^30 + 1) wraps to 4.
        (
            0,
            "(drop (call $std.wire.i32s (local.get $array) (i32.const 0x40000001)))",
        ),
        // 2 × (4 + 2^31 - 2) wraps to 4.
        (
            0x7fff_fffe,
            "(drop (call $std.wire.strings (local.get $array) (i32.const 2)))",
        ),
        // The largest length itself.
        (
            u32::MAX,
            "(drop (call $std.str.slice (local.get $huge) (i32.const 0) (i32.const -1)))",
        ),
        (
            u32::MAX,
            "(drop (call $std.str.to_upper (local.get $huge)))",
        ),
    ] {
        match run_with_huge(len, body).map_err(Error::into_kind) {
            Err(ErrorKind::MemoryExhausted { .. }) => {}
            other => panic!("{body}: expected a memory-exhausted error, got {other:?}"),
        }
    }
}

/// A value that would pass the memory cap is the same error, and the
/// builder's capacity counts.
#[test]
fn values_past_the_memory_cap_trap() {
    for body in [
        "(drop (call $std.wire.begin (i32.const 0x7fffffff)))",
        "(drop (call $std.wire.alloc (i32.const 0x10000000)))",
    ] {
        match run_with_huge(0, body).map_err(Error::into_kind) {
            Err(ErrorKind::MemoryExhausted { .. }) => {}
            other => panic!("{body}: expected a memory-exhausted error, got {other:?}"),
        }
    }
}
