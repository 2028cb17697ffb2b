//! Reading the file a command works on: a path, or `-` for standard input.

use std::io::Read;
use std::path::{Path, PathBuf};

use tape_compiler::Budget;

use crate::failure::{Failure, Kind, Location};

/// The first bytes of every binary WebAssembly module (and component).
const WASM_MAGIC: &[u8] = b"\0asm";

/// A file's bytes and the name to show for it.
#[derive(Debug)]
pub struct Input {
    /// The path as given, or `<stdin>`.
    pub name: String,
    /// The path, unless the input is standard input.
    pub path: Option<PathBuf>,
    pub bytes: Vec<u8>,
}

/// The name shown for `path`: itself, or `<stdin>` for `-`.
pub fn display_name(path: &Path) -> String {
    if path == Path::new("-") {
        "<stdin>".into()
    } else {
        path.display().to_string()
    }
}

/// `--max-source`, which every command that reads a program takes.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SourceOpts {
    /// Size of program accepted, its text or module bytes; a larger one is
    /// refused before it is read in full [default: 8MiB]
    #[arg(long, value_name = "SIZE", value_parser = crate::limits::parse_size)]
    max_source: Option<u64>,
}

impl SourceOpts {
    /// The compile budget: `--max-source`, and `timeout` for the time.
    pub fn budget(&self, timeout: Option<std::time::Duration>) -> Budget {
        Budget {
            max_source_bytes: self
                .max_source
                .map_or(Budget::DEFAULT_MAX_SOURCE_BYTES, |bytes| {
                    usize::try_from(bytes).unwrap_or(usize::MAX)
                }),
            timeout,
        }
    }

    /// Reads the program at `path` (`-` for standard input), up to
    /// `--max-source`.
    pub fn read(&self, path: &Path) -> Result<Input, Failure> {
        Input::read_max(path, self.budget(None).max_source_bytes)
    }
}

impl Input {
    /// Reads `path`, or standard input if it is `-`: at most `max` bytes,
    /// so that an endless input (`/dev/zero`, a pipe that never closes
    /// with data) is refused rather than read into memory.
    pub fn read_max(path: &Path, max: usize) -> Result<Input, Failure> {
        let name = display_name(path);
        let (reader, what, size): (Box<dyn Read>, String, Option<u64>) = if path == Path::new("-") {
            (Box::new(std::io::stdin()), "standard input".into(), None)
        } else {
            let file = std::fs::File::open(path)
                .map_err(|e| Failure::io(format!("cannot read `{}`: {e}", path.display())))?;
            let size = file
                .metadata()
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len());
            (Box::new(file), format!("`{}`", path.display()), size)
        };
        let mut bytes = Vec::new();
        reader
            .take(max as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::io(format!("cannot read {what}: {e}")))?;
        if bytes.len() > max {
            return Err(match size {
                Some(size) => tape_compiler::Error::TooLarge {
                    name,
                    size: usize::try_from(size).unwrap_or(usize::MAX),
                    limit: max,
                }
                .into(),
                None => Failure::new(
                    Kind::Compile,
                    format!("{what} holds more than {max} bytes, the compile budget"),
                )
                .help("raise the limit with `--max-source SIZE`"),
            });
        }
        Ok(Input {
            name,
            path: (path != Path::new("-")).then(|| path.to_path_buf()),
            bytes,
        })
    }

    /// Whether this is a binary module rather than text.
    pub fn is_module(&self) -> bool {
        self.bytes.starts_with(WASM_MAGIC)
    }

    /// The text, which must be UTF-8.
    pub fn text(&self) -> Result<&str, Failure> {
        std::str::from_utf8(&self.bytes).map_err(|error| {
            let valid = &self.bytes[..error.valid_up_to()];
            // Valid up to here, so counting is exact.
            let valid = std::str::from_utf8(valid).unwrap_or_default();
            let line = valid.matches('\n').count() + 1;
            let column = valid
                .rsplit('\n')
                .next()
                .unwrap_or_default()
                .chars()
                .count()
                + 1;
            let byte = self.bytes[error.valid_up_to()];
            Failure::new(
                Kind::Compile,
                format!("`{}` is not valid UTF-8: byte {byte:#04x}", self.name),
            )
            .at(Location {
                file: self.name.clone(),
                line,
                column,
                text: None,
            })
            .help("WebAssembly text is UTF-8; write other bytes as `\\hh` escapes in strings")
        })
    }

    /// The text, refusing a binary module with a pointer to what reads one.
    pub fn source(&self, command: &str) -> Result<&str, Failure> {
        if self.is_module() {
            return Err(Failure::usage(format!(
                "`{}` is a binary WebAssembly module; `tape {command}` reads WebAssembly text",
                self.name
            ))
            .help("`tape inspect` shows what a module holds, and `tape run` runs it"));
        }
        self.text()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_located_at_its_line_and_column() {
        let input = Input {
            name: "x.wat".into(),
            path: None,
            bytes: b"(func)\n  \"\xff\"".to_vec(),
        };
        let failure = input.text().unwrap_err();
        assert_eq!(failure.kind, Kind::Compile);
        assert_eq!(
            failure.details.location,
            Some(Location {
                file: "x.wat".into(),
                line: 2,
                column: 4,
                text: None,
            })
        );
        assert!(failure.message.contains("0xff"), "{}", failure.message);
    }
}
