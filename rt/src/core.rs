use wasmtime::{Caller, Linker};

use crate::capability::{Capability, Function, Spec};
use crate::guest::{self, value_range};
use crate::state::State;
use crate::status;

/// Arguments, results and allocation: always granted.
///
/// | import | signature | meaning |
/// |---|---|---|
/// | `core.argc` | `(result i32)` | number of arguments |
/// | `core.arg` | `(param $n i32) (result i32 i32)` | pointer to argument `n`, status ([`NOT_FOUND`](status::NOT_FOUND) past the end) |
/// | `core.result` | `(param $ptr i32) (result i32)` | hand over the wire value at `ptr` as a result; copied now. [`TOO_LARGE`](status::TOO_LARGE) past the run's result-byte limit or [`MAX_RESULTS`] results |
/// | `core.alloc` | `(param $size i32) (result i32)` | bump-allocate `size` bytes (8-aligned); traps past the memory cap |
/// | `core.reason` | `(result i32 i32)` | why the last failing capability call failed, as text: `fs.read: no file …`; [`NOT_FOUND`](status::NOT_FOUND) if none failed |
/// | `core.f64_format` | `(param $x f64) (param $decimals i32) (result i32)` | `x` as a new string: the shortest text that reads back as `x` when `decimals` is negative, else rounded to `decimals` places |
/// | `core.f64_parse` | `(param $s i32) (result f64 i32)` | string `s` as an f64, correctly rounded; [`INVALID_ARGUMENT`](status::INVALID_ARGUMENT) if it is not a number |
///
/// A pointer outside memory traps with [`ErrorKind::BadPointer`](crate::ErrorKind::BadPointer).
#[derive(Debug, Clone, Copy, Default)]
pub struct Core;

/// Results one run may hand over, however small: each costs the host a
/// few dozen bytes besides its own.
pub const MAX_RESULTS: usize = 65_536;

/// The most digits after the point any f64 has: its exact value ends
/// there (the smallest subnormal has 1074). `core.f64_format` writes zeros
/// past them.
pub const MAX_DECIMALS: i32 = 1074;

/// `core`'s spec: always granted, so always in the catalogue.
pub const CORE_SPEC: Spec = Spec::new(
    "core",
    "arguments, results, memory allocation and number text",
    FUNCTIONS,
);

const FUNCTIONS: &[Function] = &[
    Function::new("argc", "(result i32)")
        .roles("-> count")
        .doc("The number of arguments the run was given.\n\n```wat\n(func $run (result i32)\n  (resv (call $std.i32.to_str (call $core.argc)))\n  (i32.const 0))\n```"),
    Function::new("arg", "(param $n i32) (result i32 i32)")
        .roles("index -> ptr status")
        .doc("Argument `$n`, from 0: (pointer to its wire value, status).\n\nA string argument is `[len][utf-8]`; a typed one is its value's wire encoding. Status `NOT_FOUND` (3) past the last argument. The `(argv N $x)` macro calls it, returns the status when non-zero, and keeps the pointer in `$x`.\n\n```wat\n(func $run (result i32)\n  (local $name i32) (local $status i32)\n  (call $core.arg (i32.const 0))   ;; `tape run prog.wat Ada`\n  (local.set $status)              ;; the status is on top: take it first\n  (local.set $name)\n  (check (local.get $status))      ;; 3 NOT_FOUND when no argument was given\n  (resv (call $std.str.concat \"hello, \" (local.get $name)))\n  (i32.const 0))\n```"),
    Function::new("result", "(param $ptr i32) (result i32)")
        .roles("ptr -> status")
        .doc("Hands over one result: the length-prefixed value at `$ptr`, copied now.\n\nA number has no length of its own: hand it over as `[width][bytes]` (`$std.wire.i64` makes one), which the host reads as the number. `tape run` prints each result on its own line. Status `TOO_LARGE` (4) past the run's result budget. The `(resv $p)` macro calls it and returns the status when non-zero.\n\n```wat\n(func $run (result i32)\n  (check (call $core.result \"first\"))\n  (resv \"second\")   ;; the same, returning the status when it is not 0\n  (i32.const 0))\n```"),
    Function::new("reason", "(result i32 i32)")
        .roles("-> str status")
        .doc("Why the last capability call that returned a failing status failed, as text: (pointer, status).\n\nThe text names the call and says why, e.g. `core.arg: argument 0 was asked for, and the run was given none`. Status `NOT_FOUND` (3) if no call has failed in this run. `tape run` prints the reason of a run that ends with a capability's status by itself.\n\n```wat\n(func $run (result i32)\n  (local $name i32) (local $status i32)\n  (call $core.arg (i32.const 0)) (local.set $status) (local.set $name)\n  (if (local.get $status)\n    (then\n      (drop (call $log.write (i32.const 1) (call $std.str.concat \"cannot start: \" (call $why))))\n      (return (local.get $status))))\n  (resv (local.get $name))\n  (i32.const 0))\n;; The reason, or \"\" when there is none.\n(func $why (result i32)\n  (local $text i32) (local $status i32)\n  (call $core.reason) (local.set $status) (local.set $text)\n  (if (result i32) (local.get $status) (then \"\") (else (local.get $text))))\n```"),
    Function::new("alloc", "(param $size i32) (result i32)")
        .roles("count -> mem")
        .doc("Allocates `$size` bytes from the run's bump allocator and returns their address.\n\nNothing is freed before the run ends. Past the memory cap, the run stops with a memory-exhausted error (a trap, not a status)."),
    Function::new("f64_format", "(param $x f64) (param $decimals i32) (result i32)")
        .roles("num count -> str")
        .doc("`$x` as a new string: with a negative `$decimals`, the shortest decimal that reads back as the same f64 (`0.1`, `1.0`, `1e21`, `1.5e-7`, `NaN`, `inf`: Rust's `{:?}`); else rounded to `$decimals` digits after the point (Rust's `{:.N}`); past the 1074th every digit is 0.\n\n`$std.f64.to_str` and `$std.f64.to_fixed` call it.\n\n```wat\n(func $run (result i32)\n  (resv (call $core.f64_format (f64.const 2.5) (i32.const -1)))   ;; \"2.5\"\n  (resv (call $core.f64_format (f64.const 2.345) (i32.const 2)))  ;; \"2.35\"\n  (i32.const 0))\n```"),
    Function::new("f64_parse", "(param $s i32) (result f64 i32)")
        .roles("str -> num status")
        .doc("String `$s` as an f64, correctly rounded: (value, status).\n\nThe syntax is Rust's `str::parse::<f64>`: `1`, `-0.5`, `1e3`, `.5`, `inf`, `NaN`; no spaces. Status `INVALID_ARGUMENT` (1), value 0, for anything else. `$std.f64.parse` calls it."),
];

impl Capability for Core {
    fn spec(&self) -> &Spec {
        &CORE_SPEC
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        linker.func_wrap("core", "argc", |mut caller: Caller<'_, State>| -> i32 {
            let state = caller.data_mut();
            state.count_host_call();
            state.arg_ptrs.len() as i32
        })?;
        linker.func_wrap(
            "core",
            "arg",
            |mut caller: Caller<'_, State>, n: i32| -> (i32, i32) {
                let state = caller.data_mut();
                state.count_host_call();
                match usize::try_from(n).ok().and_then(|n| state.arg_ptrs.get(n)) {
                    Some(&ptr) => (ptr as i32, status::OK),
                    None => {
                        let given = state.arg_ptrs.len();
                        let message = match given {
                            0 => format!("argument {n} was asked for, and the run was given none"),
                            1 => format!("argument {n} was asked for, and the run was given 1 (argument 0)"),
                            _ => format!(
                                "argument {n} was asked for, and the run was given {given} (0 to {})",
                                given - 1
                            ),
                        };
                        (0, guest::fail(&mut caller, "core.arg", status::NOT_FOUND, message))
                    }
                }
            },
        )?;
        linker.func_wrap(
            "core",
            "result",
            |mut caller: Caller<'_, State>, ptr: i32| -> wasmtime::Result<i32> {
                caller.data_mut().count_host_call();
                // Checked before copying, so a refused value costs the host
                // nothing.
                let memory = caller.data().memory.handle()?;
                let range = value_range(memory.data(&caller), ptr as u32)?;
                let state = caller.data();
                if state.results.len() >= MAX_RESULTS {
                    let message = format!("a run may hand over at most {MAX_RESULTS} results");
                    return Ok(guest::fail(&mut caller, "core.result", status::TOO_LARGE, message));
                }
                if state.result_bytes + range.len() > state.max_result_bytes {
                    let message = format!(
                        "the result is {} bytes, and the run may hand over {} more (of its {}-byte limit)",
                        range.len(),
                        state.max_result_bytes - state.result_bytes,
                        state.max_result_bytes
                    );
                    return Ok(guest::fail(&mut caller, "core.result", status::TOO_LARGE, message));
                }
                let value = memory.data(&caller)[range].to_vec();
                let state = caller.data_mut();
                state.result_bytes += value.len();
                state.results.push(value);
                Ok(status::OK)
            },
        )?;
        linker.func_wrap(
            "core",
            "reason",
            |mut caller: Caller<'_, State>| -> wasmtime::Result<(i32, i32)> {
                caller.data_mut().count_host_call();
                let Some(text) = caller.data().last_reason().map(ToString::to_string) else {
                    return Ok((0, status::NOT_FOUND));
                };
                Ok((guest::write_str(&mut caller, &text)? as i32, status::OK))
            },
        )?;
        linker.func_wrap(
            "core",
            "f64_format",
            |mut caller: Caller<'_, State>, x: f64, decimals: i32| -> wasmtime::Result<i32> {
                caller.data_mut().count_host_call();
                if decimals < 0 {
                    return Ok(guest::write_str(&mut caller, &format!("{x:?}"))? as i32);
                }
                // Past MAX_DECIMALS every digit of every f64 is 0: they are
                // written straight into guest memory, so a huge count costs
                // the host nothing and meets the memory cap like any
                // allocation.
                let digits = decimals.min(MAX_DECIMALS);
                let text = format!("{x:.*}", digits as usize);
                let zeros = if x.is_finite() {
                    (decimals - digits) as u64
                } else {
                    0
                };
                if zeros == 0 {
                    return Ok(guest::write_str(&mut caller, &text)? as i32);
                }
                // At most 2^31 zeros and a few hundred digits: the size
                // fits in a u32, and `alloc` holds it to the memory cap.
                let len = text.len() as u32 + zeros as u32;
                let size = len + 4;
                let ptr = guest::alloc(&mut caller, size)?;
                let (bytes, _) = guest::bytes_mut(&mut caller, ptr, size, "a formatted number")?;
                bytes[..4].copy_from_slice(&len.to_le_bytes());
                bytes[4..4 + text.len()].copy_from_slice(text.as_bytes());
                bytes[4 + text.len()..].fill(b'0');
                Ok(ptr as i32)
            },
        )?;
        linker.func_wrap(
            "core",
            "f64_parse",
            |mut caller: Caller<'_, State>, ptr: i32| -> wasmtime::Result<(f64, i32)> {
                caller.data_mut().count_host_call();
                let bytes = guest::read_bytes(&caller, ptr as u32)?;
                match std::str::from_utf8(&bytes)
                    .ok()
                    .and_then(|text| text.parse::<f64>().ok())
                {
                    Some(x) => Ok((x, status::OK)),
                    None => {
                        let text = String::from_utf8_lossy(&bytes);
                        let shown: String = text.chars().take(64).collect();
                        let more = if shown.len() < text.len() { "…" } else { "" };
                        let message = format!("`{}{more}` is not a number", shown.escape_debug());
                        Ok((
                            0.0,
                            guest::fail(
                                &mut caller,
                                "core.f64_parse",
                                status::INVALID_ARGUMENT,
                                message,
                            ),
                        ))
                    }
                }
            },
        )?;
        linker.func_wrap(
            "core",
            "alloc",
            |mut caller: Caller<'_, State>, size: i32| -> wasmtime::Result<i32> {
                caller.data_mut().count_host_call();
                Ok(guest::alloc(&mut caller, size as u32)? as i32)
            },
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_registers_exactly_its_spec() {
        Spec::check(&Core).unwrap();
    }
}
