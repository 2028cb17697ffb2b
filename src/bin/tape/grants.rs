//! Which capabilities a program is granted.
//!
//! `core` is always granted and `tape run` grants `log`, writing to
//! standard error. Flags granting other capabilities belong in
//! [`GrantOpts`]; [`GrantOpts::grants`] turns them into [`Grants`].

use tape_compiler::Catalogue;
use tape_rt::{Grants, Level, Log};

use crate::failure::Failure;
use crate::output::{ERROR, HELP, NOTE, Styles, WARNING, print_stderr};

/// Capabilities `tape run` grants with no flags.
pub const DEFAULT_GRANTS: &[&str] = &["core", "log"];

/// The grant flags of `tape run` (none yet beyond the defaults).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct GrantOpts {}

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
        Ok(Grants::new().grant(log))
    }
}

/// The import catalogue every command compiles with: every built-in
/// capability, granted or not, so that a program calling one compiles and
/// a run without the grant says which grant to add.
pub fn catalogue() -> Catalogue {
    Grants::new().catalogue()
}
