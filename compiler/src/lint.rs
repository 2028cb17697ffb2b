//! Lints: mistakes that compile and run, but almost never do what was
//! meant. Each is a warning, rustc-style, at the instruction that makes the
//! mistake; [`Lints`] sets each one's level, so a build can allow some or
//! deny them all (`--deny warnings`).
//!
//! The pass walks each function the program defines, one instruction at a
//! time, with wasmparser's validator keeping the stack's height right
//! across blocks and branches. Every value on the stack remembers what it
//! is (a [`Role`] from the catalogue's or the library's signatures) and
//! which call made it; a local remembers the last value set into it, in
//! the order the code is written. That is enough to see a status passed
//! as a pointer, a pointer tested as a status (the two `local.set` after
//! a call written the wrong way round), a status dropped or never read, a
//! literal where a handle goes, a local never read, and code after a
//! `return`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::ops::Range;

use wasmparser::{
    FuncValidatorAllocations, KnownCustom, Name, Operator, Parser, Payload, TypeRef, ValidPayload,
    Validator, WasmModuleResources,
};

use crate::catalogue::{Catalogue, Role, Roles};
use crate::diagnostic::{Diagnostic, Severity};
use crate::metadata::LineEntry;
use crate::preprocess::Library;
use crate::source_map::LineIndex;

/// One lint: a kind of mistake the compiler warns about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Lint {
    /// `unused-status`: a status a call returns is dropped, or kept in a
    /// local that is never read, so a failure goes unnoticed. A status
    /// whose role is `status?` (`log.write`'s) may be dropped, and one
    /// kept in a local named `$_…` is ignored on purpose.
    UnusedStatus,
    /// `role-mismatch`: a status or a handle passed where a pointer goes
    /// (or the other way round), or a pointer or handle tested as a
    /// status: most often the two `local.set` after a call that returns
    /// (pointer, status), written in the wrong order.
    RoleMismatch,
    /// `literal-handle`: a number written in the code where a handle goes;
    /// handles come from the calls that make them.
    LiteralHandle,
    /// `unused-variable`: a local or parameter that is never read. Names
    /// starting with `$_` are left alone.
    UnusedVariable,
    /// `unreachable-code`: code after a `return`, `br` or `unreachable`
    /// in the same block, which never runs.
    UnreachableCode,
}

impl Lint {
    /// Every lint.
    pub const ALL: [Lint; 5] = [
        Lint::UnusedStatus,
        Lint::RoleMismatch,
        Lint::LiteralHandle,
        Lint::UnusedVariable,
        Lint::UnreachableCode,
    ];

    /// Its name, as `--allow`, `--deny` and `[lints]` write it.
    pub fn name(self) -> &'static str {
        match self {
            Lint::UnusedStatus => "unused-status",
            Lint::RoleMismatch => "role-mismatch",
            Lint::LiteralHandle => "literal-handle",
            Lint::UnusedVariable => "unused-variable",
            Lint::UnreachableCode => "unreachable-code",
        }
    }

    /// The lint of that name.
    pub fn from_name(name: &str) -> Option<Lint> {
        Lint::ALL.into_iter().find(|lint| lint.name() == name)
    }
}

impl fmt::Display for Lint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What to do when a lint finds something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// Say nothing.
    Allow,
    /// A warning; the program compiles.
    Warn,
    /// An error; the program does not compile.
    Deny,
}

impl Level {
    /// `allow`, `warn` or `deny`.
    pub fn from_name(name: &str) -> Option<Level> {
        match name {
            "allow" => Some(Level::Allow),
            "warn" => Some(Level::Warn),
            "deny" => Some(Level::Deny),
            _ => None,
        }
    }

    /// `allow`, `warn` or `deny`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Allow => "allow",
            Level::Warn => "warn",
            Level::Deny => "deny",
        }
    }
}

/// The level of each lint: by default every lint warns.
///
/// ```
/// use tape_compiler::{Level, Lint, Lints};
/// let mut lints = Lints::default();
/// lints.set("warnings", Level::Deny).unwrap();
/// lints.set("unused-variable", Level::Allow).unwrap();
/// assert_eq!(lints.level(Lint::UnusedStatus), Level::Deny);
/// assert_eq!(lints.level(Lint::UnusedVariable), Level::Allow);
/// assert!(lints.set("unused", Level::Allow).unwrap_err().contains("unused-status"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lints {
    /// The level of `warnings`, every lint not set on its own.
    all: Option<Level>,
    levels: BTreeMap<Lint, Level>,
}

impl Lints {
    /// Every lint allowed: no lint pass at all.
    pub fn none() -> Lints {
        Lints {
            all: Some(Level::Allow),
            levels: BTreeMap::new(),
        }
    }

    /// Sets the level of the lint `name`, or of every lint for
    /// `warnings`. A lint set by name keeps its level whatever
    /// `warnings` is set to, before or after.
    ///
    /// # Errors
    ///
    /// A message naming every lint, if `name` is none of them.
    pub fn set(&mut self, name: &str, level: Level) -> Result<(), String> {
        if name == "warnings" {
            self.all = Some(level);
            return Ok(());
        }
        let lint = Lint::from_name(name).ok_or_else(|| {
            let names: Vec<&str> = Lint::ALL.iter().map(|l| l.name()).collect();
            format!(
                "no lint is named `{name}`; the lints are {}, and `warnings` for all of them",
                names.join(", ")
            )
        })?;
        self.levels.insert(lint, level);
        Ok(())
    }

    /// The level of `lint`.
    pub fn level(&self, lint: Lint) -> Level {
        self.levels
            .get(&lint)
            .copied()
            .or(self.all)
            .unwrap_or(Level::Warn)
    }

    /// Whether any lint is not allowed.
    pub fn any(&self) -> bool {
        Lint::ALL
            .iter()
            .any(|&lint| self.level(lint) != Level::Allow)
    }
}

/// What the lint pass reads besides the module.
pub(crate) struct Context<'a> {
    pub catalogue: &'a Catalogue,
    pub library: &'a Library,
    /// The functions the program defines, by name, with the span of their
    /// `$name`: only these are linted (not library code).
    pub defined: &'a HashMap<&'a str, Range<usize>>,
    pub lines: &'a [LineEntry],
    pub source: &'a str,
    pub lints: &'a Lints,
}

/// A value on the stack, or in a local: what it is, and where it came from.
#[derive(Debug, Clone, Copy, Default)]
struct Value {
    role: Option<Role>,
    /// The call that made it: the callee's index and the call's offset.
    made_by: Option<(u32, usize)>,
    /// The roles of everything that call returned, when it returned more
    /// than this value.
    with: Option<(Role, Role)>,
    /// The local it was read from last, if it went through one.
    local: Option<u32>,
    /// Written in the code as a constant.
    literal: bool,
}

/// A local's history in the function.
#[derive(Debug, Clone, Default)]
struct LocalUse {
    read: bool,
    /// The last value set into it, and the `local.set`'s offset.
    last_set: Option<(Value, usize)>,
}

/// One finding, before it is placed in the source.
struct Finding {
    lint: Lint,
    /// Where in the module (an instruction's offset), or where in the
    /// source, it points.
    at: At,
    message: String,
    label: Option<String>,
    help: String,
}

enum At {
    Code(usize),
    Source(Range<usize>),
}

/// Every finding of the lints not allowed, as diagnostics: warnings, and
/// errors for the denied ones.
pub(crate) fn lint(wasm: &[u8], context: &Context<'_>) -> Vec<Diagnostic> {
    if !context.lints.any() {
        return Vec::new();
    }
    let findings = find(wasm, context).unwrap_or_default();
    let lines = LineIndex::new(context.source);
    let mut seen = HashSet::new();
    let mut diagnostics = Vec::new();
    for finding in findings {
        let level = context.lints.level(finding.lint);
        if level == Level::Allow {
            continue;
        }
        let span = match finding.at {
            At::Source(span) => Some(span),
            At::Code(offset) => locate(context, &lines, offset),
        };
        // One warning per lint and place: a macro's expansion is several
        // instructions at one place.
        if !seen.insert((finding.lint, span.clone(), finding.message.clone())) {
            continue;
        }
        let mut diagnostic = Diagnostic::new(finding.message).help(finding.help);
        diagnostic.severity = match level {
            Level::Deny => Severity::Error,
            _ => Severity::Warning,
        };
        diagnostic.code = Some(finding.lint.name());
        if let Some(span) = span {
            diagnostic = diagnostic.at(span);
        }
        if let Some(label) = finding.label {
            diagnostic = diagnostic.label(label);
        }
        diagnostics.push(diagnostic);
    }
    diagnostics.sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
    if diagnostics.len() > MAX_FINDINGS {
        let more = diagnostics.len() - MAX_FINDINGS;
        let severity = diagnostics
            .iter()
            .skip(MAX_FINDINGS)
            .map(|d| d.severity)
            .find(|s| *s == Severity::Error)
            .unwrap_or(Severity::Warning);
        diagnostics.truncate(MAX_FINDINGS);
        let mut rest = Diagnostic::new(format!("… and {more} more like these, not shown"))
            .help("fix those above first, or `--allow` their lint");
        rest.severity = severity;
        diagnostics.push(rest);
    }
    diagnostics
}

/// Findings shown at most: past these, one line counts the rest. A
/// machine-written program can have thousands, and a reader (or a model's
/// context) is better served by the first.
const MAX_FINDINGS: usize = 100;

/// The source span of the instruction at `offset` of the module.
fn locate(context: &Context<'_>, lines: &LineIndex, offset: usize) -> Option<Range<usize>> {
    let after = context
        .lines
        .partition_point(|entry| entry.offset as usize <= offset);
    let entry = context.lines.get(after.checked_sub(1)?)?;
    let at = lines.char_offset(context.source, entry.line, entry.column)?;
    // A macro's code is placed at its `(`: point at the whole form.
    if context.source[at..].starts_with('(') {
        let mut depth = 0usize;
        for (i, c) in context.source[at..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(at..at + i + 1);
                    }
                }
                _ => {}
            }
        }
    }
    Some(crate::token_at(context.source, at))
}

/// What the module tells about its functions, borrowed from its bytes.
#[derive(Default)]
struct Names<'a> {
    imported: u32,
    /// `(module, field)` of each imported function, by index.
    imports: Vec<(&'a str, &'a str)>,
    functions: HashMap<u32, &'a str>,
    locals: HashMap<u32, HashMap<u32, &'a str>>,
}

fn names(wasm: &[u8]) -> Option<Names<'_>> {
    let mut names = Names::default();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.ok()? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.ok()?;
                    if let TypeRef::Func(_) | TypeRef::FuncExact(_) = import.ty {
                        names.imports.push((import.module, import.name));
                        names.imported += 1;
                    }
                }
            }
            Payload::CustomSection(section) => {
                if let KnownCustom::Name(reader) = section.as_known() {
                    for name in reader {
                        match name.ok()? {
                            Name::Function(map) => {
                                for naming in map {
                                    let naming = naming.ok()?;
                                    names.functions.insert(naming.index, naming.name);
                                }
                            }
                            Name::Local(map) => {
                                for indirect in map {
                                    let indirect = indirect.ok()?;
                                    let mut locals = HashMap::new();
                                    for naming in indirect.names {
                                        let naming = naming.ok()?;
                                        locals.insert(naming.index, naming.name);
                                    }
                                    names.locals.insert(indirect.index, locals);
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Some(names)
}

fn find(wasm: &[u8], context: &Context<'_>) -> Option<Vec<Finding>> {
    let names = names(wasm)?;
    let mut roles: HashMap<u32, Option<std::rc::Rc<Roles>>> = HashMap::new();
    let mut roles_of = |index: u32| -> Option<std::rc::Rc<Roles>> {
        roles
            .entry(index)
            .or_insert_with(|| {
                if let Some((module, field)) = names.imports.get(index as usize) {
                    return context
                        .catalogue
                        .entry(module, field)?
                        .roles
                        .clone()
                        .map(Into::into);
                }
                let name = names.functions.get(&index)?;
                if context.defined.contains_key(*name) {
                    return None;
                }
                context.library.entry(name)?.roles.map(Into::into)
            })
            .clone()
    };
    let mut findings = Vec::new();
    let mut places = Places::default();
    let mut validator = Validator::new_with_features(crate::encode::features());
    let mut index = names.imported;
    // Kept from body to body: a validator's allocations, and the walk's.
    let mut allocations = FuncValidatorAllocations::default();
    let mut stack = Vec::new();
    let mut locals = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.ok()?;
        let ValidPayload::Func(func, body) = validator.payload(&payload).ok()? else {
            continue;
        };
        let this = index;
        index += 1;
        // Only the program's own functions: a library function is not the
        // author's to fix, and an unnamed one is the program's.
        let name = names.functions.get(&this);
        let own = name.is_none_or(|name| context.defined.contains_key(*name));
        if !own {
            continue;
        }
        let mut func = func.into_validator(std::mem::take(&mut allocations));
        let resources = func.resources();
        let params = resources
            .type_id_of_function(this)
            .and_then(
                |id| match &resources.sub_type_at_id(id).composite_type.inner {
                    wasmparser::CompositeInnerType::Func(ty) => Some(ty.params().len() as u32),
                    _ => None,
                },
            )
            .unwrap_or(0);
        let mut locals_reader = body.get_locals_reader().ok()?;
        let mut count = params;
        for _ in 0..locals_reader.get_count() {
            let at = locals_reader.original_position();
            let (n, ty) = locals_reader.read().ok()?;
            func.define_locals(at, n, ty).ok()?;
            count += n;
        }
        stack.clear();
        locals.clear();
        locals.resize(count as usize, LocalUse::default());
        let mut walk = Walk {
            stack: std::mem::take(&mut stack),
            locals: std::mem::take(&mut locals),
            findings: &mut findings,
            names: &names,
            function: this,
            quiet_until: None,
            last_exit: None,
        };
        let mut operators = body.get_operators_reader().ok()?;
        while !operators.eof() {
            let (operator, at) = operators.read_with_offset().ok()?;
            walk.step(&func, &operator, at, &mut roles_of);
            if func.op(at, &operator).is_err() {
                return None;
            }
            let height = func.operand_stack_height() as usize;
            walk.stack.resize(height, Value::default());
        }
        walk.unused(params, name.copied(), context, &mut places);
        (stack, locals) = (walk.stack, walk.locals);
        allocations = func.into_allocations();
    }
    Some(findings)
}

struct Walk<'f> {
    stack: Vec<Value>,
    locals: Vec<LocalUse>,
    findings: &'f mut Vec<Finding>,
    names: &'f Names<'f>,
    function: u32,
    /// While the control stack is at least this high and unreachable, the
    /// code after an exit was already reported.
    quiet_until: Option<usize>,
    /// The last instruction that ends its block: its offset and keyword.
    last_exit: Option<(usize, &'static str)>,
}

impl Walk<'_> {
    fn local_name(&self, index: u32) -> Option<&str> {
        self.names.locals.get(&self.function)?.get(&index).copied()
    }

    fn callee_name(&self, index: u32) -> String {
        if let Some((module, field)) = self.names.imports.get(index as usize) {
            return format!("{module}.{field}");
        }
        self.names
            .functions
            .get(&index)
            .map_or_else(|| format!("{index}"), |name| name.to_string())
    }

    /// What a value is, for a message: "the status that `call $core.arg`
    /// returns", through `$ptr` if it went through a local.
    fn describe(&self, value: &Value, role: Role) -> String {
        let what = match role {
            Role::Status | Role::IgnorableStatus => "the status",
            Role::Handle => "the handle",
            Role::Str => "the string",
            Role::Ptr => "the pointer",
            _ => "the value",
        };
        let made = value
            .made_by
            .map(|(callee, _)| format!("{what} that `call ${}` returns", self.callee_name(callee)))
            .unwrap_or_else(|| what.to_string());
        match value.local.and_then(|l| self.local_name(l)) {
            Some(local) if !local.starts_with("__tape") => format!("`${local}` holds {made}"),
            _ => format!("this is {made}"),
        }
    }

    /// The help for a value of a (value, status) pair in the wrong place:
    /// the two `local.set` after the call, written the wrong way round.
    fn swapped_help(&self, value: &Value) -> Option<String> {
        let (first, Role::Status) = value.with? else {
            return None;
        };
        value.local?;
        let callee = self.callee_name(value.made_by?.0);
        let what = match first {
            Role::Handle => "handle",
            Role::Str => "string",
            Role::Ptr | Role::Mem => "pointer",
            _ => "value",
        };
        Some(format!(
            "`call ${callee}` returns ({what}, status), and values come off the stack last first: \
             take the status first, `(local.set $status) (local.set ${what})`, or write \
             `(bind ${what} (call ${callee} …))`"
        ))
    }

    fn step<T: WasmModuleResources>(
        &mut self,
        func: &wasmparser::FuncValidator<T>,
        operator: &Operator<'_>,
        at: usize,
        roles_of: &mut impl FnMut(u32) -> Option<std::rc::Rc<Roles>>,
    ) {
        let (takes, gives) = operator.operator_arity(func).unwrap_or((0, 0));
        let height = func.control_stack_height() as usize;
        if self.quiet_until.is_some_and(|h| height < h) {
            self.quiet_until = None;
        }
        let unreachable = func.get_control_frame(0).is_some_and(|f| f.unreachable);
        if unreachable
            && self.quiet_until.is_none()
            && !matches!(
                operator,
                Operator::End
                    | Operator::Else
                    | Operator::Delegate { .. }
                    | Operator::Catch { .. }
                    | Operator::CatchAll
            )
            && let Some((_, exit)) = self.last_exit
        {
            self.quiet_until = Some(height);
            self.findings.push(Finding {
                lint: Lint::UnreachableCode,
                at: At::Code(at),
                message: format!("unreachable code: the `{exit}` before it leaves the block"),
                label: Some("this never runs".into()),
                help: "remove it, or move it before the `{exit}`".replace("{exit}", exit),
            });
        }
        // What the instruction takes is popped and what it gives pushed in
        // place, without allocating: this runs for every instruction.
        let base = self.stack.len().saturating_sub(takes as usize);
        let last_taken = if takes > 0 {
            self.stack.last().copied()
        } else {
            None
        };
        let mut made: Option<(std::rc::Rc<Roles>, u32)> = None;
        if let Operator::Call { function_index } | Operator::ReturnCall { function_index } =
            *operator
            && let Some(roles) = roles_of(function_index)
        {
            let arguments = self.stack[base..].to_vec();
            self.check_arguments(function_index, &roles, &arguments, at);
            made = Some((roles, function_index));
        }
        self.stack.truncate(base);
        self.stack.resize(base + gives as usize, Value::default());
        let pushed = &mut self.stack[base..];
        match *operator {
            Operator::Call { .. } | Operator::ReturnCall { .. } => {
                if let Some((roles, function_index)) = &made {
                    let pair = match roles.results[..] {
                        [first, second] => Some((first, second)),
                        _ => None,
                    };
                    for (value, role) in pushed.iter_mut().zip(&roles.results) {
                        value.role = Some(*role);
                        value.made_by = Some((*function_index, at));
                        value.with = pair;
                    }
                }
            }
            Operator::I32Const { .. } | Operator::I64Const { .. } => {
                if let Some(value) = pushed.first_mut() {
                    value.literal = true;
                }
            }
            Operator::LocalGet { local_index } => {
                if let Some(local) = self.locals.get_mut(local_index as usize) {
                    local.read = true;
                    let mut value = local.last_set.map(|(v, _)| v).unwrap_or_default();
                    value.local = Some(local_index);
                    value.literal = false;
                    if let Some(slot) = self.stack.get_mut(base) {
                        *slot = value;
                    }
                }
            }
            Operator::LocalSet { local_index } | Operator::LocalTee { local_index } => {
                let value = last_taken.unwrap_or_default();
                if let Some(local) = self.locals.get_mut(local_index as usize) {
                    local.last_set = Some((value, at));
                }
                if matches!(operator, Operator::LocalTee { .. }) {
                    // Through Tape's own local (the macros'), the value
                    // keeps the user's name.
                    let internal = self
                        .local_name(local_index)
                        .is_some_and(|n| n.starts_with("__tape"));
                    if let Some(slot) = self.stack.get_mut(base) {
                        *slot = value;
                        if value.local.is_none() || !internal {
                            slot.local = Some(local_index);
                        }
                    }
                    // A tee reads what it sets.
                    if let Some(local) = self.locals.get_mut(local_index as usize) {
                        local.read = true;
                    }
                }
            }
            Operator::Drop => {
                if let Some(value) = &last_taken
                    && value.role == Some(Role::Status)
                    && value.local.is_none()
                    && let Some((callee, call)) = value.made_by
                {
                    let callee = self.callee_name(callee);
                    self.findings.push(Finding {
                        lint: Lint::UnusedStatus,
                        at: At::Code(call),
                        message: format!("the status of `call ${callee}` is dropped: a failure goes unnoticed"),
                        label: Some("its status is never tested".into()),
                        help: format!(
                            "test it: `(check (call ${callee} …))` returns it from the function when it is not 0, \
                             or `(bind $value (call ${callee} …))` for a call that also returns a value; \
                             to ignore it on purpose, keep it in a local named `$_…`"
                        ),
                    });
                }
            }
            Operator::If { .. } | Operator::BrIf { .. } => {
                if let Some(value) = &last_taken {
                    self.check_test(value, at);
                }
            }
            Operator::Return
            | Operator::Br { .. }
            | Operator::BrTable { .. }
            | Operator::Unreachable
            | Operator::Throw { .. }
            | Operator::Rethrow { .. }
            | Operator::ReturnCallIndirect { .. } => {
                let keyword = match operator {
                    Operator::Return => "return",
                    Operator::Br { .. } => "br",
                    Operator::BrTable { .. } => "br_table",
                    Operator::Unreachable => "unreachable",
                    _ => "throw",
                };
                self.last_exit = Some((at, keyword));
            }
            _ => {}
        }
        if let Operator::ReturnCall { .. } = operator {
            self.last_exit = Some((at, "return_call"));
        }
    }

    fn check_arguments(&mut self, callee: u32, roles: &Roles, taken: &[Value], at: usize) {
        // The arguments are the last values taken, in order.
        let first = taken.len().saturating_sub(roles.params.len());
        for (position, (value, param)) in taken[first..].iter().zip(&roles.params).enumerate() {
            let name = self.callee_name(callee);
            if *param == Role::Handle && value.literal {
                self.findings.push(Finding {
                    lint: Lint::LiteralHandle,
                    at: At::Code(at),
                    message: format!(
                        "`call ${name}` takes a handle as argument {}, and this is a number written in the code",
                        position + 1
                    ),
                    label: Some("a handle is expected here".into()),
                    help: "a handle is what the call that made the value returned (`$json.parse`, `$json.object`…): keep it with `local.set` and pass it with `local.get`".into(),
                });
                continue;
            }
            let Some(role) = value.role else { continue };
            let class = |role: Role| match role {
                Role::Str | Role::Ptr => Some("a pointer"),
                Role::Status | Role::IgnorableStatus => Some("a status"),
                Role::Handle => Some("a handle"),
                _ => None,
            };
            let (Some(wanted), Some(found)) = (class(*param), class(role)) else {
                continue;
            };
            if wanted == found {
                continue;
            }
            let holds = self.describe(value, role);
            let help = match self.swapped_help(value) {
                Some(help) => help,
                None if role.is_status() => format!(
                    "test a status with `check`, `(check (call …))`, and pass {wanted} here; \
                     `tape doc {name}` shows what each argument is"
                ),
                None => {
                    format!("pass {wanted} here; `tape doc {name}` shows what each argument is")
                }
            };
            self.findings.push(Finding {
                lint: Lint::RoleMismatch,
                at: At::Code(at),
                message: format!(
                    "`call ${name}` takes {wanted} as argument {}, but {holds}",
                    position + 1
                ),
                label: Some(format!("{wanted} is expected here")),
                help,
            });
        }
    }

    /// `value` decides an `if` or a `br_if`.
    fn check_test(&mut self, value: &Value, at: usize) {
        let Some(role) = value.role else { return };
        let what = match role {
            Role::Str | Role::Ptr => "a pointer",
            Role::Handle => "a handle",
            _ => return,
        };
        let made = value
            .made_by
            .map(|(callee, _)| format!(" that `call ${}` returns", self.callee_name(callee)))
            .unwrap_or_default();
        let tested = match value.local.and_then(|l| self.local_name(l)) {
            Some(local) if !local.starts_with("__tape") => format!("`${local}`"),
            _ => "this value".to_string(),
        };
        let held = match role {
            Role::Handle => "the handle",
            _ => "the pointer",
        };
        self.findings.push(Finding {
            lint: Lint::RoleMismatch,
            at: At::Code(at),
            message: format!("{tested} is tested as a status, but it holds {held}{made}"),
            label: Some(format!("{what} is never 0: this test always passes")),
            help: self.swapped_help(value).unwrap_or_else(|| {
                format!(
                    "test a status here; {held} is tested with `i32.eqz` only to see if it is 0"
                )
            }),
        });
    }

    /// Locals and parameters never read, once the function is walked.
    fn unused<'s>(
        &mut self,
        params: u32,
        function: Option<&str>,
        context: &Context<'s>,
        places: &mut Places<'s>,
    ) {
        let span = function.and_then(|f| context.defined.get(f)).cloned();
        for (index, local) in self.locals.iter().enumerate() {
            if local.read {
                continue;
            }
            let Some(name) = self.local_name(index as u32) else {
                continue;
            };
            if name.starts_with('_') {
                continue;
            }
            let declared = span
                .as_ref()
                .and_then(|span| places.declaration(context.source, span.start, name));
            if let Some((value, set_at)) = local.last_set
                && value.role == Some(Role::Status)
                && let Some((callee, _)) = value.made_by
            {
                let callee = self.callee_name(callee);
                self.findings.push(Finding {
                    lint: Lint::UnusedStatus,
                    at: At::Code(set_at),
                    message: format!(
                        "`${name}` holds the status of `call ${callee}`, and is never tested"
                    ),
                    label: Some("set here, never read".into()),
                    help: format!(
                        "a failed `${callee}` goes unnoticed: add `(check (local.get ${name}))` after it"
                    ),
                });
                continue;
            }
            let parameter = (index as u32) < params;
            // `(argv N $name)`.
            let argument = declared.as_ref().is_some_and(|span| {
                context.source[..span.start]
                    .trim_end()
                    .trim_end_matches(|c: char| c.is_ascii_digit())
                    .trim_end()
                    .ends_with("(argv")
            });
            let (message, help) = if parameter {
                (
                    format!("parameter `${name}` is never read"),
                    format!("if it is not needed, name it `$_{name}`, or remove it"),
                )
            } else if argument {
                (
                    format!("the argument read into `${name}` is never used"),
                    format!("use `${name}`, or remove the `argv`"),
                )
            } else if local.last_set.is_some() {
                (
                    format!("`${name}` is set but never read"),
                    format!(
                        "use it, or remove it; a name starting with `$_` (`$_{name}`) is left alone"
                    ),
                )
            } else {
                (
                    format!("`${name}` is never used"),
                    format!("remove it; a name starting with `$_` (`$_{name}`) is left alone"),
                )
            };
            let at = match (declared, local.last_set) {
                (Some(span), _) => At::Source(span),
                (None, Some((_, set_at))) => At::Code(set_at),
                (None, None) => match &span {
                    Some(span) => At::Source(span.clone()),
                    None => continue,
                },
            };
            self.findings.push(Finding {
                lint: Lint::UnusedVariable,
                at,
                message,
                label: None,
                help,
            });
        }
    }
}

/// Where each `$name` is written in the source, in order: read once, the
/// first time a local needs its declaration found.
#[derive(Default)]
struct Places<'s> {
    by_name: Option<HashMap<&'s str, Vec<usize>>>,
}

impl<'s> Places<'s> {
    /// The span of the first `$name` after `from`: where a local is
    /// declared (or an `argv` makes it).
    fn declaration(&mut self, source: &'s str, from: usize, name: &str) -> Option<Range<usize>> {
        let by_name = self.by_name.get_or_insert_with(|| {
            let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
            for (at, _) in source.match_indices('$') {
                let rest = &source[at + 1..];
                let end = rest
                    .find(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == '"')
                    .unwrap_or(rest.len());
                if end > 0 {
                    by_name.entry(&rest[..end]).or_default().push(at);
                }
            }
            by_name
        });
        let offsets = by_name.get(name)?;
        let first = offsets.partition_point(|&at| at <= from);
        let start = *offsets.get(first)?;
        Some(start..start + 1 + name.len())
    }
}
