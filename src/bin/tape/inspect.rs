//! `tape inspect`: what a module holds and what it needs.

use std::path::PathBuf;

use serde::Serialize;
use tape_compiler::{Metadata, Options};
use wasmparser::types::{EntityType, TypesRef};
use wasmparser::{CompositeInnerType, Validator};

use crate::failure::{Failure, Kind};
use crate::grants::{self, DEFAULT_GRANTS};
use crate::input::{SourceOpts, display_name};
use crate::output::{NOTE, Output, OutputOpts, Shown, Styles};
use crate::usage;

const AFTER_HELP: &str = "\
Shows the module's `tape` section (format version, where the allocator
starts, the literal table), the capabilities its imports require and
whether `tape run` grants them, the arguments it declares (its usage),
and its exports. A `.wat` file is compiled first; nothing is run. With
--json, `arguments_schema` is a JSON Schema of the object
`tape run --args-json` takes.

A memory dump from `tape run --dump FILE` shows what stopped the run and
where, the memory's size, the static literals, the allocator's top, the
results handed over, and the heap in hex.

Examples:
  tape inspect hello.wasm
  tape inspect hello.wat
  tape inspect --json hello.wasm | jq '.metadata.capabilities'
  tape inspect --json greet.wat | jq '.arguments_schema'";

/// Show what a module holds and which capabilities it needs.
#[derive(clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Opts {
    #[command(flatten)]
    source: SourceOpts,
    #[command(flatten)]
    output: OutputOpts,
    /// A module (`.wasm`), a program (`.wat`, compiled first), `-` for
    /// standard input, or a memory dump from `tape run --dump`
    #[arg(help_heading = "Arguments")]
    file: PathBuf,
}

/// What `--json` adds to the envelope.
#[derive(Serialize)]
struct Body {
    file: String,
    /// `"module"` or `"text"` (compiled to a module first).
    source: &'static str,
    /// Size of the module in bytes.
    bytes: usize,
    /// The `tape` section; `null` if the module has none.
    metadata: Option<MetadataJson>,
    imports: Vec<ImportJson>,
    exports: Vec<ExportJson>,
    /// A JSON Schema of the declared arguments, as an object by name;
    /// `null` if the program declares none.
    arguments_schema: Option<serde_json::Value>,
    /// The usage line, when the program declares arguments.
    #[serde(skip)]
    usage: Option<String>,
}

#[derive(Serialize)]
struct MetadataJson {
    format_version: u32,
    initial_top: u32,
    capabilities: Vec<CapabilityJson>,
    literals: Vec<LiteralJson>,
    arguments: Vec<ArgumentJson>,
}

/// A declared argument.
#[derive(Serialize)]
struct ArgumentJson {
    name: String,
    #[serde(rename = "type")]
    ty: &'static str,
    description: String,
    /// Its default in text form, as a word would give it; `null` if it is
    /// required.
    default: Option<String>,
    required: bool,
}

#[derive(Serialize)]
struct CapabilityJson {
    name: String,
    functions: Vec<String>,
    /// Whether this Tape has a capability of that name.
    known: bool,
    /// Whether `tape run` grants it without a flag.
    granted_by_default: bool,
}

#[derive(Serialize)]
struct LiteralJson {
    offset: u32,
    line: u32,
    len: usize,
    #[serde(flatten)]
    value: Shown,
    #[serde(skip)]
    raw: Vec<u8>,
}

#[derive(Serialize)]
struct ImportJson {
    module: String,
    name: String,
    kind: &'static str,
    #[serde(rename = "type")]
    ty: String,
}

#[derive(Serialize)]
struct ExportJson {
    name: String,
    kind: &'static str,
    #[serde(rename = "type")]
    ty: String,
}

pub fn run(opts: Opts) -> u8 {
    let out = Output::new("inspect", &opts.output);
    if crate::dump::is_dump(&opts.file) {
        return crate::dump::inspect(&opts.file, out);
    }
    match execute(&opts) {
        Ok(body) => {
            if !out.json {
                crate::output::print_stdout(&render(&body, out.styles));
            }
            out.finish(Some(&body), None)
        }
        Err(failure) => out.fail(&display_name(&opts.file), failure),
    }
}

fn execute(opts: &Opts) -> Result<Body, Failure> {
    let input = opts.source.read(&opts.file)?;
    let (source, wasm, metadata) = if input.is_module() {
        let metadata = Metadata::from_module(&input.bytes)?;
        ("module", input.bytes, metadata)
    } else {
        let options = Options {
            catalogue: grants::catalogue(),
            budget: opts.source.budget(None),
            ..Options::default()
        };
        let compiled = tape_compiler::compile_str(&input.name, input.text()?, &options)?;
        ("text", compiled.wasm, Some(compiled.metadata))
    };
    let types = Validator::new().validate_all(&wasm).map_err(|e| {
        Failure::new(
            Kind::InvalidModule,
            format!("not a valid WebAssembly module: {e}"),
        )
    })?;
    let types = types.as_ref();
    let (Some(imports), Some(exports)) = (types.core_imports(), types.core_exports()) else {
        return Err(Failure::new(
            Kind::InvalidModule,
            format!("`{}` is a component; Tape runs core modules", input.name),
        ));
    };
    let imports = imports
        .map(|(module, name, ty)| ImportJson {
            module: module.to_string(),
            name: name.to_string(),
            kind: kind(&ty),
            ty: show_type(types, &ty),
        })
        .collect();
    let exports = exports
        .map(|(name, ty)| ExportJson {
            name: name.to_string(),
            kind: kind(&ty),
            ty: show_type(types, &ty),
        })
        .collect();
    let declared = metadata
        .as_ref()
        .map(|m| m.arguments.as_slice())
        .filter(|arguments| !arguments.is_empty());
    let arguments_schema = declared.map(|arguments| usage::schema(&input.name, arguments));
    let usage = declared.map(|arguments| usage::usage(&input.name, arguments));
    Ok(Body {
        file: input.name,
        source,
        bytes: wasm.len(),
        metadata: metadata.map(metadata_json),
        imports,
        exports,
        arguments_schema,
        usage,
    })
}

fn metadata_json(metadata: Metadata) -> MetadataJson {
    let catalogue = grants::catalogue();
    let mut capabilities: Vec<CapabilityJson> = Vec::new();
    for import in &metadata.imports {
        match capabilities.iter_mut().find(|c| c.name == import.module) {
            Some(capability) => capability.functions.push(import.name.clone()),
            None => capabilities.push(CapabilityJson {
                name: import.module.clone(),
                functions: vec![import.name.clone()],
                known: catalogue.has_module(&import.module),
                granted_by_default: DEFAULT_GRANTS.contains(&import.module.as_str()),
            }),
        }
    }
    MetadataJson {
        format_version: metadata.version,
        initial_top: metadata.initial_top,
        capabilities,
        arguments: metadata
            .arguments
            .iter()
            .map(|argument| ArgumentJson {
                name: argument.name.clone(),
                ty: argument.ty.name(),
                description: argument.description.clone(),
                default: argument.default.clone(),
                required: argument.is_required(),
            })
            .collect(),
        literals: metadata
            .literals
            .iter()
            .map(|literal| LiteralJson {
                offset: literal.offset,
                line: literal.line,
                len: literal.value.len(),
                value: Shown::new(&literal.value),
                raw: literal.value.clone(),
            })
            .collect(),
    }
}

fn kind(ty: &EntityType) -> &'static str {
    match ty {
        EntityType::Func(_) | EntityType::FuncExact(_) => "func",
        EntityType::Table(_) => "table",
        EntityType::Memory(_) => "memory",
        EntityType::Global(_) => "global",
        EntityType::Tag(_) => "tag",
    }
}

/// A type as WebAssembly text writes it: `(func (param i32) (result i32))`,
/// `(memory 1 16)`.
fn show_type(types: TypesRef<'_>, ty: &EntityType) -> String {
    let function = |id: wasmparser::types::CoreTypeId| {
        let sub = &types[id];
        match &sub.composite_type.inner {
            CompositeInnerType::Func(func) => func.to_string(),
            _ => sub.to_string(),
        }
    };
    let limits = |initial: u64, maximum: Option<u64>| match maximum {
        Some(maximum) => format!("{initial} {maximum}"),
        None => initial.to_string(),
    };
    match ty {
        EntityType::Func(id) | EntityType::FuncExact(id) => function(*id),
        EntityType::Tag(id) => format!("(tag {})", function(*id)),
        EntityType::Table(table) => format!(
            "(table {}{}{} {})",
            if table.table64 { "i64 " } else { "" },
            limits(table.initial, table.maximum),
            if table.shared { " shared" } else { "" },
            table.element_type
        ),
        EntityType::Memory(memory) => format!(
            "(memory {}{}{})",
            if memory.memory64 { "i64 " } else { "" },
            limits(memory.initial, memory.maximum),
            if memory.shared { " shared" } else { "" },
        ),
        EntityType::Global(global) if global.mutable => {
            format!("(global (mut {}))", global.content_type)
        }
        EntityType::Global(global) => format!("(global {})", global.content_type),
    }
}

/// How many characters of a literal the text view shows.
const LITERAL_WIDTH: usize = 60;

fn render(body: &Body, styles: Styles) -> String {
    let heading = |text: &str| styles.paint(NOTE, text);
    let mut text = format!(
        "{} {} ({}{} bytes)\n",
        heading("module:"),
        body.file,
        if body.source == "text" {
            "compiled from text, "
        } else {
            ""
        },
        body.bytes
    );
    match &body.metadata {
        Some(metadata) => {
            text.push_str(&format!(
                "{} format {}, initial_top {}\n",
                heading("tape section:"),
                metadata.format_version,
                metadata.initial_top
            ));
            text.push_str(&format!("\n{}\n", heading("capabilities:")));
            let rows = metadata
                .capabilities
                .iter()
                .map(|c| {
                    let status = if c.name == "core" {
                        "always granted"
                    } else if c.granted_by_default {
                        "granted by `tape run`"
                    } else if c.known {
                        "needs a grant"
                    } else {
                        "unknown: no capability has this name"
                    };
                    vec![c.name.clone(), c.functions.join(", "), status.to_string()]
                })
                .collect();
            text.push_str(&table(rows));
            text.push_str(&format!("\n{}\n", heading("arguments:")));
            match &body.usage {
                Some(usage) => {
                    // The usage without its own heading, indented.
                    for line in usage
                        .lines()
                        .filter(|l| *l != "arguments:" && !l.is_empty())
                    {
                        text.push_str(&format!("  {}\n", line.trim_start()));
                    }
                }
                None => text.push_str("  none declared: the program gets its words as strings\n"),
            }
        }
        None => text.push_str(&format!(
            "{} none: not compiled by Tape, so `tape run` cannot run it\n",
            heading("tape section:")
        )),
    }
    text.push_str(&format!("\n{}\n", heading("imports:")));
    text.push_str(&table(
        body.imports
            .iter()
            .map(|i| vec![format!("{}.{}", i.module, i.name), i.ty.clone()])
            .collect(),
    ));
    text.push_str(&format!("\n{}\n", heading("exports:")));
    text.push_str(&table(
        body.exports
            .iter()
            .map(|e| vec![e.name.clone(), e.ty.clone()])
            .collect(),
    ));
    if let Some(metadata) = &body.metadata {
        text.push_str(&format!("\n{}\n", heading("literals:")));
        let mut rows = vec![vec![
            "offset".to_string(),
            "line".to_string(),
            "bytes".to_string(),
            "value".to_string(),
        ]];
        if metadata.literals.is_empty() {
            rows.clear();
        }
        for literal in &metadata.literals {
            rows.push(vec![
                literal.offset.to_string(),
                literal.line.to_string(),
                literal.len.to_string(),
                escaped(&literal.raw),
            ]);
        }
        text.push_str(&table(rows));
    }
    text
}

/// Rows as aligned columns, indented; `  (none)` for no rows.
fn table(rows: Vec<Vec<String>>) -> String {
    if rows.is_empty() {
        return "  (none)\n".into();
    }
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    for row in rows {
        let mut line = String::from(" ");
        for (cell, width) in row.iter().zip(&widths) {
            line.push(' ');
            line.push_str(cell);
            line.push_str(&" ".repeat(width - cell.chars().count() + 1));
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// A literal as a WebAssembly text string, `"…"`, so it can be pasted
/// back into a program; cut at [`LITERAL_WIDTH`] characters with `…`.
fn escaped(bytes: &[u8]) -> String {
    let mut body = String::new();
    let mut cut = false;
    'chunks: for chunk in bytes.utf8_chunks() {
        let mut pieces: Vec<String> = chunk.valid().chars().map(escape_char).collect();
        pieces.extend(chunk.invalid().iter().map(|b| format!("\\{b:02x}")));
        for piece in pieces {
            if body.chars().count() + piece.chars().count() > LITERAL_WIDTH {
                cut = true;
                break 'chunks;
            }
            body.push_str(&piece);
        }
    }
    if cut {
        format!("\"{body}\"…")
    } else {
        format!("\"{body}\"")
    }
}

fn escape_char(c: char) -> String {
    match c {
        '"' => "\\\"".into(),
        '\\' => "\\\\".into(),
        '\n' => "\\n".into(),
        '\t' => "\\t".into(),
        '\r' => "\\r".into(),
        c if c.is_control() => {
            let mut buffer = [0; 4];
            c.encode_utf8(&mut buffer)
                .bytes()
                .map(|b| format!("\\{b:02x}"))
                .collect()
        }
        c => c.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_escaped_as_webassembly_text_writes_them() {
        assert_eq!(escaped(b"hello, world"), r#""hello, world""#);
        assert_eq!(escaped(b"a\"b\\c\n\t\r"), r#""a\"b\\c\n\t\r""#);
        assert_eq!(escaped(b"\x00\x1b\xff"), r#""\00\1b\ff""#);
        assert_eq!(escaped("é€".as_bytes()), "\"é€\"");
        let long = "x".repeat(100);
        assert_eq!(escaped(long.as_bytes()), format!("\"{}\"…", "x".repeat(60)));
    }

    #[test]
    fn tables_align_columns_and_say_none_when_empty() {
        assert_eq!(table(vec![]), "  (none)\n");
        assert_eq!(
            table(vec![
                vec!["a".into(), "bb".into(), "c".into()],
                vec!["ddd".into(), "e".into(), "f".into()],
            ]),
            "  a    bb  c\n  ddd  e   f\n"
        );
    }
}
