//! `wasmtime-runner FILE.wat`: the least a program needs to compile and run
//! a Tape-style module with wasmtime, as the reference `tape run` is
//! measured against (`benches/process.rs` in the root package).
//!
//! It reads plain WebAssembly text, parses it with the `wat` crate, compiles
//! it on an engine with wasmtime's own compilation cache (in its default
//! directory, `$XDG_CACHE_HOME/wasmtime`, as `tape` uses
//! `$XDG_CACHE_HOME/tape`), links the one host function such a program
//! needs, `core.result`, calls `run`, and prints each result on its own
//! line, as `tape run` prints text results. It exits with the status `run`
//! returned. Nothing else: no fuel, no epochs, no limits, no other
//! capabilities, no argument parsing.

use std::io::Write;
use std::process::ExitCode;

use wasmtime::{
    Cache, CacheConfig, Caller, Config, Engine, Extern, Linker, Module, Result, Store, bail,
};

fn main() -> Result<ExitCode> {
    let Some(path) = std::env::args_os().nth(1) else {
        bail!("usage: wasmtime-runner FILE.wat");
    };
    let text = std::fs::read_to_string(&path)?;
    let wasm = wat::parse_str(&text)?;

    let mut config = Config::new();
    config.cache(Some(Cache::new(CacheConfig::new())?));
    let engine = Engine::new(&config)?;
    // A cache hit: the machine code comes from the cache directory.
    let module = Module::new(&engine, &wasm)?;

    // The store holds the results, each the payload of a `[u32 len][bytes]`
    // value in guest memory, copied out during the call as Tape does.
    let mut linker = Linker::<Vec<Vec<u8>>>::new(&engine);
    linker.func_wrap(
        "core",
        "result",
        |mut caller: Caller<'_, Vec<Vec<u8>>>, ptr: i32| -> Result<i32> {
            let Some(Extern::Memory(memory)) = caller.get_export("mem.tape") else {
                bail!("the module exports no memory `mem.tape`");
            };
            let data = memory.data(&caller);
            let start = ptr as u32 as usize;
            let Some(prefix) = data.get(start..start + 4) else {
                bail!("result pointer {start:#x} is outside memory");
            };
            let len = u32::from_le_bytes(prefix.try_into()?) as usize;
            let Some(payload) = data.get(start + 4..start + 4 + len) else {
                bail!("result at {start:#x} of {len} bytes is outside memory");
            };
            let payload = payload.to_vec();
            caller.data_mut().push(payload);
            Ok(0)
        },
    )?;
    let mut store = Store::new(&engine, Vec::new());
    let instance = linker.instantiate(&mut store, &module)?;
    let run = instance.get_typed_func::<(), i32>(&mut store, "run")?;
    let status = run.call(&mut store, ())?;

    let mut stdout = std::io::stdout().lock();
    for result in store.data() {
        stdout.write_all(result)?;
        stdout.write_all(b"\n")?;
    }
    stdout.flush()?;
    Ok(ExitCode::from(u8::try_from(status).unwrap_or(1)))
}
