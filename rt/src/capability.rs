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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Function {
    /// The function name within the capability, e.g. `"write"`.
    pub name: &'static str,
    /// Its type as WAT, e.g. `"(param $level i32) (param $msg i32) (result i32)"`.
    pub signature: &'static str,
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
            for function in capability.functions() {
                catalogue.insert(capability.name(), function.name, function.signature);
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
