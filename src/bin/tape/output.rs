//! How every command reports: text for people (colored on a terminal),
//! or one JSON object for scripts and agents (`--json`, schema in
//! `docs/cli.md`).

use std::ffi::OsString;
use std::io::{IsTerminal, Write};

use anstyle::{AnsiColor, Style};
use serde::Serialize;
use serde_json::{Map, Value, json};
use tape_compiler::Diagnostics;

use crate::failure::{Failure, Kind};

/// Version of the JSON that `--json` prints; raised only when a field
/// changes meaning or goes away (new fields may appear in any version).
pub const SCHEMA: u32 = 1;

/// The output flags every command takes.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Output")]
pub struct OutputOpts {
    /// Print one JSON object on standard output instead of text (schema
    /// in docs/cli.md)
    #[arg(long)]
    pub json: bool,
    /// When to color messages on standard error [default: auto, which
    /// colors a terminal unless NO_COLOR is set]
    #[arg(long, value_name = "WHEN", value_enum)]
    pub color: Option<ColorChoice>,
}

/// `--color`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Colors for standard error, or none.
#[derive(Debug, Clone, Copy)]
pub struct Styles {
    pub color: bool,
}

pub const ERROR: Style = AnsiColor::Red.on_default().bold();
pub const WARNING: Style = AnsiColor::Yellow.on_default().bold();
pub const HELP: Style = AnsiColor::Cyan.on_default().bold();
pub const NOTE: Style = Style::new().bold();

impl Styles {
    /// Whether to color standard error: `--color`, else a terminal whose
    /// user has not asked for no color (<https://no-color.org>: `NO_COLOR`
    /// set and not empty) and whose terminal can show it.
    pub fn for_stderr(choice: Option<ColorChoice>) -> Styles {
        let color = match choice.unwrap_or(ColorChoice::Auto) {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stderr().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
            }
        };
        Styles { color }
    }

    /// `text` in `style`, if coloring.
    pub fn paint(self, style: Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }
}

/// Where one command's report goes.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
    pub styles: Styles,
    command: &'static str,
}

impl Output {
    pub fn new(command: &'static str, opts: &OutputOpts) -> Output {
        Output {
            json: opts.json,
            styles: Styles::for_stderr(opts.color),
            command,
        }
    }

    /// Ends the command: in JSON mode prints the one object, made of
    /// `body`'s fields and the failure; in text mode prints the failure
    /// (the command printed its own text). Returns the exit code.
    pub fn finish<T: Serialize>(&self, body: Option<&T>, failure: Option<Failure>) -> u8 {
        let code = failure
            .as_ref()
            .map_or(crate::exit::SUCCESS, |f| f.kind.exit_code());
        if self.json {
            let body = body.map(|b| serde_json::to_value(b).unwrap_or(Value::Null));
            print_json(&envelope(Some(self.command), code, body, failure.as_ref()));
        } else if let Some(failure) = &failure {
            print_stderr(&render_failure(failure, self.styles));
        }
        code
    }

    /// Ends a command that failed before it had anything but the name of
    /// its file to report.
    pub fn fail(&self, file: &str, failure: Failure) -> u8 {
        self.finish(Some(&json!({ "file": file })), Some(failure))
    }
}

/// The JSON object `--json` prints for `body` and `failure`, which
/// `tape serve` answers with too.
pub fn json_report<T: Serialize>(command: &str, body: &T, failure: Option<&Failure>) -> Value {
    let code = failure.map_or(crate::exit::SUCCESS, |f| f.kind.exit_code());
    let body = serde_json::to_value(body).unwrap_or(Value::Null);
    envelope(Some(command), code, Some(body), failure)
}

/// The JSON object every command prints.
fn envelope(
    command: Option<&str>,
    exit_code: u8,
    body: Option<Value>,
    failure: Option<&Failure>,
) -> Value {
    let mut object = Map::new();
    object.insert("schema".into(), SCHEMA.into());
    object.insert("command".into(), command.into());
    object.insert("ok".into(), (exit_code == 0).into());
    object.insert("exit_code".into(), exit_code.into());
    if let Some(Value::Object(fields)) = body {
        object.extend(fields);
    }
    if let Some(failure) = failure {
        object.insert("error".into(), failure_json(failure));
    }
    Value::Object(object)
}

fn print_json(value: &Value) {
    let mut stdout = std::io::stdout().lock();
    // A closed stdout (`tape … | head`) is the reader's choice, not an
    // error of the program's.
    let _ = serde_json::to_writer(&mut stdout, value);
    let _ = writeln!(stdout);
}

fn failure_json(failure: &Failure) -> Value {
    let mut object = Map::new();
    object.insert("kind".into(), failure.kind.name().into());
    object.insert("message".into(), failure.message.clone().into());
    if let Some(help) = &failure.details.help {
        object.insert("help".into(), help.clone().into());
    }
    if let Some((module, name)) = &failure.details.import {
        object.insert("capability".into(), module.clone().into());
        object.insert("function".into(), name.clone().into());
    }
    if !failure.details.backtrace.is_empty() {
        object.insert("backtrace".into(), failure.details.backtrace.clone().into());
    }
    if let Some(usage) = &failure.details.usage {
        object.insert("usage".into(), usage.clone().into());
    }
    if let Some(reason) = &failure.details.reason {
        object.insert("reason".into(), reason.clone());
    }
    if !failure.details.also.is_empty() {
        let also: Vec<Value> = failure.details.also.iter().map(failure_json).collect();
        object.insert("also".into(), also.into());
    }
    if let Some(diagnostics) = &failure.details.diagnostics {
        object.insert("diagnostics".into(), diagnostics_json(diagnostics));
    } else if let Some(at) = &failure.details.location {
        object.insert(
            "diagnostics".into(),
            json!([{
                "severity": "error",
                "file": at.file,
                "line": at.line,
                "column": at.column,
                "end_line": at.line,
                "end_column": at.column + 1,
                "message": failure.message,
                "label": null,
                "help": failure.details.help,
            }]),
        );
    }
    Value::Object(object)
}

/// Each diagnostic with its place as 1-based lines and columns (columns
/// count characters); the end is exclusive.
pub fn diagnostics_json(diagnostics: &Diagnostics) -> Value {
    diagnostics
        .items()
        .iter()
        .map(|item| {
            let (start, end) = match &item.span {
                Some(span) => (
                    Some(diagnostics.line_col(span.start)),
                    Some(diagnostics.line_col(span.end)),
                ),
                None => (None, None),
            };
            json!({
                "severity": item.severity.name(),
                "lint": item.code,
                "file": diagnostics.file(),
                "line": start.map(|p| p.0),
                "column": start.map(|p| p.1),
                "end_line": end.map(|p| p.0),
                "end_column": end.map(|p| p.1),
                "message": item.message,
                "label": item.label,
                "help": item.help,
            })
        })
        .collect()
}

/// A failure as text for standard error.
pub fn render_failure(failure: &Failure, styles: Styles) -> String {
    let mut text = String::new();
    if let Some(diagnostics) = &failure.details.diagnostics {
        text.push_str(&diagnostics.render(styles.color));
    }
    text.push_str(&format!(
        "{}: {}\n",
        styles.paint(ERROR, "error"),
        failure.message
    ));
    for frame in &failure.details.backtrace {
        text.push_str(&format!("  in {frame}\n"));
    }
    if let Some(at) = &failure.details.location {
        text.push_str(&format!("  --> {}:{}:{}\n", at.file, at.line, at.column));
        if let Some(line) = &at.text {
            // As the compiler's diagnostics show a place: the line, and a
            // caret under the column.
            let number = at.line.to_string();
            let gutter = " ".repeat(number.len());
            let pad: String = line
                .chars()
                .take(at.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let bar = styles.paint(NOTE, "|");
            text.push_str(&format!("{gutter} {bar}\n"));
            text.push_str(&format!("{} {bar} {line}\n", styles.paint(NOTE, &number)));
            text.push_str(&format!(
                "{gutter} {bar} {pad}{}\n",
                styles.paint(ERROR, "^")
            ));
        }
    }
    if let Some(help) = &failure.details.help {
        text.push_str(&format!("{}: {help}\n", styles.paint(HELP, "help")));
    }
    if let Some(usage) = &failure.details.usage {
        text.push('\n');
        text.push_str(usage);
    }
    for also in &failure.details.also {
        text.push('\n');
        text.push_str(&render_failure(also, styles));
    }
    text
}

/// Reports a command line clap rejected (or help and version, which clap
/// also reports as errors) and returns the exit code.
///
/// With `--json` anywhere on the command line, a usage error is the usual
/// JSON object, so a script asking for JSON always gets JSON.
/// `args` are the arguments after the program's name.
pub fn clap_error(error: &clap::Error, args: &[OsString], commands: &[&str]) -> u8 {
    let code = u8::try_from(error.exit_code()).unwrap_or(crate::exit::USAGE);
    if code == 0 || !args.iter().any(|a| a == "--json") {
        let _ = error.print();
        return code;
    }
    let command = args
        .iter()
        .find_map(|a| commands.iter().find(|c| a == **c).copied());
    // The message without clap's usage block and pointer to `--help`.
    let rendered = error.render().to_string();
    let message = rendered
        .split("\n\nUsage:")
        .next()
        .unwrap_or_default()
        .trim()
        .trim_start_matches("error: ");
    let mut failure = Failure::new(Kind::Usage, message);
    failure.details.help = Some(match command {
        Some(command) => format!("see `tape {command} --help`"),
        None => "see `tape --help`".into(),
    });
    print_json(&envelope(command, code, None, Some(&failure)));
    code
}

/// Bytes shown to a person: their text if it is UTF-8 with no control
/// characters but tab, newline and carriage return (so binary data cannot
/// pass for text or send escapes to a terminal), else lowercase hex.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Shown {
    /// `"utf-8"` or `"hex"`.
    pub encoding: &'static str,
    pub value: String,
}

impl Shown {
    pub fn new(bytes: &[u8]) -> Shown {
        let text = std::str::from_utf8(bytes).ok().filter(|text| {
            text.chars()
                .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        });
        match text {
            Some(text) => Shown {
                encoding: "utf-8",
                value: text.to_string(),
            },
            None => Shown {
                encoding: "hex",
                value: hex(bytes),
            },
        }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// Writes `text` to standard output. A closed pipe (`tape … | head`) is the
/// reader's choice, not a failure, so write errors are ignored rather than
/// panicking as `print!` would.
pub fn print_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Writes `text` to standard error, ignoring errors as [`print_stdout`]
/// does (`eprint!` would panic on a closed standard error).
pub fn print_stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_show_as_text_when_utf8_and_hex_otherwise() {
        assert_eq!(
            Shown::new("héllo".as_bytes()),
            Shown {
                encoding: "utf-8",
                value: "héllo".into()
            }
        );
        assert_eq!(Shown::new(b"a\tb\r\n").encoding, "utf-8");
        assert_eq!(Shown::new(b"\x1b[31m").encoding, "hex");
        assert_eq!(Shown::new(b"\x01\0\0\0a").encoding, "hex");
        assert_eq!(
            Shown::new(&[0, 0xff, 0x10]),
            Shown {
                encoding: "hex",
                value: "00ff10".into()
            }
        );
    }

    #[test]
    fn the_envelope_has_schema_command_ok_and_exit_code_first() {
        let failure = Failure::usage("bad").help("do this");
        let value = envelope(Some("run"), 2, Some(json!({"file": "x"})), Some(&failure));
        assert_eq!(
            value.to_string(),
            r#"{"schema":1,"command":"run","ok":false,"exit_code":2,"file":"x","error":{"kind":"usage","message":"bad","help":"do this"}}"#
        );
    }

    #[test]
    fn paint_adds_escapes_only_with_color() {
        assert_eq!(Styles { color: false }.paint(ERROR, "error"), "error");
        let painted = Styles { color: true }.paint(ERROR, "error");
        assert!(painted.starts_with("\x1b[") && painted.ends_with("\x1b[0m"));
    }
}
