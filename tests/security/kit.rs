//! Running `tape` as an attacker's program would be run: a process of its
//! own, with its exit code, its output and its peak resident memory.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What a bomb may cost beyond its cap: the runtime, its compiled code
/// and the transient data of one capability call (a JSON document being
/// parsed, say). `docs/security.md` documents it.
pub const OVERHEAD: u64 = 64 << 20;

/// A finished `tape` process.
#[derive(Debug)]
pub struct Finished {
    /// The exit code; `None` if a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// The process's peak resident memory, in bytes (`ru_maxrss`).
    pub peak_rss: u64,
    pub elapsed: Duration,
}

impl Finished {
    /// A one-paragraph account, for assertion messages.
    pub fn describe(&self) -> String {
        let stderr: String = self.stderr.chars().take(2000).collect();
        format!(
            "exit {:?} after {:?}, peak {} MiB\nstderr: {stderr}",
            self.code,
            self.elapsed,
            self.peak_rss >> 20
        )
    }
}

/// How long any one process may take before the suite kills it: a hang
/// is a failure, not a stuck test run.
const WATCHDOG: Duration = Duration::from_secs(120);

/// Runs `tape ARGS…` in `dir`, with its own module cache there, and waits
/// for it.
///
/// Through a launcher: this test binary again, started small, which starts
/// `tape` and reports what `wait4` says of it. Linux counts in a child's
/// peak memory that of the process it was started from (the test runner,
/// tens of MiB), so `tape` must be started from a small one.
pub fn tape(dir: &Path, args: &[&str]) -> Finished {
    static LAUNCHES: AtomicUsize = AtomicUsize::new(0);
    let report = dir.join(format!(
        ".launch-report-{}",
        LAUNCHES.fetch_add(1, Ordering::Relaxed)
    ));
    let mut child = Command::new(std::env::current_exe().expect("the test binary"))
        .arg(tape_binary())
        .args(args)
        .current_dir(dir)
        .env(LAUNCH, &report)
        .env("NO_COLOR", "1")
        .env("XDG_CACHE_HOME", dir.join(".cache"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the launcher");
    let started = Instant::now();
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).expect("read a pipe of tape's");
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let launched = child.wait().expect("wait for the launcher");
    assert!(launched.success(), "the launcher failed: {launched}");
    let report = std::fs::read_to_string(&report).expect("the launcher's report");
    let (code, peak_rss) = report.split_once(' ').expect("`code peak`");
    Finished {
        code: code.parse().ok(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
        peak_rss: peak_rss.parse().expect("a peak"),
        elapsed: started.elapsed(),
    }
}

/// The `tape` under test: this build's, or the one `TAPE_SECURITY_BIN`
/// names (to run the suite against another build, an older one say).
fn tape_binary() -> std::ffi::OsString {
    std::env::var_os("TAPE_SECURITY_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_tape").into())
}

/// The variable that makes this binary a launcher; its value is where the
/// report goes.
const LAUNCH: &str = "TAPE_SECURITY_LAUNCH";

/// If this process was started as a launcher: starts the command in its
/// arguments, waits for it (killing it past [`WATCHDOG`]), writes `CODE
/// PEAK_BYTES` (`CODE` is `-` for a signal) where [`LAUNCH`] says, and
/// exits. `main` calls it first of all.
pub fn launch_if_asked() {
    let Some(report) = std::env::var_os(LAUNCH) else {
        return;
    };
    let mut args = std::env::args_os().skip(1);
    let program = args.next().expect("a program to launch");
    let child = Command::new(program)
        .args(args)
        .env_remove(LAUNCH)
        .spawn()
        .expect("start tape");
    let pid = child.id();
    let done = Arc::new(AtomicBool::new(false));
    {
        let done = done.clone();
        std::thread::spawn(move || {
            let until = Instant::now() + WATCHDOG;
            while !done.load(Ordering::Relaxed) {
                if Instant::now() > until {
                    kill(pid);
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
    }
    let (code, peak) = wait_with_peak(pid);
    done.store(true, Ordering::Relaxed);
    // The child is reaped: `Child` must not wait for it again.
    std::mem::forget(child);
    let code = code.map_or("-".to_string(), |code| code.to_string());
    std::fs::write(report, format!("{code} {peak}")).expect("write the report");
    std::process::exit(0);
}

/// Waits for the child `pid` with `wait4`, which reports its peak
/// resident memory.
#[allow(unsafe_code)]
fn wait_with_peak(pid: u32) -> (Option<i32>, u64) {
    let pid = pid as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain data, all zeroes a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: the pointers are to live locals of the right types.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        assert_eq!(
            error.kind(),
            std::io::ErrorKind::Interrupted,
            "wait4 failed: {error}"
        );
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    // Linux reports kilobytes.
    (code, usage.ru_maxrss as u64 * 1024)
}

#[allow(unsafe_code)]
fn kill(pid: u32) {
    // SAFETY: sends a signal; the pid is our unreaped child, so it cannot
    // have been reused.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGKILL);
    }
}

/// A fresh directory for one case.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}
