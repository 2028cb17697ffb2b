//! Which capabilities a program is granted.
//!
//! `core` is always granted. `tape run` also grants what cannot reach
//! outside the run: `log` (to standard error), `json`, `time` and `rand`.
//! Everything that touches the host's data or network — `kv`, `fs`,
//! `http` — needs a flag.

use std::path::PathBuf;
use std::time::Duration;

use tape_compiler::Catalogue;
use tape_rt::{Fs, Grants, Http, Json, Kv, Level, Log, Rand, Time};

use crate::failure::Failure;
use crate::output::{ERROR, HELP, NOTE, Styles, WARNING, print_stderr};

/// Capabilities `tape run` grants with no flags.
pub const DEFAULT_GRANTS: &[&str] = &["core", "log", "json", "time", "rand"];

/// The flag that grants `capability`, for messages about missing grants.
pub fn flag_for(capability: &str) -> Option<&'static str> {
    Some(match capability {
        "kv" => "--kv PATH",
        "fs" => "--dir PATH (read-only) or --dir-rw PATH",
        "http" => "--allow-http ORIGIN",
        _ => return None,
    })
}

/// The grant flags of `tape run`.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Grants")]
pub struct GrantOpts {
    /// Grant `kv`, stored in this database file (created if missing)
    #[arg(long, value_name = "PATH")]
    kv: Option<PathBuf>,
    /// Grant `fs`, read-only, inside this directory
    #[arg(long, value_name = "PATH", conflicts_with = "dir_rw")]
    dir: Option<PathBuf>,
    /// Grant `fs`, read-write, inside this directory
    #[arg(long = "dir-rw", value_name = "PATH")]
    dir_rw: Option<PathBuf>,
    /// Grant `http` to this origin, e.g. `https://api.example.com` or
    /// `http://127.0.0.1:8080` (a bare HOST[:PORT] means https); repeatable.
    /// Loopback and private addresses are reached only when named exactly
    #[arg(long = "allow-http", value_name = "ORIGIN")]
    allow_http: Vec<String>,
    /// A fixed clock and a seeded random generator, so runs repeat exactly
    #[arg(long)]
    deterministic: bool,
}

impl GrantOpts {
    /// The grants for a run: the defaults and whatever the flags add. Log
    /// messages go to standard error as `[level] message`.
    ///
    /// A flag whose value is wrong (a directory that does not exist, say)
    /// is a [`Failure`] here.
    pub fn grants(&self, styles: Styles) -> Result<Grants, Failure> {
        let log = Log::new().sink(move |level, message| {
            let style = match level {
                Level::Error => ERROR,
                Level::Warn => WARNING,
                Level::Info => HELP,
                Level::Debug | Level::Trace => NOTE,
            };
            let level = styles.paint(style, level.as_str());
            print_stderr(&format!("[{level}] {message}\n"));
        });
        let mut grants = Grants::new().grant(log).grant(Json::new());
        grants = if self.deterministic {
            // 2000-01-01T00:00:00Z, advancing a millisecond per reading.
            grants
                .grant(Time::fixed(
                    946_684_800_000_000_000,
                    Duration::from_millis(1),
                ))
                .grant(Rand::seeded(0))
        } else {
            grants.grant(Time::system()).grant(Rand::os())
        };
        if let Some(path) = &self.kv {
            let kv = Kv::open(path).map_err(|e| {
                Failure::usage(format!("--kv {}: {e}", path.display()))
                    .help("give a database file to create or open, in a directory that exists")
            })?;
            grants = grants.grant(kv);
        }
        let dir = match (&self.dir, &self.dir_rw) {
            (Some(path), _) => Some((path, Fs::read_only(path), "--dir")),
            (None, Some(path)) => Some((path, Fs::read_write(path), "--dir-rw")),
            (None, None) => None,
        };
        if let Some((path, fs, flag)) = dir {
            let fs = fs.map_err(|e| {
                Failure::usage(format!("{flag} {}: {e}", path.display()))
                    .help("give a directory that exists")
            })?;
            grants = grants.grant(fs);
        }
        if !self.allow_http.is_empty() {
            let mut http = Http::new();
            for origin in &self.allow_http {
                let origin = if origin.contains("://") {
                    origin.clone()
                } else {
                    format!("https://{origin}")
                };
                http = http.allow(&origin);
            }
            grants = grants.grant(http);
        }
        Ok(grants)
    }
}

/// The import catalogue every command compiles with: every built-in
/// capability, granted or not, so that a program calling one compiles and
/// a run without the grant says which grant to add.
pub fn catalogue() -> Catalogue {
    Grants::new().catalogue()
}
