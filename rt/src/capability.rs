use wasmtime::{Extern, ExternType, Linker, Module, Store};

use crate::export::wat_type;
use crate::state::State;

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

    /// Whether this is a [`StandIn`](crate::trace::StandIn), which answers
    /// from a trace: a program linked with one is replayed as it is, the
    /// capabilities beside it running for real.
    #[doc(hidden)]
    fn is_stand_in(&self) -> bool {
        false
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
    /// What keeps secrets out of a [trace](crate::trace), if the
    /// capability's calls can carry any; see [`Spec::redact`].
    pub redact: Option<Redactor>,
}

/// A function that rewrites the data of a call's parameter before a
/// [trace](crate::trace) keeps it, given the function's name, the
/// parameter's index and its payload; a replay rewrites what the program
/// sends the same way before comparing.
#[derive(Clone, Copy)]
pub struct Redactor(pub fn(function: &str, param: usize, data: &mut Vec<u8>));

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor(..)")
    }
}

impl PartialEq for Redactor {
    fn eq(&self, other: &Redactor) -> bool {
        std::ptr::fn_addr_eq(self.0, other.0)
    }
}

impl Eq for Redactor {}

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
            redact: None,
        }
    }

    /// With `redact`, which rewrites a call's data before a trace keeps it:
    /// the values of credential headers, say, so that a recording written
    /// to a file holds no secret.
    ///
    /// ```
    /// use tape_rt::{Function, Redactor, Spec};
    /// fn hide(_function: &str, param: usize, data: &mut Vec<u8>) {
    ///     if param == 1 {
    ///         *data = b"[redacted]".to_vec();
    ///     }
    /// }
    /// const SPEC: Spec = Spec::new("vault", "secrets", &[
    ///     Function::new("open", "(param $name i32) (param $password i32) (result i32)")
    ///         .roles("str str -> status"),
    /// ])
    /// .redact(Redactor(hide));
    /// assert!(SPEC.redact.is_some());
    /// ```
    pub const fn redact(mut self, redact: Redactor) -> Spec {
        self.redact = Some(redact);
        self
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
        check_spec(capability)
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

    /// Its parameter and result types, read from its WAT signature.
    ///
    /// ```
    /// use tape_rt::{Function, ValueType};
    /// let get = Function::new("get", "(param $key i32) (param $n i64) (result i32 i32)");
    /// let types = get.types()?;
    /// assert_eq!(types.params, [ValueType::I32, ValueType::I64]);
    /// assert_eq!(types.results, [ValueType::I32, ValueType::I32]);
    /// # Ok::<(), String>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A word that is not a number type: a capability's functions take and
    /// return numbers.
    pub fn types(&self) -> Result<crate::Signature, String> {
        use crate::ValueType;
        let mut types = crate::Signature {
            params: Vec::new(),
            results: Vec::new(),
        };
        for group in self.signature.split('(').skip(1) {
            let mut words = group.trim_end().trim_end_matches(')').split_whitespace();
            let into = match words.next() {
                Some("param") => &mut types.params,
                Some("result") => &mut types.results,
                _ => continue,
            };
            for word in words.filter(|w| !w.starts_with('$')) {
                into.push(match word {
                    "i32" => ValueType::I32,
                    "i64" => ValueType::I64,
                    "f32" => ValueType::F32,
                    "f64" => ValueType::F64,
                    other => {
                        return Err(format!(
                            "`{}` has a {other}, and a capability's functions take and return numbers",
                            self.name
                        ));
                    }
                });
            }
        }
        Ok(types)
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

/// See [`Spec::check`].
fn check_spec(capability: &dyn Capability) -> Result<(), String> {
    let spec = capability.spec();
    let engine = wasmtime::Engine::default();
    let mut linker = Linker::new(&engine);
    capability
        .register(&mut linker)
        .map_err(|e| format!("`{}` failed to register: {e:#}", spec.name))?;
    let mut store = Store::new(&engine, State::new(0, 0, 0, None));
    let mut problems = Vec::new();
    for function in spec.functions {
        let text = format!(
            "(module (import \"{}\" \"{}\" (func {})))",
            spec.name, function.name, function.signature
        );
        let declared = wat::parse_str(&text)
            .map_err(|e| e.to_string())
            .and_then(|wasm| Module::new(&engine, wasm).map_err(|e| format!("{e:#}")));
        let module = match declared {
            Ok(module) => module,
            Err(error) => {
                problems.push(format!(
                    "`{}.{}`: its signature `{}` is not WAT: {error}",
                    spec.name, function.name, function.signature
                ));
                continue;
            }
        };
        let Some(import) = module.imports().next() else {
            continue;
        };
        let ExternType::Func(wanted) = import.ty() else {
            continue;
        };
        match linker.get_by_import(&mut store, &import) {
            Some(Extern::Func(func)) => {
                let defined = func.ty(&store);
                if !wasmtime::FuncType::eq(&defined, &wanted) {
                    problems.push(format!(
                        "`{}.{}` is declared as `{}` but registered as `{}`",
                        spec.name,
                        function.name,
                        wat_type(&wanted),
                        wat_type(&defined)
                    ));
                }
            }
            _ => problems.push(format!(
                "`{}.{}` is declared but not registered",
                spec.name, function.name
            )),
        }
    }
    for (module, name, _) in linker.iter(&mut store) {
        if module != spec.name || spec.function(name).is_none() {
            problems.push(format!(
                "`{module}.{name}` is registered but not in the spec of `{}`",
                spec.name
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}
