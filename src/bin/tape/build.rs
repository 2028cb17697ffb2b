//! `tape build`: compile a program into a module file.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use tape_compiler::Options;

use crate::failure::Failure;
use crate::grants;
use crate::input::{SourceOpts, display_name};
use crate::lints::LintOpts;
use crate::output::{Output, OutputOpts};

const AFTER_HELP: &str = "\
The module is written whole or not at all: to a temporary file beside the
output, renamed over it once complete. `tape run` runs it, `tape inspect`
shows what it holds.

Examples:
  tape build hello.wat                 writes hello.wasm
  tape build hello.wat -o out/app.wasm
  tape build - -o hello.wasm < hello.wat
  tape build hello.wat -o - | wc -c    the module on standard output";

/// Compile a program into a WebAssembly module.
#[derive(clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Opts {
    /// Where to write the module; `-` for standard output [default: FILE
    /// with the extension `.wasm`]
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    #[command(flatten)]
    source: SourceOpts,
    #[command(flatten)]
    lints: LintOpts,
    #[command(flatten)]
    output_opts: OutputOpts,
    /// The program: a `.wat` file, or `-` for standard input
    #[arg(help_heading = "Arguments")]
    file: PathBuf,
}

/// What `--json` adds to the envelope.
#[derive(Serialize)]
struct Body {
    file: String,
    /// The path written, or `-` for standard output.
    output: String,
    bytes: usize,
    /// What the lints found, as `error.diagnostics` are.
    warnings: serde_json::Value,
}

pub fn run(opts: Opts) -> u8 {
    let out = Output::new("build", &opts.output_opts);
    match execute(&opts, out) {
        Ok(body) => out.finish(Some(&body), None),
        Err(failure) => out.fail(&display_name(&opts.file), failure),
    }
}

fn execute(opts: &Opts, out: Output) -> Result<Body, Failure> {
    let target = target(opts, out)?;
    let input = opts.source.read(&opts.file)?;
    let manifest = grants::GrantOpts::default().manifest(&opts.file)?;
    let options = Options {
        catalogue: grants::catalogue(),
        budget: opts.source.budget(None),
        lints: opts.lints.lints(manifest.as_ref())?,
        ..Options::default()
    };
    let compiled = tape_compiler::compile_str(&input.name, input.source("build")?, &options)?;
    let warnings = crate::lints::report(compiled.warnings, out.json, out.styles)?;
    match &target {
        Target::Stdout => {
            let mut stdout = std::io::stdout().lock();
            let written = stdout
                .write_all(&compiled.wasm)
                .and_then(|()| stdout.flush());
            match written {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(Failure::io(format!("cannot write standard output: {e}")));
                }
                _ => {}
            }
        }
        Target::File(path) => {
            if input
                .path
                .as_deref()
                .is_some_and(|source| same_file(source, path))
            {
                return Err(Failure::usage(format!(
                    "the output `{}` is the source itself",
                    path.display()
                ))
                .help("give another output with `-o OUT.wasm`"));
            }
            write_atomically(path, &compiled.wasm)?;
        }
    }
    Ok(Body {
        file: input.name,
        output: match target {
            Target::Stdout => "-".into(),
            Target::File(path) => path.display().to_string(),
        },
        bytes: compiled.wasm.len(),
        warnings: crate::output::diagnostics_json(&warnings),
    })
}

/// Whether two paths name one file (both must exist to be the same).
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

enum Target {
    Stdout,
    File(PathBuf),
}

fn target(opts: &Opts, out: Output) -> Result<Target, Failure> {
    let path = match &opts.output {
        Some(path) => path.clone(),
        None if opts.file == Path::new("-") => {
            return Err(Failure::usage(
                "the program comes from standard input, so there is no file name to derive the output's from",
            )
            .help("give one with `-o OUT.wasm`, or `-o -` for standard output"));
        }
        None => opts.file.with_extension("wasm"),
    };
    if path != Path::new("-") {
        return Ok(Target::File(path));
    }
    if out.json {
        return Err(
            Failure::usage("`--json` and `-o -` would both write to standard output")
                .help("write the module to a file with `-o OUT.wasm`"),
        );
    }
    if std::io::stdout().is_terminal() {
        return Err(
            Failure::usage("refusing to write a binary module to a terminal")
                .help("redirect standard output to a file, or give `-o OUT.wasm`"),
        );
    }
    Ok(Target::Stdout)
}

/// Writes `bytes` to a temporary file in `path`'s directory, flushes it to
/// disk, and renames it over `path`: a reader sees the old file or the
/// whole new one, never a part, even if Tape is killed half-way.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let cannot = |e: std::io::Error| {
        // tempfile adds the temporary file's name, which means nothing to
        // the user; the OS's own message is enough.
        let e = e
            .raw_os_error()
            .map_or(e, std::io::Error::from_raw_os_error);
        Failure::io(format!("cannot write `{}`: {e}", path.display()))
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Failure::io(format!(
            "cannot write `{}`: there is no directory `{}`",
            path.display(),
            dir.display()
        )));
    }
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tape-build-").suffix(".tmp");
    // Created as `File::create` would (0o666 less the umask), not with a
    // temporary file's owner-only mode.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut file = builder.tempfile_in(dir).map_err(cannot)?;
    file.write_all(bytes).map_err(cannot)?;
    file.as_file().sync_all().map_err(cannot)?;
    // On failure the temporary file is dropped, which deletes it.
    file.persist(path).map_err(|e| cannot(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.wasm");
        std::fs::write(&path, b"old").unwrap();
        write_atomically(&path, b"new contents").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new contents");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["out.wasm"]);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a non-empty directory: the rename fails.
        let path = dir.path().join("taken");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("keep"), b"x").unwrap();
        let failure = write_atomically(&path, b"new").unwrap_err();
        assert!(
            failure.message.starts_with("cannot write"),
            "{}",
            failure.message
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["taken"]);
    }
}
