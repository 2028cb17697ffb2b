//! `Timer::Signal`: timeouts driven by a timer signal per run instead of
//! the engine's thread. The engines here tick once a second, so a run the
//! thread stopped would take a second or more; a run stopped by its own
//! alarm takes its timeout. (Linux only: elsewhere the thread is used.)
#![cfg(target_os = "linux")]
#![allow(unsafe_code)] // Signal masks and handlers, to see the fallbacks.

use std::time::{Duration, Instant};

use tape_rt::{Args, Config, Engine, ErrorKind, Grants, Limits, Program, Timer};
use tape_testkit::rt::timers_of_this_thread;

const SPIN: &str = "(func $run (result i32) (loop $l (br $l)) (i32.const 0))";

/// What the thread would take at the least to stop a run.
const TICK: Duration = Duration::from_secs(1);

fn engine(timer: Timer) -> Engine {
    Engine::new(Config {
        cache_dir: None,
        epoch_tick: TICK,
        timer,
        ..Config::default()
    })
    .unwrap()
}

fn spin(engine: &Engine) -> Program {
    engine
        .compile_str("spin.wat", SPIN, &Grants::new())
        .unwrap()
}

fn timed(ms: u64) -> Limits {
    Limits {
        fuel: None,
        timeout: Some(Duration::from_millis(ms)),
        ..Limits::default()
    }
}

/// Runs `program` with a `ms` timeout, which must stop it; how long it took.
fn stopped_after(program: &Program, ms: u64) -> Duration {
    let start = Instant::now();
    let error = program.run_with(&Args::new(), &timed(ms)).unwrap_err();
    let took = start.elapsed();
    assert!(
        matches!(error.kind(), ErrorKind::Timeout { timeout, .. } if *timeout == Duration::from_millis(ms)),
        "{error}"
    );
    assert!(took >= Duration::from_millis(ms), "{took:?}");
    took
}

#[test]
fn a_run_is_stopped_by_its_alarm_at_its_deadline_not_at_a_tick() {
    let program = spin(&engine(Timer::Signal));
    for _ in 0..3 {
        let took = stopped_after(&program, 100);
        assert!(took < Duration::from_millis(100 + 500), "{took:?}");
        // Its timer is gone with it.
        assert_eq!(timers_of_this_thread(), 0);
    }
    // With the thread, the same run waits for the first tick: the
    // comparison that shows the alarm did the stopping above.
    let took = stopped_after(&spin(&engine(Timer::Thread)), 100);
    assert!(took >= TICK, "{took:?}");
}

#[test]
fn runs_on_several_threads_each_stop_at_their_own_deadline() {
    // One engine: every alarm advances the same epoch, and each run's
    // callback must tell its own deadline from the others'.
    let program = spin(&engine(Timer::Signal));
    std::thread::scope(|scope| {
        let runs: Vec<_> = [100, 250, 400]
            .into_iter()
            .map(|ms| {
                let program = &program;
                scope.spawn(move || (ms, stopped_after(program, ms)))
            })
            .collect();
        for run in runs {
            let (ms, took) = run.join().unwrap();
            assert!(took < Duration::from_millis(ms + 500), "{ms} ms: {took:?}");
        }
    });
}

#[test]
fn a_run_that_ends_in_time_leaves_no_timer_and_the_next_is_not_cut_short() {
    let engine = engine(Timer::Signal);
    let quick = engine
        .compile_str(
            "quick.wat",
            "(func $run (result i32) (i32.const 0))",
            &Grants::new(),
        )
        .unwrap();
    let outcome = quick.run_with(&Args::new(), &timed(50)).unwrap();
    assert_eq!(outcome.status, 0);
    assert_eq!(timers_of_this_thread(), 0);
    // Past the first run's deadline, a run of 300 ms of work under a
    // long timeout completes: nothing of the first is left to stop it.
    let counted = engine
        .compile_str(
            "count.wat",
            "(func $run (result i32) (local $i i64)
               (loop $l
                 (local.set $i (i64.add (local.get $i) (i64.const 1)))
                 (br_if $l (i64.lt_u (local.get $i) (i64.const 300000000))))
               (i32.const 0))",
            &Grants::new(),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let outcome = counted.run_with(&Args::new(), &timed(60_000)).unwrap();
    assert_eq!(outcome.status, 0);
}

#[test]
fn where_the_signal_is_blocked_the_thread_stops_the_run() {
    let program = spin(&engine(Timer::Signal));
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                // SAFETY: a set holding SIGALRM, blocked on this thread only.
                unsafe {
                    let mut set: libc::sigset_t = std::mem::zeroed();
                    libc::sigemptyset(&mut set);
                    libc::sigaddset(&mut set, libc::SIGALRM);
                    assert_eq!(
                        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()),
                        0
                    );
                }
                let took = stopped_after(&program, 100);
                assert!(took >= TICK, "stopped by the thread's first tick: {took:?}");
                assert_eq!(timers_of_this_thread(), 0);
            })
            .join()
            .unwrap();
    });
}

/// Puts a `SIGALRM` handler of someone else's in place (one that does
/// nothing); what `sigaction` will say it is.
fn install_theirs() -> libc::sighandler_t {
    extern "C" fn theirs(_: libc::c_int) {}
    let handler = theirs as *const () as libc::sighandler_t;
    // SAFETY: a zeroed `sigaction` with a handler of the one-argument kind.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler;
        assert_eq!(
            libc::sigaction(libc::SIGALRM, &action, std::ptr::null_mut()),
            0
        );
    }
    handler
}

/// The process's `SIGALRM` handler now.
fn current_handler() -> libc::sighandler_t {
    // SAFETY: reading the current action only.
    unsafe {
        let mut now: libc::sigaction = std::mem::zeroed();
        assert_eq!(
            libc::sigaction(libc::SIGALRM, std::ptr::null(), &mut now),
            0
        );
        now.sa_sigaction
    }
}

/// Run by [`a_handler_of_someone_elses_is_left_alone`], alone in a process
/// of its own: a `SIGALRM` handler installed before Tape's first alarm.
#[test]
#[ignore = "run in a process of its own by a_handler_of_someone_elses_is_left_alone"]
fn someone_elses_handler() {
    let theirs = install_theirs();
    let took = stopped_after(&spin(&engine(Timer::Signal)), 100);
    assert!(took >= TICK, "stopped by the thread's first tick: {took:?}");
    assert_eq!(
        current_handler(),
        theirs,
        "their handler is still installed"
    );
}

/// Run by [`a_handler_put_in_place_after_tapes_is_left_alone_too`], alone
/// in a process of its own: Tape's handler installed by a first run, then
/// replaced by someone else's. A run armed after that would have no tick at
/// its deadline and, without fuel, would never stop.
#[test]
#[ignore = "run in a process of its own by a_handler_put_in_place_after_tapes_is_left_alone_too"]
fn someone_elses_handler_after_tapes() {
    let program = spin(&engine(Timer::Signal));
    let took = stopped_after(&program, 100);
    assert!(took < TICK, "Tape's handler is in place: {took:?}");
    let theirs = install_theirs();
    let took = stopped_after(&program, 100);
    assert!(took >= TICK, "stopped by the thread's first tick: {took:?}");
    assert_eq!(timers_of_this_thread(), 0);
    assert_eq!(
        current_handler(),
        theirs,
        "their handler is still installed"
    );
}

/// Runs the ignored test `name` of this binary alone in a child process,
/// and fails if it fails or takes more than 30 seconds (then killed).
fn in_a_process_of_its_own(name: &str) {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--include-ignored", "--exact", name, "--test-threads=1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            let output = child.wait_with_output().unwrap();
            panic!(
                "{name} did not end within 30 s\n{}",
                String::from_utf8_lossy(&output.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_handler_of_someone_elses_is_left_alone() {
    in_a_process_of_its_own("timer::someone_elses_handler");
}

#[test]
fn a_handler_put_in_place_after_tapes_is_left_alone_too() {
    in_a_process_of_its_own("timer::someone_elses_handler_after_tapes");
}
