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
///
/// A pointer outside memory traps with [`ErrorKind::BadPointer`](crate::ErrorKind::BadPointer).
#[derive(Debug, Clone, Copy, Default)]
pub struct Core;

/// Results one run may hand over, however small: each costs the host a
/// few dozen bytes besides its own.
pub const MAX_RESULTS: usize = 65_536;

/// `core`'s spec: always granted, so always in the catalogue.
pub const CORE_SPEC: Spec = Spec::new(
    "core",
    "arguments, results and memory allocation",
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
        .doc("Hands over one result: the length-prefixed value at `$ptr`, copied now.\n\n`tape run` prints each result on its own line. Status `TOO_LARGE` (4) past the run's result budget. The `(resv $p)` macro calls it and returns the status when non-zero.\n\n```wat\n(func $run (result i32)\n  (check (call $core.result \"first\"))\n  (resv \"second\")   ;; the same, returning the status when it is not 0\n  (i32.const 0))\n```"),
    Function::new("reason", "(result i32 i32)")
        .roles("-> str status")
        .doc("Why the last capability call that returned a failing status failed, as text: (pointer, status).\n\nThe text names the call and says why, e.g. `core.arg: argument 0 was asked for, and the run was given none`. Status `NOT_FOUND` (3) if no call has failed in this run. `tape run` prints the reason of a run that ends with a capability's status by itself.\n\n```wat\n(func $run (result i32)\n  (local $name i32) (local $status i32)\n  (call $core.arg (i32.const 0)) (local.set $status) (local.set $name)\n  (if (local.get $status)\n    (then\n      (drop (call $log.write (i32.const 1) (call $std.str.concat \"cannot start: \" (call $why))))\n      (return (local.get $status))))\n  (resv (local.get $name))\n  (i32.const 0))\n;; The reason, or \"\" when there is none.\n(func $why (result i32)\n  (local $text i32) (local $status i32)\n  (call $core.reason) (local.set $status) (local.set $text)\n  (if (result i32) (local.get $status) (then \"\") (else (local.get $text))))\n```"),
    Function::new("alloc", "(param $size i32) (result i32)")
        .roles("count -> mem")
        .doc("Allocates `$size` bytes from the run's bump allocator and returns their address.\n\nNothing is freed before the run ends. Past the memory cap, the run stops with a memory-exhausted error (a trap, not a status)."),
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
