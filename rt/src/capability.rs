use std::sync::Arc;

use tape_compiler::Catalogue;
use wasmtime::Linker;

use crate::State;

/// A set of host functions a program can be granted, under one import
/// module name.
///
/// A capability describes itself (its catalogue entry: each function's WAT
/// signature), registers its functions on a `Linker`, and may keep per-run
/// state in [`State`]. Its functions follow the calling convention:
/// pointers to length-prefixed data in, `(result i32 i32)` = (pointer to the
/// reply, [status](crate::status)) out where there is a reply.
///
/// Host functions must not trust the guest: read its memory only through
/// the [caller helpers](crate::caller_read_bytes), return a status for
/// anything the guest should handle, and an [`Error`](crate::Error) (which
/// traps) for guest bugs. A panic is contained, but ends the run.
pub trait Capability: Send + Sync + 'static {
    /// The import module name, e.g. `"log"`.
    fn name(&self) -> &str;

    /// One line on what it lets a program do.
    fn description(&self) -> &str;

    /// Each function with its WAT signature.
    fn functions(&self) -> &[Function];

    /// Defines every function of [`functions`](Self::functions) on
    /// `linker`, under [`name`](Self::name).
    ///
    /// # Errors
    ///
    /// Whatever `Linker::func_wrap` reports, e.g. a name defined twice.
    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()>;

    /// Prepares this capability's state for a new run, with
    /// [`State::insert`].
    fn begin_run(&self, _state: &mut State) {}

    /// Finishes this capability's part of a run, after the guest's `run`
    /// returned (`completed`: it returned a status) or failed (a trap,
    /// timeout, fuel or memory exhaustion, a host error). A capability that
    /// buffers effects commits them here when `completed`, and drops them
    /// otherwise, so a failed run leaves nothing half done.
    ///
    /// # Errors
    ///
    /// A failure to commit; when `completed`, it becomes the run's error
    /// (prefer an [`Error`](crate::Error) that says what was lost). Errors
    /// are ignored when the run failed already.
    fn end_run(&self, _state: &mut State, _completed: bool) -> wasmtime::Result<()> {
        Ok(())
    }
}

/// A host function in a capability's catalogue entry.
///
/// ```
/// use tape_rt::Function;
/// const WRITE: Function = Function::new("write", "(param $level i32) (param $msg i32) (result i32)")
///     .roles("num str -> status")
///     .doc("Logs the string at `$msg` at `$level`: 0 error … 4 trace.");
/// assert_eq!(WRITE.name, "write");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Function {
    /// The function name within the capability, e.g. `"write"`.
    pub name: &'static str,
    /// Its type as WAT, e.g. `"(param $level i32) (param $msg i32) (result i32)"`.
    pub signature: &'static str,
    /// What each parameter and result is, in
    /// [`Roles::parse`](tape_compiler::Roles::parse)'s words, e.g.
    /// `"num str -> status"`; empty when not given. The lints check calls
    /// against them, and `tape doc` shows them.
    pub roles: &'static str,
    /// Its documentation in Markdown: a one-line summary, then anything a
    /// caller needs (statuses, limits, an example); empty when not given.
    pub doc: &'static str,
}

impl Function {
    /// A function with its name and WAT signature.
    pub const fn new(name: &'static str, signature: &'static str) -> Function {
        Function {
            name,
            signature,
            roles: "",
            doc: "",
        }
    }

    /// With the roles of its parameters and results; see
    /// [`Function::roles`](#structfield.roles).
    pub const fn roles(mut self, roles: &'static str) -> Function {
        self.roles = roles;
        self
    }

    /// With its documentation; see [`Function::doc`](#structfield.doc).
    pub const fn doc(mut self, doc: &'static str) -> Function {
        self.doc = doc;
        self
    }

    /// Its catalogue entry, as the compiler reads it. Roles that do not
    /// parse, or do not match the signature's arity, are left out (a test
    /// of each built-in capability checks they do).
    pub fn entry(&self) -> tape_compiler::Entry {
        let roles = tape_compiler::Roles::parse(self.roles)
            .ok()
            .filter(|roles| !self.roles.is_empty() && roles.matches(self.signature));
        tape_compiler::Entry {
            signature: self.signature.to_string(),
            roles,
            doc: self.doc.to_string(),
        }
    }
}

/// The capabilities a program is granted. `core` is always granted.
#[derive(Clone, Default)]
pub struct Grants {
    granted: Vec<Arc<dyn Capability>>,
}

impl std::fmt::Debug for Grants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.granted.iter().map(|c| c.name()))
            .finish()
    }
}

impl Grants {
    /// Only `core`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Grants `capability`, replacing an earlier grant of the same name.
    pub fn grant(mut self, capability: impl Capability) -> Self {
        self.add(Arc::new(capability));
        self
    }

    /// Grants a shared capability, replacing an earlier grant of the same
    /// name.
    pub fn add(&mut self, capability: Arc<dyn Capability>) {
        self.granted.retain(|c| c.name() != capability.name());
        self.granted.push(capability);
    }

    /// Whether a capability of this name is granted.
    pub fn is_granted(&self, name: &str) -> bool {
        name == "core" || self.granted.iter().any(|c| c.name() == name)
    }

    /// `core` and every granted capability.
    pub(crate) fn all(&self) -> Vec<Arc<dyn Capability>> {
        let mut all: Vec<Arc<dyn Capability>> = vec![Arc::new(crate::caps::Core)];
        all.extend(self.granted.iter().cloned());
        all
    }

    /// The import catalogue for the compiler: every built-in capability,
    /// granted or not (so a call to an ungranted one compiles and is then
    /// refused with the grant to add), and every granted one, which takes
    /// the place of a built-in one of the same name as it does in linking.
    pub fn catalogue(&self) -> Catalogue {
        let mut catalogue = Catalogue::new();
        self.catalogued(|capability| {
            catalogue.describe(capability.name(), capability.description());
            for function in capability.functions() {
                catalogue.insert_entry(capability.name(), function.name, function.entry());
            }
        });
        catalogue
    }

    /// Feeds what decides [`Grants::catalogue`] to `hasher`, without
    /// building it: for the module cache's key.
    pub(crate) fn hash_catalogue(&self, hasher: &mut impl std::hash::Hasher) {
        use std::hash::Hash;
        self.catalogued(|capability| {
            capability.name().hash(hasher);
            for function in capability.functions() {
                function.name.hash(hasher);
                function.signature.hash(hasher);
                // The lints read the roles, and their warnings are kept
                // with the module.
                function.roles.hash(hasher);
            }
        });
    }

    /// Visits the capabilities whose functions make up the catalogue, in
    /// order.
    fn catalogued(&self, mut visit: impl FnMut(&dyn Capability)) {
        let builtin = crate::caps::builtin();
        let ungranted = builtin
            .iter()
            .filter(|b| !self.granted.iter().any(|g| g.name() == b.name()));
        for capability in ungranted.chain(&self.granted) {
            visit(&**capability);
        }
    }
}
