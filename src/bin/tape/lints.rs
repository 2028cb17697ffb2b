//! Lint levels, from the command line over `[lints]` in `tape.toml`, and
//! the warnings a compile found.

use tape_caps::Manifest;
use tape_compiler::{Diagnostics, Level, Lints, Severity};

use crate::failure::Failure;
use crate::output::{Styles, WARNING};

/// The lint flags of `run`, `build` and `check`.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Lints")]
pub struct LintOpts {
    /// Make LINT an error, or every lint with `warnings`; repeatable
    /// (docs/language.md lists the lints)
    #[arg(long, value_name = "LINT")]
    deny: Vec<String>,
    /// Silence LINT, or every lint with `warnings`; repeatable
    #[arg(long, value_name = "LINT")]
    allow: Vec<String>,
    /// Make LINT a warning, over the manifest's level; repeatable
    #[arg(long, value_name = "LINT")]
    warn: Vec<String>,
}

impl LintOpts {
    /// The levels: the manifest's `[lints]`, then `--allow`, `--warn` and
    /// `--deny`, a later one over an earlier one for the same lint.
    pub fn lints(&self, manifest: Option<&Manifest>) -> Result<Lints, Failure> {
        let mut lints = Lints::default();
        for (name, level) in manifest.map_or(&[][..], |m| &m.lints[..]) {
            // Checked when the manifest was read.
            let _ = lints.set(name, *level);
        }
        for (names, level, flag) in [
            (&self.allow, Level::Allow, "--allow"),
            (&self.warn, Level::Warn, "--warn"),
            (&self.deny, Level::Deny, "--deny"),
        ] {
            for name in names {
                lints
                    .set(name, level)
                    .map_err(|e| Failure::usage(format!("`{flag} {name}`: {e}")))?;
            }
        }
        Ok(lints)
    }
}

/// What to do with the warnings of a compile: the denied ones fail it
/// (with the others shown too); else the warnings are printed on standard
/// error, unless in JSON, and returned for the JSON body.
pub fn report(warnings: Diagnostics, json: bool, styles: Styles) -> Result<Diagnostics, Failure> {
    if warnings
        .items()
        .iter()
        .any(|item| item.severity == Severity::Error)
    {
        return Err(tape_compiler::Error::Source(Box::new(warnings)).into());
    }
    if !json && !warnings.items().is_empty() {
        let count = warnings.items().iter().filter(|w| w.code.is_some()).count();
        // Past the compiler's cap, a last item counts the rest.
        let count = match warnings.items().iter().any(|w| w.code.is_none()) {
            true => format!("more than {count} warnings"),
            false if count == 1 => "1 warning".to_string(),
            false => format!("{count} warnings"),
        };
        let mut text = warnings.render(styles.color);
        text.push_str(&format!(
            "{}: `{}` compiled with {count}; `--deny warnings` makes them errors, `--allow LINT` silences one\n",
            styles.paint(WARNING, "warning"),
            warnings.file(),
        ));
        crate::output::print_stderr(&text);
    }
    Ok(warnings)
}
