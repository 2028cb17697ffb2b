//! Embedding Tape: compile a WAT program and run it with a capability the
//! host defines.
//!
//! Run with `cargo run --example custom_capability`.

use tape_rt::wasmtime::{self, Caller, Linker};
use tape_rt::{Args, Capability, Config, Engine, Function, Grants, Spec, State, guest, status};

/// `weather.temperature(city) -> (ptr, status)`: a host-side lookup the
/// guest can do nothing but call.
struct Weather;

/// What the capability is, written once: the compiler, the linker and
/// `tape doc` read it, and `Spec::check` compares it with `register`.
const WEATHER: Spec = Spec::new(
    "weather",
    "today's temperature for a city",
    &[
        Function::new("temperature", "(param $city i32) (result i32 i32)")
            .roles("str -> str status")
            .doc("The temperature in `$city` as text, e.g. `19°C`: (pointer, status). Status `NOT_FOUND` (3) for a city it does not know."),
    ],
);

impl Capability for Weather {
    fn spec(&self) -> &Spec {
        &WEATHER
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        linker.func_wrap(
            "weather",
            "temperature",
            |mut caller: Caller<'_, State>, city: i32| -> wasmtime::Result<(i32, i32)> {
                // Counted (and timed) under `weather` in the run's usage.
                caller.data_mut().count_call("weather");
                // Copied out now: the guest's memory is never read later.
                let Some(city) = guest::read_str(&caller, city as u32)? else {
                    return Ok((0, status::INVALID_ARGUMENT));
                };
                caller.data_mut().usage_mut("weather").bytes_in += city.len() as u64;
                // An error of the host's own traps the run: Tape's errors
                // convert with `?`, an `anyhow::Error` (or any boxed error)
                // with `from_boxed`, keeping its chain.
                let Some(reading) =
                    lookup(&city).map_err(|e| wasmtime::Error::from_boxed(e.into()))?
                else {
                    return Ok((0, status::NOT_FOUND));
                };
                let reply = guest::write_str(&mut caller, reading)?;
                caller.data_mut().usage_mut("weather").bytes_out += reading.len() as u64;
                Ok((reply as i32, status::OK))
            },
        )?;
        Ok(())
    }
}

/// The host's own code, in its own error type.
fn lookup(city: &str) -> anyhow::Result<Option<&'static str>> {
    anyhow::ensure!(!city.contains('\0'), "a city name with a NUL byte");
    Ok(match city {
        "Lisbon" => Some("19°C"),
        "Oslo" => Some("-3°C"),
        _ => None,
    })
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
        for (capability, usage) in &outcome.usage.capabilities {
            println!(
                "  {capability}: {} call(s), {} bytes in, {} out",
                usage.calls, usage.bytes_in, usage.bytes_out
            );
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
    let (name, usage) = &outcome.usage.capabilities[0];
    assert_eq!(
        (name.as_str(), usage.calls, usage.bytes_in, usage.bytes_out),
        ("weather", 1, 4, 5)
    );
    let outcome = program.run(&Args::strings(["Atlantis"])).unwrap();
    assert_eq!(outcome.status, status::NOT_FOUND);
}

#[test]
fn the_spec_matches_what_is_registered() {
    Spec::check(&Weather).unwrap();
}
