//! `tape inspect DUMP`: the memory a stopped run left, with its map.

use std::io::Read;
use std::path::Path;

use serde::Serialize;
use tape_rt::trace::{DUMP_MAGIC, Dump};

use crate::failure::{Failure, Kind};
use crate::output::{NOTE, Output, Shown, Styles};

/// At most this many bytes of the heap are shown (and given in JSON).
const SHOWN: u64 = 4096;

/// Whether the file at `path` is a memory dump (by its first bytes).
pub fn is_dump(path: &Path) -> bool {
    let mut magic = [0; 8];
    std::fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut magic))
        .is_ok_and(|()| magic == DUMP_MAGIC)
}

/// What `--json` adds to the envelope for a dump.
#[derive(Serialize)]
struct Body {
    file: String,
    source: &'static str,
    program: String,
    sha256: String,
    error: String,
    backtrace: Vec<String>,
    memory_size: u64,
    initial_top: u32,
    top: u64,
    literals: Vec<Literal>,
    results: Vec<Shown>,
    /// The heap, from `initial_top`, in hex: at most 4096 bytes.
    heap: String,
    heap_truncated: bool,
}

#[derive(Serialize)]
struct Literal {
    offset: u32,
    line: u32,
    #[serde(flatten)]
    value: Shown,
}

pub fn inspect(path: &Path, out: Output) -> u8 {
    let name = path.display().to_string();
    match read(path) {
        Ok(dump) => {
            let body = body(&name, &dump);
            if !out.json {
                crate::output::print_stdout(&render(&dump, &body, out.styles));
            }
            out.finish(Some(&body), None)
        }
        Err(failure) => out.fail(&name, failure),
    }
}

fn read(path: &Path) -> Result<Dump, Failure> {
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::io(format!("cannot read `{}`: {e}", path.display())))?;
    Dump::from_bytes(&bytes)
        .map_err(|e| Failure::new(Kind::BadTrace, format!("`{}`: {e}", path.display())))
}

fn body(name: &str, dump: &Dump) -> Body {
    let start = u64::from(dump.initial_top);
    let end = dump.top.min(start + SHOWN);
    let heap = (start..end)
        .filter_map(|a| dump.byte(a))
        .map(|b| format!("{b:02x}"))
        .collect();
    Body {
        file: name.to_string(),
        source: "dump",
        program: dump.program.file.clone(),
        sha256: dump.program.hex(),
        error: dump.error.clone(),
        backtrace: dump.stack.clone(),
        memory_size: dump.memory_size,
        initial_top: dump.initial_top,
        top: dump.top,
        literals: dump
            .literals
            .iter()
            .map(|l| Literal {
                offset: l.offset,
                line: l.line,
                value: Shown::new(&l.bytes),
            })
            .collect(),
        results: dump
            .results
            .iter()
            .map(|r| Shown::new(r.get(4..).unwrap_or_default()))
            .collect(),
        heap,
        heap_truncated: dump.top > end,
    }
}

fn render(dump: &Dump, body: &Body, styles: Styles) -> String {
    let heading = |text: &str| styles.paint(NOTE, text);
    let mut text = format!(
        "{} {} (sha256 {}…)\n{} {}\n",
        heading("memory of:"),
        body.program,
        &body.sha256[..12],
        heading("stopped:"),
        body.error
    );
    for frame in &body.backtrace {
        text.push_str(&format!("  in {frame}\n"));
    }
    text.push_str(&format!(
        "{} {} bytes; static data 0x0..{:#x}, the allocator's top {:#x} ({} bytes allocated)\n",
        heading("memory:"),
        body.memory_size,
        body.initial_top,
        body.top,
        body.top.saturating_sub(u64::from(body.initial_top))
    ));
    if !body.literals.is_empty() {
        text.push_str(&format!("\n{}\n", heading("static literals:")));
        for literal in &body.literals {
            text.push_str(&format!(
                "  {:#06x}  line {:<4} {}\n",
                literal.offset,
                literal.line,
                show(&literal.value)
            ));
        }
    }
    text.push_str(&format!(
        "\n{} {}\n",
        heading("results handed over:"),
        body.results.len()
    ));
    for (index, result) in body.results.iter().enumerate() {
        text.push_str(&format!("  {index}  {}\n", show(result)));
    }
    let start = u64::from(dump.initial_top);
    let end = dump.top.min(start + SHOWN);
    text.push_str(&format!(
        "\n{} {:#x}..{:#x}{}\n",
        heading("heap:"),
        start,
        dump.top,
        if body.heap_truncated {
            format!(", the first {SHOWN} bytes")
        } else {
            String::new()
        }
    ));
    if end <= start {
        text.push_str("  (nothing allocated)\n");
    }
    let mut row = start - start % 16;
    while row < end {
        let bytes: Vec<Option<u8>> = (row..row + 16)
            .map(|a| {
                if a >= start && a < end {
                    dump.byte(a)
                } else {
                    None
                }
            })
            .collect();
        let hex: Vec<String> = bytes
            .iter()
            .map(|b| b.map_or("  ".into(), |b| format!("{b:02x}")))
            .collect();
        let ascii: String = bytes
            .iter()
            .map(|b| match b {
                Some(b) if b.is_ascii_graphic() || *b == b' ' => *b as char,
                Some(_) => '.',
                None => ' ',
            })
            .collect();
        text.push_str(&format!(
            "  {row:08x}  {}  {}  |{ascii}|\n",
            hex[..8].join(" "),
            hex[8..].join(" ")
        ));
        row += 16;
    }
    text
}

fn show(value: &Shown) -> String {
    if value.encoding == "hex" {
        format!("hex {}", value.value)
    } else {
        format!("{:?}", value.value)
    }
}
