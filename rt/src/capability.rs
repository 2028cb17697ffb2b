use std::sync::Arc;

use tape_compiler::Catalogue;
use wasmtime::Linker;

use crate::State;
use crate::core::{CORE_SPEC, Core};

/// A set of host functions a program can be granted, under one import
/// module name.
///
/// A capability describes itself once, in a static [`Spec`] (its name,
/// what it is for, and each function's WAT signature, roles and
/// documentation: what the compiler, the linker and `tape doc` read),
/// registers its functions on a `Linker`, and may keep per-run state in
/// [`State`]. Its functions follow the calling convention: pointers to
/// length-prefixed data in, `(result i32 i32)` = (pointer to the reply,
/// [status](crate::status)) out where there is a reply.
///
/// Host functions must not trust the guest: read its memory only through
/// the [`guest`](crate::guest) helpers, return a status for anything the
/// guest should handle, and an [`Error`](crate::Error) (which traps) for
/// guest bugs. A panic is contained, but ends the run.
///
/// `examples/custom_capability.rs` in the repository is a whole one; the
/// built-in capabilities are in the `tape-caps` crate.
pub trait Capability: Send + Sync + 'static {
    /// What the capability is: its import module name, description and
    /// functions. Its [`register`](Self::register) defines exactly these
    /// functions, with these types (the built-ins have a test that checks
    /// it; a third-party capability can call [`Spec::check`]).
    fn spec(&self) -> &Spec;

    /// Defines every function of the [`spec`](Self::spec) on `linker`,
    /// under its name.
    ///
    /// # Errors
    ///
    /// Whatever `Linker::func_wrap` reports, e.g. a name defined twice.
    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()>;

    /// Prepares this capability's state for a new run, with
    /// [`State::insert`]. The run's host data
    /// ([`Run::data`](crate::Run::data)) is already in the state.
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

/// What a [`Capability`] is, written once: its import module name, one
/// line on what it lets a program do, and its functions.
///
/// ```
/// use tape_rt::{Function, Spec};
/// const SPEC: Spec = Spec::new("greet", "greetings", &[
///     Function::new("hello", "(param $name i32) (result i32 i32)")
///         .roles("str -> str status")
///         .doc("Greets `$name`."),
/// ]);
/// assert_eq!(SPEC.function("hello").map(|f| f.roles), Some("str -> str status"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Spec {
    /// The import module name, e.g. `"log"`.
    pub name: &'static str,
    /// One line on what it lets a program do.
    pub description: &'static str,
    /// Each function with its WAT signature.
    pub functions: &'static [Function],
}

impl Spec {
    /// A capability's spec.
    pub const fn new(
        name: &'static str,
        description: &'static str,
        functions: &'static [Function],
    ) -> Spec {
        Spec {
            name,
            description,
            functions,
        }
    }

    /// The function called `name`.
    pub fn function(&self, name: &str) -> Option<&'static Function> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// Checks that `capability` registers exactly the functions of its
    /// spec, each with the type its WAT signature declares: the test every
    /// capability should have, since the signature is written once for the
    /// compiler and once, as a Rust closure, for wasmtime.
    ///
    /// # Errors
    ///
    /// A message naming every function that is missing, extra, or of
    /// another type.
    pub fn check(capability: &dyn Capability) -> Result<(), String> {
        crate::link::check_spec(capability)
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

/// The capabilities a program is granted, and those it could be.
///
/// `core` is always granted. A capability that is *known* but not granted
/// is in the compiler's catalogue (so a program calling it compiles, and
/// its calls are checked) and makes linking fail with
/// [`ErrorKind::NotGranted`](crate::ErrorKind::NotGranted), naming the
/// grant to add, rather than an unknown import. `tape_caps::grants()`
/// knows every built-in capability.
#[derive(Clone, Default)]
pub struct Grants {
    granted: Vec<Arc<dyn Capability>>,
    known: Vec<Spec>,
}

impl std::fmt::Debug for Grants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grants")
            .field(
                "granted",
                &self
                    .granted
                    .iter()
                    .map(|c| c.spec().name)
                    .collect::<Vec<_>>(),
            )
            .field(
                "known",
                &self.known.iter().map(|s| s.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Grants {
    /// Only `core`, and no other capability known.
    pub fn new() -> Self {
        Self::default()
    }

    /// Knows these capabilities without granting them; see [`Grants`].
    #[must_use]
    pub fn know(mut self, specs: impl IntoIterator<Item = Spec>) -> Self {
        for spec in specs {
            self.known.retain(|k| k.name != spec.name);
            self.known.push(spec);
        }
        self
    }

    /// Grants `capability`, replacing an earlier grant of the same name.
    #[must_use]
    pub fn grant(mut self, capability: impl Capability) -> Self {
        self.add(Arc::new(capability));
        self
    }

    /// Grants a shared capability, replacing an earlier grant of the same
    /// name.
    pub fn add(&mut self, capability: Arc<dyn Capability>) {
        let name = capability.spec().name;
        self.granted.retain(|c| c.spec().name != name);
        self.granted.push(capability);
    }

    /// Whether a capability of this name is granted.
    pub fn is_granted(&self, name: &str) -> bool {
        name == CORE_SPEC.name || self.granted.iter().any(|c| c.spec().name == name)
    }

    /// The granted capability called `name`, if any (not `core`).
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Capability>> {
        self.granted.iter().find(|c| c.spec().name == name)
    }

    /// Whether a capability of this name is known or granted.
    pub fn is_known(&self, name: &str) -> bool {
        self.is_granted(name) || self.known.iter().any(|k| k.name == name)
    }

    /// The names of every capability known or granted: `core`, the known
    /// ones in the order they were made known, then the granted ones that
    /// are not known, in the order they were granted.
    pub fn names(&self) -> Vec<&str> {
        let mut names = vec![CORE_SPEC.name];
        let known = self.known.iter().map(|k| k.name);
        let granted = self.granted.iter().map(|c| c.spec().name);
        for name in known.chain(granted) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// `core` and every granted capability.
    pub(crate) fn all(&self) -> Vec<Arc<dyn Capability>> {
        let mut all: Vec<Arc<dyn Capability>> = vec![Arc::new(Core)];
        all.extend(self.granted.iter().cloned());
        all
    }

    /// The import catalogue for the compiler: `core`, every known
    /// capability, granted or not (so a call to an ungranted one compiles
    /// and is then refused with the grant to add), and every granted one,
    /// which takes the place of a known one of the same name as it does in
    /// linking.
    pub fn catalogue(&self) -> Catalogue {
        let mut catalogue = Catalogue::new();
        self.catalogued(|spec| {
            catalogue.describe(spec.name, spec.description);
            for function in spec.functions {
                catalogue.insert_entry(spec.name, function.name, function.entry());
            }
        });
        catalogue
    }

    /// Feeds what decides [`Grants::catalogue`] to `hasher`, without
    /// building it: for the module cache's key.
    pub(crate) fn hash_catalogue(&self, hasher: &mut impl std::hash::Hasher) {
        use std::hash::Hash;
        self.catalogued(|spec| {
            spec.name.hash(hasher);
            for function in spec.functions {
                function.name.hash(hasher);
                function.signature.hash(hasher);
                // The lints read the roles, and their warnings are kept
                // with the module.
                function.roles.hash(hasher);
            }
        });
    }

    /// Visits the specs whose functions make up the catalogue, in order.
    fn catalogued(&self, mut visit: impl FnMut(&Spec)) {
        visit(&CORE_SPEC);
        let ungranted = self.known.iter().filter(|k| {
            k.name != CORE_SPEC.name && !self.granted.iter().any(|g| g.spec().name == k.name)
        });
        for spec in ungranted {
            visit(spec);
        }
        for capability in &self.granted {
            visit(capability.spec());
        }
    }
}
