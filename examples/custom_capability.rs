//! Embedding Tape: compile a WAT program and run it with a capability the
//! host defines.
//!
//! Run with `cargo run --example custom_capability`.

use tape_rt::wasmtime::{self, Caller, Linker};
use tape_rt::{
    Args, Capability, Config, Engine, Function, Grants, State, caller_read_bytes, caller_write_raw,
    status,
};

/// `weather.temperature(city) -> (ptr, status)`: a host-side lookup the
/// guest can do nothing but call.
struct Weather;

impl Capability for Weather {
    fn name(&self) -> &str {
        "weather"
    }

    fn description(&self) -> &str {
        "today's temperature for a city"
    }

    fn functions(&self) -> &[Function] {
        const {
            &[Function::new(
                "temperature",
                "(param $city i32) (result i32 i32)",
            )]
        }
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        linker.func_wrap(
            "weather",
            "temperature",
            |mut caller: Caller<'_, State>, city: i32| -> wasmtime::Result<(i32, i32)> {
                caller.data_mut().count_host_call();
                // Copied out now: the guest's memory is never read later.
                let city = caller_read_bytes(&caller, city as u32)?;
                let reading = match city.as_slice() {
                    b"Lisbon" => "19°C",
                    b"Oslo" => "-3°C",
                    _ => return Ok((0, status::NOT_FOUND)),
                };
                let reply = tape_protocol::to_vec(reading)?;
                Ok((caller_write_raw(&mut caller, &reply)? as i32, status::OK))
            },
        )?;
        Ok(())
    }
}

const PROGRAM: &str = r#"
;; Look up the city given as argument 0 and return its temperature.
(func $run (result i32)
  (local $city i32) (local $reply i32) (local $status i32)
  (call $core.arg (i32.const 0))
  (local.set $status)
  (local.set $city)
  (if (local.get $status) (then (return (local.get $status))))
  (call $weather.temperature (local.get $city))
  (local.set $status)
  (local.set $reply)
  (if (local.get $status) (then (return (local.get $status))))
  (call $core.result (local.get $reply)))
"#;

fn main() -> anyhow::Result<()> {
    let engine = Engine::new(Config::default())?;
    let grants = Grants::new().grant(Weather);
    let program = engine.compile_str("weather.wat", PROGRAM, &grants)?;
    for city in ["Lisbon", "Oslo", "Atlantis"] {
        let outcome = program.run(&Args::strings([city]))?;
        if outcome.is_success() {
            println!("{city}: {}", outcome.result::<&str>(0)?);
        } else {
            let name = status::name(outcome.status).unwrap_or("?");
            println!("{city}: status {} ({name})", outcome.status);
        }
    }
    Ok(())
}

#[test]
fn prints_each_city() {
    main().unwrap();
    let engine = Engine::new(Config::default()).unwrap();
    let program = engine
        .compile_str("weather.wat", PROGRAM, &Grants::new().grant(Weather))
        .unwrap();
    let outcome = program.run(&Args::strings(["Oslo"])).unwrap();
    assert_eq!(outcome.result::<&str>(0).unwrap(), "-3°C");
    let outcome = program.run(&Args::strings(["Atlantis"])).unwrap();
    assert_eq!(outcome.status, status::NOT_FOUND);
}
