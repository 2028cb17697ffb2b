//! The types of a program's exports, in Tape's own words, so an embedder
//! can learn what [`Program::invoke`](crate::Program::invoke) takes and
//! returns without reaching into wasmtime's type system.

use std::fmt;

use wasmtime::{ExternType, FuncType, ValType};

/// What kind of thing an export is, and for a function its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportType {
    /// A function, which [`Program::invoke`](crate::Program::invoke) can
    /// call.
    Func(Signature),
    /// A memory (every Tape module exports `mem.tape`).
    Memory,
    /// A table.
    Table,
    /// A global.
    Global,
    /// An exception tag.
    Tag,
}

impl ExportType {
    /// The kind as WebAssembly text names it: `func`, `memory`, `table`,
    /// `global` or `tag`.
    pub fn kind(&self) -> &'static str {
        match self {
            ExportType::Func(_) => "func",
            ExportType::Memory => "memory",
            ExportType::Table => "table",
            ExportType::Global => "global",
            ExportType::Tag => "tag",
        }
    }

    pub(crate) fn new(ty: &ExternType) -> ExportType {
        match ty {
            ExternType::Func(func) => ExportType::Func(Signature::new(func)),
            ExternType::Memory(_) => ExportType::Memory,
            ExternType::Table(_) => ExportType::Table,
            ExternType::Global(_) => ExportType::Global,
            ExternType::Tag(_) => ExportType::Tag,
        }
    }
}

/// A function's parameter and result types.
///
/// Displays as WebAssembly text: `(func (param i32 i64) (result i64))`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Signature {
    /// The parameters' types, in order.
    pub params: Vec<ValueType>,
    /// The results' types, in order.
    pub results: Vec<ValueType>,
}

impl Signature {
    pub(crate) fn new(ty: &FuncType) -> Signature {
        Signature {
            params: ty.params().map(|t| ValueType::new(&t)).collect(),
            results: ty.results().map(|t| ValueType::new(&t)).collect(),
        }
    }

    /// `(param i32) (result i32 i32)`: the signature as a capability's
    /// catalogue writes it, without `(func …)` around it; empty for a
    /// function that takes and returns nothing.
    pub(crate) fn lists(&self) -> String {
        let list = |kind: &str, types: &[ValueType]| {
            let names: Vec<String> = types.iter().map(ToString::to_string).collect();
            format!("({kind} {})", names.join(" "))
        };
        match (self.params.is_empty(), self.results.is_empty()) {
            (true, true) => String::new(),
            (false, true) => list("param", &self.params),
            (true, false) => list("result", &self.results),
            (false, false) => format!(
                "{} {}",
                list("param", &self.params),
                list("result", &self.results)
            ),
        }
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lists = self.lists();
        if lists.is_empty() {
            f.write_str("(func)")
        } else {
            write!(f, "(func {lists})")
        }
    }
}

/// The type of one parameter or result.
///
/// [`Program::invoke`](crate::Program::invoke) passes numbers and
/// vectors; a function with a reference parameter cannot be invoked,
/// though one may return references.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueType {
    /// A 32-bit integer, signed or unsigned as the function reads it.
    I32,
    /// A 64-bit integer, signed or unsigned as the function reads it.
    I64,
    /// A 32-bit IEEE 754 float.
    F32,
    /// A 64-bit IEEE 754 float.
    F64,
    /// A 128-bit vector.
    V128,
    /// A reference, as WebAssembly text writes it: `(ref null func)`.
    Ref(String),
}

impl ValueType {
    fn new(ty: &ValType) -> ValueType {
        match ty {
            ValType::I32 => ValueType::I32,
            ValType::I64 => ValueType::I64,
            ValType::F32 => ValueType::F32,
            ValType::F64 => ValueType::F64,
            ValType::V128 => ValueType::V128,
            ValType::Ref(r) => ValueType::Ref(r.to_string()),
        }
    }

    /// Whether it is `i32`, `i64`, `f32` or `f64`.
    pub fn is_number(&self) -> bool {
        matches!(
            self,
            ValueType::I32 | ValueType::I64 | ValueType::F32 | ValueType::F64
        )
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueType::I32 => "i32",
            ValueType::I64 => "i64",
            ValueType::F32 => "f32",
            ValueType::F64 => "f64",
            ValueType::V128 => "v128",
            ValueType::Ref(text) => text,
        })
    }
}

/// A function type as the WAT a capability's catalogue uses:
/// `(param i32) (result i32 i32)`.
pub(crate) fn wat_type(ty: &FuncType) -> String {
    let lists = Signature::new(ty).lists();
    if lists.is_empty() {
        "(func)".into()
    } else {
        lists
    }
}
