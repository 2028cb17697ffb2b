//! The `rand` capability: random bytes from the operating system, or from
//! a seeded ChaCha20 generator for runs that repeat.

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use wasmtime::{Caller, Linker};

use tape_rt::guest::{self, write_bytes};
use tape_rt::{Capability, Error, Function, Spec, State, status};

/// Random bytes for the guest.
///
/// | import | signature | meaning |
/// |---|---|---|
/// | `rand.fill` | `(param $ptr i32) (param $len i32) (result i32)` | fill the `len` bytes of guest memory at `ptr` (raw, no length prefix) |
/// | `rand.bytes` | `(param $len i32) (result i32 i32)` | a fresh `[len][bytes]` of `len` random bytes, status |
/// | `rand.u64` | `(result i64)` | 8 random bytes as an integer |
///
/// Statuses: [`OK`](status::OK); [`TOO_LARGE`](status::TOO_LARGE) once the
/// run would pass [`max_run_bytes`](Rand::max_run_bytes) (`u64` does not
/// count against it); [`IO_FAILURE`](status::IO_FAILURE) if the operating
/// system has no randomness to give. A `fill` range outside memory traps.
///
/// Bytes come from ChaCha20 seeded, per run, from the operating system
/// ([`Rand::os`]) or from a number the host chooses ([`Rand::seeded`]):
/// with a seed every run draws the same sequence, on every machine and
/// every version of Tape (ChaCha20 is specified, and `rand_chacha` keeps
/// its output stable). `fill`, `bytes` and `u64` draw from one stream in
/// call order. Seeded output is predictable by design: use it for
/// reproducible runs and tests, never for secrets.
///
/// ```wat
/// ;; Return 16 random bytes.
/// (func $run (result i32)
///   (local $bytes i32) (local $status i32)
///   (call $rand.bytes (i32.const 16))
///   (local.set $status)
///   (local.set $bytes)
///   (if (local.get $status) (then (return (local.get $status))))
///   (call $core.result (local.get $bytes)))
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rand {
    seed: Option<u64>,
    max_run_bytes: u64,
}

impl Rand {
    /// Randomness from the operating system: each run is seeded afresh.
    pub fn os() -> Rand {
        Rand {
            seed: None,
            max_run_bytes: 1 << 20,
        }
    }

    /// Deterministic randomness: every run draws the same bytes from
    /// `seed`.
    pub fn seeded(seed: u64) -> Rand {
        Rand {
            seed: Some(seed),
            ..Rand::os()
        }
    }

    /// Bytes one run may draw with `fill` and `bytes` (default 1 MiB).
    pub fn max_run_bytes(mut self, max: u64) -> Self {
        self.max_run_bytes = max;
        self
    }

    fn generator(&self) -> Result<ChaCha20Rng, i32> {
        match self.seed {
            Some(seed) => Ok(ChaCha20Rng::seed_from_u64(seed)),
            None => {
                let mut seed = [0; 32];
                getrandom::fill(&mut seed).map_err(|e| {
                    tracing::warn!(target: "tape::rand", "the OS gave no randomness: {e}");
                    status::IO_FAILURE
                })?;
                Ok(ChaCha20Rng::from_seed(seed))
            }
        }
    }
}

/// One run's generator, seeded at its first use so runs that draw nothing
/// pay nothing.
#[derive(Debug, Default)]
struct RandRun {
    generator: Option<ChaCha20Rng>,
    drawn: u64,
}

impl RandRun {
    fn generator(&mut self, rand: &Rand) -> Result<&mut ChaCha20Rng, i32> {
        let generator = match self.generator.take() {
            Some(generator) => generator,
            None => rand.generator()?,
        };
        Ok(self.generator.insert(generator))
    }

    /// Fills `bytes` within the run's budget.
    fn fill(&mut self, rand: &Rand, bytes: &mut [u8]) -> i32 {
        let drawn = self.drawn.saturating_add(bytes.len() as u64);
        if drawn > rand.max_run_bytes {
            return status::TOO_LARGE;
        }
        match self.generator(rand) {
            Ok(generator) => generator.fill_bytes(bytes),
            Err(status) => return status,
        }
        self.drawn = drawn;
        status::OK
    }
}

/// Why drawing `len` bytes failed with `status`, `drawn` bytes into the
/// run.
fn why(rand: &Rand, status: i32, drawn: u64, len: u64) -> String {
    match status {
        status::TOO_LARGE => format!(
            "{len} more random bytes would pass the run's {}-byte budget ({drawn} drawn)",
            rand.max_run_bytes
        ),
        _ => "the operating system gave no randomness; the host's log has the details".into(),
    }
}

/// What the capability is: its name, description and functions.
pub const SPEC: Spec = Spec::new(NAME, DESCRIPTION, FUNCTIONS);

const FUNCTIONS: &[Function] = &[
    Function::new("fill", "(param $ptr i32) (param $len i32) (result i32)")
        .roles("mem count -> status")
        .doc("Fills the `$len` bytes of raw memory at `$ptr` (no length prefix) with random bytes; a range outside memory traps."),
    Function::new("bytes", "(param $len i32) (result i32 i32)")
        .roles("count -> ptr status")
        .doc("A new value `[len][bytes]` of `$len` random bytes: (pointer, status)."),
    Function::new("u64", "(result i64)")
        .roles("-> num")
        .doc("8 random bytes as an integer.\n\n```wat\n(func $run (result i32)\n  (resv (call $std.i64.to_hex (call $rand.u64)))\n  (i32.const 0))\n```"),
];

const NAME: &str = "rand";
const DESCRIPTION: &str =
    "random bytes, from the operating system or from a seed for reproducible runs";

fn no_state() -> wasmtime::Error {
    Error::capability(NAME, "no state for this run").into()
}

impl Capability for Rand {
    fn spec(&self) -> &Spec {
        &SPEC
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        let this = *self;
        linker.func_wrap(
            NAME,
            "fill",
            move |mut caller: Caller<'_, State>, ptr: i32, len: i32| -> wasmtime::Result<i32> {
                caller.data_mut().count_call(NAME);
                let (bytes, state) =
                    guest::bytes_mut(&mut caller, ptr as u32, len as u32, "the bytes to fill")?;
                let run = state.get::<RandRun>().ok_or_else(no_state)?;
                let drawn = run.drawn;
                let status = run.fill(&this, bytes);
                if status == status::OK {
                    state.usage_mut(NAME).bytes_out += bytes.len() as u64;
                    return Ok(status);
                }
                let message = why(&this, status, drawn, len as u32 as u64);
                Ok(guest::fail(&mut caller, "rand.fill", status, message))
            },
        )?;
        linker.func_wrap(
            NAME,
            "bytes",
            move |mut caller: Caller<'_, State>, len: i32| -> wasmtime::Result<(i32, i32)> {
                caller.data_mut().count_call(NAME);
                let len = len as u32 as u64;
                let run = caller.data_mut().get::<RandRun>().ok_or_else(no_state)?;
                // Checked before allocating, so an absurd length is refused
                // rather than exhausting memory.
                let drawn = run.drawn;
                let status = if drawn.saturating_add(len) > this.max_run_bytes {
                    status::TOO_LARGE
                } else {
                    let mut bytes = vec![0; len as usize];
                    match run.fill(&this, &mut bytes) {
                        status::OK => {
                            let ptr = write_bytes(&mut caller, &bytes)?;
                            caller.data_mut().usage_mut(NAME).bytes_out += len;
                            return Ok((ptr as i32, status::OK));
                        }
                        status => status,
                    }
                };
                let message = why(&this, status, drawn, len);
                Ok((0, guest::fail(&mut caller, "rand.bytes", status, message)))
            },
        )?;
        linker.func_wrap(
            NAME,
            "u64",
            move |mut caller: Caller<'_, State>| -> wasmtime::Result<i64> {
                caller.data_mut().count_call(NAME);
                let run = caller.data_mut().get::<RandRun>().ok_or_else(no_state)?;
                match run.generator(&this) {
                    Ok(generator) => Ok(generator.next_u64() as i64),
                    // No status to return it with: the run cannot go on
                    // with no randomness.
                    Err(status) => Err(Error::capability(
                        NAME,
                        format!(
                            "the operating system gave no randomness for `rand.u64` (status {status})"
                        ),
                    )
                    .into()),
                }
            },
        )?;
        Ok(())
    }

    fn begin_run(&self, state: &mut State) {
        state.insert(RandRun::default());
    }
}

/// `[rand]`: see [`Rand`].
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct RandGrant {
    /// Seed a deterministic generator with this.
    pub seed: Option<u64>,
    /// Random bytes a run may draw.
    #[serde(default, deserialize_with = "crate::table::size")]
    pub max_run_bytes: Option<u64>,
}

impl RandGrant {
    /// The capability: seeded if `seed` is set or `deterministic` (seed 0),
    /// else from the operating system.
    pub fn rand(&self, deterministic: bool) -> Rand {
        let rand = match (self.seed, deterministic) {
            (Some(seed), _) => Rand::seeded(seed),
            (None, true) => Rand::seeded(0),
            (None, false) => Rand::os(),
        };
        match self.max_run_bytes {
            Some(max) => rand.max_run_bytes(max),
            None => rand,
        }
    }
}

impl crate::table::Table for RandGrant {
    fn grant(
        &self,
        shared: &crate::table::Shared,
    ) -> tape_rt::Result<std::sync::Arc<dyn Capability>> {
        Ok(std::sync::Arc::new(self.rand(shared.deterministic)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeded stream must never change: runs recorded with a seed are
    /// replayed against it. These are ChaCha20's first bytes keyed by
    /// `seed_from_u64(42)`, then the next `u64`.
    #[test]
    fn the_seeded_stream_is_stable() {
        let rand = Rand::seeded(42);
        let mut run = RandRun::default();
        let mut bytes = [0; 8];
        assert_eq!(run.fill(&rand, &mut bytes), status::OK);
        assert_eq!(bytes, [0x78, 0x48, 0xb5, 0xd7, 0x11, 0xbc, 0x98, 0x83]);
        let next = run.generator(&rand).unwrap().next_u64();
        assert_eq!(next, 0x6902_c9f9_a317_6399);
    }
}
