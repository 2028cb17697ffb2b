use std::collections::BTreeMap;
use std::fmt;

/// The host functions a program may call without declaring them: for each
/// `module.function`, its WAT signature, and what [`tape doc`] and the
/// lints know of it: the [`Role`] of each parameter and result, and its
/// documentation.
///
/// The runtime builds one from its capabilities; the compiler only reads it,
/// so it does not depend on the runtime.
///
/// ```
/// let mut catalogue = tape_compiler::Catalogue::new();
/// catalogue.insert("log", "write", "(param $level i32) (param $msg i32) (result i32)");
/// assert!(catalogue.has_module("log"));
/// assert_eq!(catalogue.functions("log").collect::<Vec<_>>(), ["write"]);
/// ```
///
/// [`tape doc`]: crate::Reference
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalogue {
    modules: BTreeMap<String, BTreeMap<String, Entry>>,
    descriptions: BTreeMap<String, String>,
}

/// One function of a [`Catalogue`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// Its type as WAT, e.g. `(param $level i32) (param $msg i32) (result i32)`.
    pub signature: String,
    /// What its parameters and results are, when known.
    pub roles: Option<Roles>,
    /// Its documentation: a one-line summary, then paragraphs, in Markdown;
    /// empty when there is none.
    pub doc: String,
}

impl Catalogue {
    /// An empty catalogue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `module.function` with its signature, written as WAT
    /// (`(param …) (result …)`); replaces an earlier entry of that name.
    pub fn insert(&mut self, module: &str, function: &str, signature: &str) {
        self.insert_entry(
            module,
            function,
            Entry {
                signature: signature.to_string(),
                ..Entry::default()
            },
        );
    }

    /// Adds `module.function` with everything known of it; replaces an
    /// earlier entry of that name.
    pub fn insert_entry(&mut self, module: &str, function: &str, entry: Entry) {
        // A module's name is copied once, not with each of its functions.
        let functions = match self.modules.get_mut(module) {
            Some(functions) => functions,
            None => self.modules.entry(module.to_string()).or_default(),
        };
        functions.insert(function.to_string(), entry);
    }

    /// Sets what `module` lets a program do, in one line.
    pub fn describe(&mut self, module: &str, description: &str) {
        self.descriptions
            .insert(module.to_string(), description.to_string());
    }

    /// What `module` lets a program do, if the catalogue says.
    pub fn description(&self, module: &str) -> Option<&str> {
        self.descriptions.get(module).map(String::as_str)
    }

    /// The signature of `module.function`, if the catalogue has it.
    pub fn signature(&self, module: &str, function: &str) -> Option<&str> {
        self.entry(module, function).map(|e| e.signature.as_str())
    }

    /// Everything known of `module.function`, if the catalogue has it.
    pub fn entry(&self, module: &str, function: &str) -> Option<&Entry> {
        self.modules.get(module)?.get(function)
    }

    /// Whether any function of `module` is in the catalogue.
    pub fn has_module(&self, module: &str) -> bool {
        self.modules.contains_key(module)
    }

    /// The module names, sorted.
    pub fn modules(&self) -> impl Iterator<Item = &str> {
        self.modules.keys().map(String::as_str)
    }

    /// The function names of `module`, sorted.
    pub fn functions(&self, module: &str) -> impl Iterator<Item = &str> {
        self.modules
            .get(module)
            .into_iter()
            .flat_map(|functions| functions.keys().map(String::as_str))
    }
}

/// What a parameter or a result of a host or library function is, beyond
/// its WebAssembly type: what the lints check calls against, and what
/// `tape doc` shows.
///
/// Written in [`Roles::parse`]'s notation by the word in brackets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// `str`: a pointer to a string, `[u32 len][utf-8]`.
    Str,
    /// `ptr`: a pointer to another length-prefixed wire value (bytes, a
    /// sequence, a struct…).
    Ptr,
    /// `mem`: a pointer to raw memory, with no length prefix.
    Mem,
    /// `status`: a status code, 0 for success (`tape_rt::status`). The
    /// `unused-status` lint warns when one is dropped.
    Status,
    /// `status?`: a status a program may ignore, because a failure does not
    /// make its work wrong (`log.write`'s, when the log budget is spent).
    IgnorableStatus,
    /// `handle`: a value the host made and keeps, e.g. a JSON document.
    Handle,
    /// `count`: a count or a length in bytes.
    Count,
    /// `index`: a position, in bytes or elements.
    Index,
    /// `bool`: 1 or 0.
    Bool,
    /// `num`: any other number.
    Num,
}

impl Role {
    pub(crate) const ALL: [Role; 10] = [
        Role::Str,
        Role::Ptr,
        Role::Mem,
        Role::Status,
        Role::IgnorableStatus,
        Role::Handle,
        Role::Count,
        Role::Index,
        Role::Bool,
        Role::Num,
    ];

    /// The word that stands for it in [`Roles::parse`].
    pub fn word(self) -> &'static str {
        match self {
            Role::Str => "str",
            Role::Ptr => "ptr",
            Role::Mem => "mem",
            Role::Status => "status",
            Role::IgnorableStatus => "status?",
            Role::Handle => "handle",
            Role::Count => "count",
            Role::Index => "index",
            Role::Bool => "bool",
            Role::Num => "num",
        }
    }

    /// What it is, for a reader: "a pointer to a string".
    pub fn describe(self) -> &'static str {
        match self {
            Role::Str => "a pointer to a string",
            Role::Ptr => "a pointer to a length-prefixed value",
            Role::Mem => "a pointer to raw memory",
            Role::Status => "a status (0 = ok)",
            Role::IgnorableStatus => "a status (0 = ok) that may be ignored",
            Role::Handle => "a handle",
            Role::Count => "a count",
            Role::Index => "an index",
            Role::Bool => "a boolean (1 or 0)",
            Role::Num => "a number",
        }
    }

    /// Whether it is a pointer to a length-prefixed value (a string or
    /// another wire value).
    pub fn is_pointer(self) -> bool {
        matches!(self, Role::Str | Role::Ptr)
    }

    /// Whether it is a status, one that may be ignored or not.
    pub fn is_status(self) -> bool {
        matches!(self, Role::Status | Role::IgnorableStatus)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// The [`Role`]s of a function's parameters and results, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Roles {
    /// Each parameter's role.
    pub params: Vec<Role>,
    /// Each result's role.
    pub results: Vec<Role>,
}

impl Roles {
    /// Reads roles written as words, parameters then `->` then results:
    /// `"num str -> status"` for `log.write`, `"-> handle status"` for a
    /// function without parameters; the arrow may be left out when there
    /// are no results.
    ///
    /// ```
    /// use tape_compiler::{Role, Roles};
    /// let roles = Roles::parse("str -> handle status").unwrap();
    /// assert_eq!(roles.params, [Role::Str]);
    /// assert_eq!(roles.results, [Role::Handle, Role::Status]);
    /// ```
    ///
    /// # Errors
    ///
    /// A message naming a word that is not a role, or a second arrow.
    pub fn parse(text: &str) -> Result<Roles, String> {
        let (params, results) = match text.split_once("->") {
            Some((params, results)) if !results.contains("->") => (params, results),
            Some(_) => return Err(format!("`{text}` has two `->`")),
            None => (text, ""),
        };
        let words = |text: &str| {
            text.split_whitespace()
                .map(|word| {
                    Role::ALL
                        .into_iter()
                        .find(|role| role.word() == word)
                        .ok_or_else(|| {
                            let known: Vec<_> = Role::ALL.iter().map(|r| r.word()).collect();
                            format!("`{word}` is not a role; roles are {}", known.join(", "))
                        })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Roles {
            params: words(params)?,
            results: words(results)?,
        })
    }
}

impl Roles {
    /// Whether there is one role for each parameter and each result of
    /// `signature` (WAT: `(param $a i32) (result i32 i32)`).
    pub fn matches(&self, signature: &str) -> bool {
        let (params, results) = arity(signature);
        self.params.len() == params && self.results.len() == results
    }
}

/// How many parameters and results a WAT signature has: each type in a
/// `(param …)` or `(result …)` clause, a `$name` not counted.
pub(crate) fn arity(signature: &str) -> (usize, usize) {
    let mut counts = (0, 0);
    for clause in signature.split('(').skip(1) {
        let words = clause.trim_end().trim_end_matches(')').split_whitespace();
        let mut words = words.peekable();
        let counter = match words.next() {
            Some("param") => &mut counts.0,
            Some("result") => &mut counts.1,
            _ => continue,
        };
        *counter += words.filter(|word| !word.starts_with('$')).count();
    }
    counts
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |roles: &[Role]| roles.iter().map(|r| r.word()).collect::<Vec<_>>().join(" ");
        match (self.params.is_empty(), self.results.is_empty()) {
            (_, true) => f.write_str(&join(&self.params)),
            (true, false) => write!(f, "-> {}", join(&self.results)),
            (false, false) => write!(f, "{} -> {}", join(&self.params), join(&self.results)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_read_and_print_the_same() {
        for text in ["num str -> status", "-> handle status", "mem count", ""] {
            assert_eq!(Roles::parse(text).unwrap().to_string(), text);
        }
        assert!(
            Roles::parse("string -> status")
                .unwrap_err()
                .contains("`string` is not a role")
        );
        assert!(
            Roles::parse("a -> b -> c")
                .unwrap_err()
                .contains("two `->`")
        );
        let roles = Roles::parse("num str -> status").unwrap();
        assert!(roles.matches("(param $level i32) (param $msg i32) (result i32)"));
        assert!(roles.matches("(param i32 i32) (result i32)"));
        assert!(!roles.matches("(param $msg i32) (result i32)"));
        assert!(!roles.matches("(param i32 i32) (result i32 i32)"));
    }
}
