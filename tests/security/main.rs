//! The security suite: what an attacker's program tries, run through the
//! real `tape` binary, one trial per case (`cargo test --test security --
//! bombs::tables` runs one). `docs/security.md` is the threat model these
//! cases check.
//!
//! - [`bombs`]: programs that try to make the host hold more than the
//!   run's caps; each is refused, and the process's peak resident memory
//!   stays under the cap plus a documented overhead.
//! - [`paths`]: `paths.toml`, the ways out of the `fs` capability's
//!   directory; each refused, and nothing written outside.
//! - [`compile`]: sources that try to make compiling unbounded in time or
//!   memory.
//! - [`kv`]: processes sharing one key-value file.
//!
//! The SSRF list, `ssrf.toml` beside this file, runs in the runtime's
//! tests (`caps/tests/all/ssrf.rs`), against servers on loopback.
//!
//! `TAPE_SECURITY_BIN=path/to/tape cargo test --test security` runs the
//! suite against another build of `tape`.

mod bombs;
mod compile;
mod kit;
mod kv;
mod paths;

fn main() {
    kit::launch_if_asked();
    let args = libtest_mimic::Arguments::from_args();
    let mut trials = bombs::trials();
    trials.extend(bombs::log_trials());
    trials.extend(compile::trials());
    trials.extend(kv::trials());
    trials.extend(paths::trials());
    libtest_mimic::run(&args, trials).exit();
}
