//! The encoder: turns the module `wast` produced into a Tape module.
//!
//! Sections are copied byte for byte. Only those Tape must change are
//! re-encoded: the memory section (to make room for static data), the
//! exports (`mem.tape`, `run`), the data section (one more segment) and its
//! count; a `tape` custom section is appended. Validation runs last, on the
//! final bytes.

use std::ops::Range;

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{
    ConstExpr, CustomSection, DataCountSection, DataSection, ExportKind, ExportSection,
    MemorySection, MemoryType, Module, RawSection,
};
use wasmparser::{
    DataKind, ExternalKind, KnownCustom, Name, Operator, Parser, Payload, TypeRef, Validator,
};

use crate::explain::{Cause, explain};
use crate::metadata::{Argument, FORMAT_VERSION, Import, LineEntry, Metadata, SECTION_NAME};
use crate::preprocess::{STATIC_BASE, StaticData};

/// The name the guest's memory is exported under.
pub const MEMORY_EXPORT: &str = "mem.tape";

/// The name the entry point is exported under.
pub const RUN_EXPORT: &str = "run";

/// A problem with the module as a whole, or inside one function.
#[derive(Debug)]
pub(crate) struct EncodeError {
    pub message: String,
    /// The function the problem is in, by name if it has one.
    pub function: Option<String>,
    /// The source line and column of the instruction, if known.
    pub position: Option<(u32, u32)>,
    /// What to do about it, where something is known.
    pub help: Option<&'static str>,
    /// For a stack-type error, the instructions that caused it, with
    /// their source positions. Boxed: errors are rare, and small results
    /// are fast.
    pub cause: Option<Box<CauseAt>>,
}

/// A [`Cause`] with the source position of each instruction it names.
#[derive(Debug)]
pub(crate) struct CauseAt {
    pub cause: Cause,
    pub origin: Option<(u32, u32)>,
    pub next: Option<(u32, u32)>,
}

impl EncodeError {
    fn new(message: impl Into<String>) -> Self {
        EncodeError {
            message: message.into(),
            help: None,
            cause: None,
            function: None,
            position: None,
        }
    }
}

fn invalid(error: impl std::fmt::Display) -> EncodeError {
    EncodeError::new(error.to_string())
}

/// What the first pass learns about the module.
#[derive(Default)]
struct Survey<'a> {
    /// `(id, contents range)` of every section, in order.
    sections: Vec<(u8, Range<usize>)>,
    imported_memories: Vec<wasmparser::MemoryType>,
    defined_memories: Vec<wasmparser::MemoryType>,
    exports: Vec<(&'a str, ExternalKind, u32)>,
    imports: Vec<Import>,
    imported_functions: u32,
    data_segments: u32,
    /// End of the furthest active data segment at a constant offset in
    /// memory 0.
    user_data_end: u64,
    /// Names from the `name` section, by function index.
    function_names: Vec<(u32, &'a str)>,
}

pub(crate) struct Encoded {
    pub wasm: Vec<u8>,
    pub metadata: Metadata,
    /// Where the `tape` section starts: it is the module's last.
    pub tape_section: usize,
}

impl Encoded {
    /// Writes the `tape` section again, with what `metadata` holds now.
    pub(crate) fn rewrite_metadata(&mut self) {
        self.wasm.truncate(self.tape_section);
        let mut section = Module::new();
        section.section(&CustomSection {
            name: SECTION_NAME.into(),
            data: self.metadata.encode().into(),
        });
        // Without the module header: magic and version, 8 bytes.
        self.wasm.extend_from_slice(&section.finish()[8..]);
    }
}

/// Maps a byte offset in the expanded text to the user's source (line and
/// character column).
pub(crate) type Locate<'a> = dyn FnMut(usize) -> Option<(u32, u32)> + 'a;

/// `plain`: the source used none of Tape's extensions, so it is valid only
/// if `wat`'s encoding of it is: a memory Tape adds must not make valid
/// what has no memory to use (`(func (drop (memory.size)))`).
///
/// `spans`: for each function the module defines, in order, where each of
/// its instructions starts in the expanded text (empty for no line table).
pub(crate) fn encode(
    wasm: &[u8],
    spans: &[Vec<usize>],
    data: &StaticData,
    file: &str,
    plain: bool,
    arguments: &[Argument],
    locate: &mut Locate<'_>,
) -> Result<Encoded, EncodeError> {
    let survey = survey(wasm)?;
    let code = survey
        .sections
        .iter()
        .find(|(id, _)| *id == CODE)
        .map(|(_, range)| range.clone());
    let rows = code
        .clone()
        .map(|code| line_rows(wasm, code, spans))
        .unwrap_or_default();
    if plain && survey.imported_memories.is_empty() && survey.defined_memories.is_empty() {
        let lines = code
            .map(|code| {
                line_table(
                    &rows,
                    entries_start(&wasm[code.clone()], code.start),
                    locate,
                )
            })
            .unwrap_or_default();
        let as_written = Metadata {
            version: FORMAT_VERSION,
            initial_top: 0,
            imports: Vec::new(),
            literals: Vec::new(),
            file: file.to_string(),
            lines,
            arguments: Vec::new(),
            warnings: Vec::new(),
        };
        validate(wasm, &survey, &as_written).map_err(|mut error| {
            if error.message.starts_with("unknown memory") {
                error.help = Some(
                    "declare one, `(memory 1)`: Tape adds a memory by itself only to a \
                     program that uses its extensions (literals, macros, capabilities) \
                     or leaves out `(module …)`",
                );
            }
            error
        })?;
    }
    let has_literals = data.image.len() > STATIC_BASE;
    let literals_end = data.image.len() as u64;
    // Static data ends within 64 MiB, but a user's segment may end past
    // 4 GiB, even at the top of a 64-bit address space. In a 32-bit memory
    // it traps at instantiation, and a 64-bit memory 0 is not run by the
    // runtime, so no allocator starts there: the start is clamped, and the
    // module compiles as `wat` compiles it.
    let initial_top = literals_end
        .max(survey.user_data_end)
        .max(STATIC_BASE as u64)
        .checked_next_multiple_of(8)
        .and_then(|top| u32::try_from(top).ok())
        .unwrap_or(!7);

    // Without literals there is no static data: every memory stays as
    // written, and the allocator grows memory 0 when it needs room.
    let memory = plan_memory(&survey, if has_literals { literals_end } else { 0 })?;
    let exports = plan_exports(&survey)?;

    let mut metadata = Metadata {
        version: FORMAT_VERSION,
        initial_top,
        imports: survey.imports.clone(),
        literals: data.literals.clone(),
        file: file.to_string(),
        lines: Vec::new(),
        arguments: arguments.to_vec(),
        warnings: Vec::new(),
    };

    let mut module = Module::new();
    // New sections wait here until a section that must follow them.
    let mut pending = Vec::new();
    if let MemoryPlan::Add(ty) = &memory {
        let mut section = MemorySection::new();
        section.memory(*ty);
        pending.push(NewSection::Memory(section));
    }
    if !survey.sections.iter().any(|(id, _)| *id == EXPORT) {
        let mut section = ExportSection::new();
        for (name, kind, index) in &exports {
            section.export(name, *kind, *index);
        }
        pending.push(NewSection::Export(section));
    }
    let memory64 = memory.is_64();
    let segment_offset = if memory64 {
        ConstExpr::i64_const(STATIC_BASE as i64)
    } else {
        ConstExpr::i32_const(STATIC_BASE as i32)
    };
    if has_literals && !survey.sections.iter().any(|(id, _)| *id == DATA) {
        let mut section = DataSection::new();
        section.active(
            0,
            &segment_offset,
            data.image[STATIC_BASE..].iter().copied(),
        );
        pending.push(NewSection::Data(section));
    }

    for (id, range) in &survey.sections {
        let id = *id;
        let contents = &wasm[range.clone()];
        if id != CUSTOM {
            flush_pending(&mut module, &mut pending, order(id));
        }
        match id {
            CUSTOM if is_dwarf(contents) => {}
            CODE => {
                let start = module.as_slice().len() + 1 + leb128_len(contents.len());
                metadata.lines = line_table(&rows, entries_start(contents, start), locate);
                module.section(&RawSection { id, data: contents });
            }
            MEMORY => match &memory {
                MemoryPlan::Raise { minimum, .. } => {
                    let reader = wasmparser::MemorySectionReader::new(
                        wasmparser::BinaryReader::new(contents, range.start),
                    )
                    .map_err(invalid)?;
                    let mut section = MemorySection::new();
                    for (i, ty) in reader.into_iter().enumerate() {
                        let mut ty = RoundtripReencoder
                            .memory_type(ty.map_err(invalid)?)
                            .map_err(invalid)?;
                        if i == 0 {
                            ty.minimum = *minimum;
                        }
                        section.memory(ty);
                    }
                    module.section(&section);
                }
                _ => {
                    module.section(&RawSection { id, data: contents });
                }
            },
            EXPORT => {
                let reader = wasmparser::ExportSectionReader::new(wasmparser::BinaryReader::new(
                    contents,
                    range.start,
                ))
                .map_err(invalid)?;
                let mut section = ExportSection::new();
                RoundtripReencoder
                    .parse_export_section(&mut section, reader)
                    .map_err(invalid)?;
                for (name, kind, index) in &exports {
                    section.export(name, *kind, *index);
                }
                module.section(&section);
            }
            DATA if has_literals => {
                let reader = wasmparser::DataSectionReader::new(wasmparser::BinaryReader::new(
                    contents,
                    range.start,
                ))
                .map_err(invalid)?;
                let mut section = DataSection::new();
                RoundtripReencoder
                    .parse_data_section(&mut section, reader)
                    .map_err(invalid)?;
                section.active(
                    0,
                    &segment_offset,
                    data.image[STATIC_BASE..].iter().copied(),
                );
                module.section(&section);
            }
            DATA_COUNT if has_literals => {
                module.section(&DataCountSection {
                    count: survey.data_segments + 1,
                });
            }
            _ => {
                module.section(&RawSection { id, data: contents });
            }
        }
    }
    flush_pending(&mut module, &mut pending, u8::MAX);
    let tape_section = module.as_slice().len();
    module.section(&CustomSection {
        name: SECTION_NAME.into(),
        data: metadata.encode().into(),
    });
    let wasm_out = module.finish();
    validate(&wasm_out, &survey, &metadata)?;
    if let Some((_, _, index)) = exports.iter().find(|(name, ..)| *name == RUN_EXPORT) {
        check_run(&wasm_out, *index)?;
    }
    Ok(Encoded {
        wasm: wasm_out,
        metadata,
        tape_section,
    })
}

const CUSTOM: u8 = 0;
const CODE: u8 = 10;
const MEMORY: u8 = 5;
const EXPORT: u8 = 7;
const DATA: u8 = 11;
const DATA_COUNT: u8 = 12;

/// Where a section must stand among the others (custom sections aside).
fn order(id: u8) -> u8 {
    match id {
        1..=5 => id,     // type, import, function, table, memory
        13 => 6,         // tag
        6..=8 => id + 1, // global, export, start
        9 => 10,         // element
        12 => 11,        // data count
        10 => 12,        // code
        11 => 13,        // data
        _ => 14,
    }
}

/// A section the module lacked and Tape adds.
enum NewSection {
    Memory(MemorySection),
    Export(ExportSection),
    Data(DataSection),
}

impl NewSection {
    fn order(&self) -> u8 {
        order(match self {
            NewSection::Memory(_) => MEMORY,
            NewSection::Export(_) => EXPORT,
            NewSection::Data(_) => DATA,
        })
    }
}

/// Writes the new sections that must come before a section of order
/// `before`.
fn flush_pending(module: &mut Module, pending: &mut Vec<NewSection>, before: u8) {
    pending.retain(|section| {
        if section.order() >= before {
            return true;
        }
        match section {
            NewSection::Memory(s) => module.section(s),
            NewSection::Export(s) => module.section(s),
            NewSection::Data(s) => module.section(s),
        };
        false
    });
}

fn survey(wasm: &[u8]) -> Result<Survey<'_>, EncodeError> {
    let mut s = Survey::default();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(invalid)?;
        if let Some(section) = payload.as_section() {
            s.sections.push(section);
        }
        match payload {
            Payload::Version { encoding, .. } if encoding != wasmparser::Encoding::Module => {
                return Err(EncodeError::new(
                    "Tape compiles core modules; components are not supported",
                ));
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(invalid)?;
                    match import.ty {
                        TypeRef::Func(_) | TypeRef::FuncExact(_) => {
                            s.imported_functions += 1;
                            s.imports.push(Import {
                                module: import.module.to_string(),
                                name: import.name.to_string(),
                            });
                        }
                        TypeRef::Memory(ty) => s.imported_memories.push(ty),
                        _ => {}
                    }
                }
            }
            Payload::MemorySection(reader) => {
                for ty in reader {
                    s.defined_memories.push(ty.map_err(invalid)?);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(invalid)?;
                    s.exports.push((export.name, export.kind, export.index));
                }
            }
            Payload::DataSection(reader) => {
                for segment in reader {
                    let segment = segment.map_err(invalid)?;
                    s.data_segments += 1;
                    if let DataKind::Active {
                        memory_index: 0,
                        offset_expr,
                    } = segment.kind
                        && let Some(offset) = constant_offset(&offset_expr)
                    {
                        let end = offset.saturating_add(segment.data.len() as u64);
                        s.user_data_end = s.user_data_end.max(end);
                    }
                }
            }
            Payload::CustomSection(section) => match section.as_known() {
                KnownCustom::Name(names) => {
                    for name in names {
                        if let Ok(Name::Function(map)) = name {
                            for naming in map.into_iter().flatten() {
                                s.function_names.push((naming.index, naming.name));
                            }
                        }
                    }
                }
                _ if section.name() == SECTION_NAME => {
                    return Err(EncodeError::new(format!(
                        "the custom section name `{SECTION_NAME}` is reserved for Tape's metadata"
                    )));
                }
                _ => {}
            },
            _ => {}
        }
    }
    Ok(s)
}

/// Whether a custom section's contents (name included) are DWARF.
fn is_dwarf(contents: &[u8]) -> bool {
    // A custom section starts with its name: a LEB128 length, then bytes.
    contents.get(1..8) == Some(b".debug_".as_slice()) && contents.first().is_some_and(|&n| n < 0x80)
}

fn leb128_len(mut value: usize) -> usize {
    let mut len = 1;
    while value >= 0x80 {
        value >>= 7;
        len += 1;
    }
    len
}

/// `(address, offset)` of every instruction of every function body, with
/// addresses relative to where the code section's bodies start and offsets
/// in the expanded text, from the spans the text encoder kept (the fast
/// path's or `wast`'s, the same): `spans[f]` holds where
/// each instruction of function `f` starts; the `i`th operator of a body is
/// the `i`th instruction, and the `end` that closes the body (no
/// instruction of the text) is placed with the last one, as `wast`'s DWARF
/// places it. An empty body has no rows, nor does one whose operators and
/// spans do not pair up: the module is still fine, only less well located.
fn line_rows(wasm: &[u8], code: Range<usize>, spans: &[Vec<usize>]) -> Vec<(u64, usize)> {
    let mut rows = Vec::new();
    if spans.is_empty() {
        return rows;
    }
    let contents = &wasm[code.clone()];
    let start = entries_start(contents, code.start) as u64;
    let Ok(reader) =
        wasmparser::CodeSectionReader::new(wasmparser::BinaryReader::new(contents, code.start))
    else {
        return rows;
    };
    for (body, spans) in reader.into_iter().zip(spans) {
        let Ok(body) = body else { break };
        let (Some(&last), Ok(mut operators)) = (spans.last(), body.get_operators_reader()) else {
            continue;
        };
        let first = rows.len();
        let mut index = 0;
        let paired = loop {
            if operators.eof() {
                break index == spans.len() + 1;
            }
            let Ok((_, at)) = operators.read_with_offset() else {
                break false;
            };
            let span = match spans.get(index) {
                Some(&span) => span,
                // The body's closing `end`.
                None if index == spans.len() => last,
                None => break false,
            };
            rows.push((at as u64 - start, span));
            index += 1;
        };
        if !paired {
            rows.truncate(first);
        }
    }
    rows
}

/// The line table for the metadata: each row moved to its offset in the
/// final module and located in the user's source; rows that locate to the
/// same place as the one before are merged.
/// `$run`, which Tape exports as the entry point, must be what the runtime
/// calls: `(func (result i32))`, returning a status.
fn check_run(wasm: &[u8], index: u32) -> Result<(), EncodeError> {
    let mut types = Vec::new();
    let mut functions = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(invalid)? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for ty in group.map_err(invalid)?.into_types() {
                        types.push(ty);
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if let TypeRef::Func(ty) = import.map_err(invalid)?.ty {
                        functions.push(ty);
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    functions.push(ty.map_err(invalid)?);
                }
            }
            _ => {}
        }
    }
    let Some(wasmparser::CompositeInnerType::Func(ty)) = functions
        .get(index as usize)
        .and_then(|&ty| types.get(ty as usize))
        .map(|ty| &ty.composite_type.inner)
    else {
        return Ok(());
    };
    if ty.params().is_empty() && ty.results() == [wasmparser::ValType::I32] {
        return Ok(());
    }
    let list = |kind: &str, types: &[wasmparser::ValType]| {
        if types.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = types.iter().map(ToString::to_string).collect();
            format!(" ({kind} {})", names.join(" "))
        }
    };
    Err(EncodeError {
        message: format!(
            "`$run` is the entry point, which takes nothing and returns a status: it must be `(func $run (result i32))`, not `(func $run{}{})`",
            list("param", ty.params()),
            list("result", ty.results())
        ),
        function: Some("`$run`".into()),
        help: Some(
            "read arguments with `core.arg` (or `argv`) rather than parameters, and return 0 for \
             success; or name the function otherwise if it is not the entry point",
        ),
        ..EncodeError::new("")
    })
}

/// Where the code section's function bodies start, given its contents and
/// where they start: after the count of bodies. Line rows' addresses are
/// relative to there, as `wast`'s DWARF addresses are (taking them from the
/// section's start put them off by the count's length, one byte for fewer
/// than 128 functions, so a 1-byte instruction was located at the one after
/// it).
fn entries_start(contents: &[u8], contents_start: usize) -> usize {
    let count_len = contents
        .iter()
        .position(|byte| byte & 0x80 == 0)
        .map_or(0, |last| last + 1);
    contents_start + count_len
}

fn line_table(rows: &[(u64, usize)], code_start: usize, locate: &mut Locate<'_>) -> Vec<LineEntry> {
    let mut table: Vec<LineEntry> = Vec::with_capacity(rows.len());
    for &(address, at) in rows {
        let Some((line, column)) = locate(at) else {
            continue;
        };
        let Ok(offset) = u32::try_from(code_start as u64 + address) else {
            continue;
        };
        if table
            .last()
            .is_some_and(|last| (last.line, last.column) == (line, column))
        {
            continue;
        }
        table.push(LineEntry {
            offset,
            line,
            column,
        });
    }
    table.sort_by_key(|entry| entry.offset);
    table
}

/// The value of an offset expression that is a single constant.
fn constant_offset(expr: &wasmparser::ConstExpr<'_>) -> Option<u64> {
    let mut ops = expr.get_operators_reader();
    let value = match ops.read().ok()? {
        Operator::I32Const { value } => u64::from(value as u32),
        Operator::I64Const { value } => value as u64,
        _ => return None,
    };
    matches!(ops.read().ok()?, Operator::End).then_some(value)
}

enum MemoryPlan {
    /// Memory 0 exists and is large enough (or imported: the host's call).
    Keep { memory64: bool },
    /// Memory 0 is defined here and its minimum must grow to this many
    /// pages to hold static data.
    Raise { minimum: u64, memory64: bool },
    /// The module has no memory: add this one.
    Add(MemoryType),
}

impl MemoryPlan {
    fn is_64(&self) -> bool {
        match self {
            MemoryPlan::Keep { memory64 } => *memory64,
            MemoryPlan::Raise { memory64, .. } => *memory64,
            MemoryPlan::Add(ty) => ty.memory64,
        }
    }
}

fn page_size(ty: &wasmparser::MemoryType) -> u64 {
    1u64 << ty.page_size_log2.unwrap_or(16)
}

fn plan_memory(s: &Survey<'_>, needed: u64) -> Result<MemoryPlan, EncodeError> {
    if let Some(ty) = s.imported_memories.first() {
        let available = ty.initial.saturating_mul(page_size(ty));
        if available < needed {
            return Err(EncodeError::new(format!(
                "the imported memory 0 guarantees {available} bytes, but static data needs {needed}; raise its minimum to {} pages",
                needed.div_ceil(page_size(ty))
            )));
        }
        return Ok(MemoryPlan::Keep {
            memory64: ty.memory64,
        });
    }
    let Some(ty) = s.defined_memories.first() else {
        return Ok(MemoryPlan::Add(MemoryType {
            minimum: needed.div_ceil(65536).max(1),
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        }));
    };
    let pages = needed.div_ceil(page_size(ty));
    if ty.initial >= pages {
        return Ok(MemoryPlan::Keep {
            memory64: ty.memory64,
        });
    }
    if ty.maximum.is_some_and(|max| max < pages) {
        return Err(EncodeError::new(format!(
            "memory 0 may hold at most {} pages, but static data needs {pages}; raise its maximum",
            ty.maximum.unwrap_or_default()
        )));
    }
    Ok(MemoryPlan::Raise {
        minimum: pages,
        memory64: ty.memory64,
    })
}

/// The exports Tape adds: `mem.tape` for memory 0 and `run` for `$run`.
fn plan_exports<'a>(s: &Survey<'a>) -> Result<Vec<(&'static str, ExportKind, u32)>, EncodeError> {
    let mut added = Vec::new();
    match s.exports.iter().find(|(name, ..)| *name == MEMORY_EXPORT) {
        Some((_, ExternalKind::Memory, 0)) => {}
        Some(_) => {
            return Err(EncodeError::new(format!(
                "the export name `{MEMORY_EXPORT}` is reserved for memory 0"
            )));
        }
        None => added.push((MEMORY_EXPORT, ExportKind::Memory, 0)),
    }
    let run_exported = s.exports.iter().any(|(name, ..)| *name == RUN_EXPORT);
    if !run_exported
        && let Some((index, _)) = s
            .function_names
            .iter()
            .find(|(_, name)| *name == RUN_EXPORT)
    {
        added.push((RUN_EXPORT, ExportKind::Func, *index));
    }
    Ok(added)
}

/// What the validator accepts: its defaults, and the proposals `wat` and
/// wasmtime 48 implement beyond them.
pub(crate) fn features() -> wasmparser::WasmFeatures {
    wasmparser::WasmFeatures::default()
        | wasmparser::WasmFeatures::CUSTOM_PAGE_SIZES
        | wasmparser::WasmFeatures::WIDE_ARITHMETIC
}

fn validate(wasm: &[u8], survey: &Survey<'_>, metadata: &Metadata) -> Result<(), EncodeError> {
    let mut validator = Validator::new_with_features(features());
    validator.validate_all(wasm).map(drop).map_err(|error| {
        let defined = function_at(wasm, error.offset()).map(|(index, _)| index);
        let location = |offset: usize| {
            u32::try_from(offset)
                .ok()
                .and_then(|offset| metadata.location(offset))
        };
        let cause = defined
            .and_then(|index| explain(wasm, features(), index, error.offset(), error.message()))
            .map(|cause| {
                let (origin, next) = match &cause {
                    Cause::LeftOver { origin, next, .. } => (
                        location(origin.offset),
                        next.and_then(|n| location(n.offset)),
                    ),
                    Cause::WrongType { origin } => (location(origin.offset), None),
                    Cause::EndsWithout { .. } | Cause::TooFew { .. } => (None, None),
                };
                Box::new(CauseAt {
                    cause,
                    origin,
                    next,
                })
            });
        // The final module's code section is a byte copy of the one `wast`
        // wrote, so a body's position moved by the same amount for every
        // function; find the body by its order instead of its offset.
        let function = defined.map(|index| {
            let absolute = survey.imported_functions + index;
            survey
                .function_names
                .iter()
                .find(|(i, _)| *i == absolute)
                .map_or_else(
                    || format!("function {absolute}"),
                    |(_, name)| format!("`${name}`"),
                )
        });
        EncodeError {
            message: error.message().to_string(),
            function,
            position: location(error.offset()),
            help: None,
            cause,
        }
    })
}

/// The index (among defined functions) and body range of the function whose
/// body holds `offset`.
fn function_at(wasm: &[u8], offset: usize) -> Option<(u32, Range<usize>)> {
    let mut index = 0;
    for payload in Parser::new(0).parse_all(wasm) {
        if let Ok(Payload::CodeSectionEntry(body)) = payload {
            let range = body.range();
            if range.contains(&offset) {
                return Some((index, range));
            }
            index += 1;
        }
    }
    None
}

#[cfg(test)]
mod line_rows_tests {
    use crate::source_map::LineIndex;

    /// `(address, offset)` rows from the DWARF line program `wast` writes
    /// for `text` (`(address, line, column)` turned into offsets), the way
    /// the line table was built before it came from the spans.
    fn dwarf_rows(wasm: &[u8], text: &str) -> Vec<(u64, usize)> {
        use gimli::{ColumnType, DebugLine, DebugLineOffset, LittleEndian};
        let mut debug_line = &[][..];
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            if let Ok(wasmparser::Payload::CustomSection(section)) = payload
                && section.name() == ".debug_line"
            {
                debug_line = section.data();
            }
        }
        if debug_line.is_empty() {
            return Vec::new();
        }
        let lines = LineIndex::new(text);
        let program = DebugLine::new(debug_line, LittleEndian)
            .program(DebugLineOffset(0), 4, None, None)
            .unwrap();
        let mut rows = program.rows();
        let mut out = Vec::new();
        while let Some((_, row)) = rows.next_row().unwrap() {
            if row.end_sequence() {
                continue;
            }
            let (Some(line), ColumnType::Column(column)) = (row.line(), row.column()) else {
                continue;
            };
            let at = lines.offset(line.get(), column.get()).unwrap();
            out.push((row.address(), at));
        }
        out
    }

    /// A module's bytes and its functions' instruction spans.
    type Encoded = (Vec<u8>, Vec<Vec<usize>>);

    /// Every text module of the WebAssembly testsuite gets the same rows
    /// from its instruction spans as from the DWARF `wast` writes for it.
    #[test]
    fn rows_from_spans_are_the_rows_of_wasts_dwarf_on_the_whole_testsuite() {
        let (mut modules, mut rows) = (0, 0);
        for path in crate::testsuite_files() {
            let text = std::fs::read_to_string(&path).unwrap();
            // Each module of the file, encoded both ways: with DWARF, and
            // plainly with its spans kept.
            let encode = |dwarf: bool| -> Vec<Option<Encoded>> {
                let Ok(mut buffer) = wast::parser::ParseBuffer::new(&text) else {
                    return Vec::new();
                };
                buffer.track_instr_spans(true);
                let Ok(file) = wast::parser::parse::<wast::Wast>(&buffer) else {
                    return Vec::new();
                };
                let mut out = Vec::new();
                for directive in file.directives {
                    let (wast::WastDirective::Module(wast::QuoteWat::Wat(mut wat))
                    | wast::WastDirective::ModuleDefinition(wast::QuoteWat::Wat(mut wat))) =
                        directive
                    else {
                        continue;
                    };
                    if !matches!(wat, wast::Wat::Module(_)) {
                        continue;
                    }
                    let mut options = wast::core::EncodeOptions::new();
                    if dwarf {
                        options.dwarf(&path, &text, wast::core::GenerateDwarf::Lines);
                    }
                    out.push(
                        options
                            .encode_wat(&mut wat)
                            .ok()
                            .map(|wasm| (wasm, crate::spans_of(&wat))),
                    );
                }
                out
            };
            let with_dwarf = encode(true);
            let plain = encode(false);
            assert_eq!(with_dwarf.len(), plain.len(), "{}", path.display());
            for (i, pair) in with_dwarf.iter().zip(&plain).enumerate() {
                let (Some((dwarf_wasm, _)), Some((wasm, spans))) = pair else {
                    continue;
                };
                let Ok(survey) = super::survey(wasm) else {
                    continue;
                };
                let Some((_, code)) = survey.sections.iter().find(|(id, _)| *id == super::CODE)
                else {
                    continue;
                };
                let from_spans = super::line_rows(wasm, code.clone(), spans);
                let expected = dwarf_rows(dwarf_wasm, &text);
                assert_eq!(
                    from_spans,
                    expected,
                    "module {i} of {}: rows from spans differ from wast's DWARF",
                    path.display()
                );
                modules += 1;
                rows += expected.len();
            }
        }
        // Most of the testsuite's modules, and their instructions, were compared.
        assert!(modules > 1500, "{modules} modules");
        assert!(rows > 20_000, "{rows} rows");
    }
}
