use std::collections::BTreeMap;

/// The host functions a program may call without declaring them: for each
/// `module.function`, its WAT signature.
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalogue {
    modules: BTreeMap<String, BTreeMap<String, String>>,
}

impl Catalogue {
    /// An empty catalogue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `module.function` with its signature, written as WAT
    /// (`(param …) (result …)`); replaces an earlier entry of that name.
    pub fn insert(&mut self, module: &str, function: &str, signature: &str) {
        // A module's name is copied once, not with each of its functions.
        let functions = match self.modules.get_mut(module) {
            Some(functions) => functions,
            None => self.modules.entry(module.to_string()).or_default(),
        };
        functions.insert(function.to_string(), signature.to_string());
    }

    /// The signature of `module.function`, if the catalogue has it.
    pub fn signature(&self, module: &str, function: &str) -> Option<&str> {
        self.modules.get(module)?.get(function).map(String::as_str)
    }

    /// Whether any function of `module` is in the catalogue.
    pub fn has_module(&self, module: &str) -> bool {
        self.modules.contains_key(module)
    }

    /// The function names of `module`, sorted.
    pub fn functions(&self, module: &str) -> impl Iterator<Item = &str> {
        self.modules
            .get(module)
            .into_iter()
            .flat_map(|functions| functions.keys().map(String::as_str))
    }
}
