//! The reference of everything a program can call without defining it:
//! every capability import of a [`Catalogue`] and every function of a
//! [`Library`], with signatures, roles and documentation; what `tape doc`
//! prints, `docs/reference.md` holds, and "did you mean" searches.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::catalogue::{Catalogue, Entry, Role};
use crate::preprocess::Library;

/// Every documented function, sorted by name.
///
/// ```
/// let mut catalogue = tape_compiler::Catalogue::new();
/// catalogue.insert("log", "write", "(param $level i32) (param $msg i32) (result i32)");
/// let reference = tape_compiler::Reference::new(&catalogue, &tape_compiler::Library::standard());
/// assert!(reference.get("$log.write").is_some());
/// assert_eq!(reference.suggest("std.str.length")[0].name, "std.str.len");
/// ```
#[derive(Debug, Clone)]
pub struct Reference {
    items: Vec<Item>,
    descriptions: BTreeMap<String, String>,
}

/// One function of a [`Reference`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Its name without the `$`: `log.write`, `std.str.len`.
    pub name: String,
    /// The group it is listed under: the capability (`log`), or the
    /// library's group (`std.str`).
    pub group: String,
    /// Its signature, roles and documentation.
    pub entry: Entry,
}

/// What each group of the standard library is for.
const LIBRARY_GROUPS: &[(&str, &str)] = &[
    ("std.ascii", "single ASCII bytes"),
    (
        "std.f64",
        "floats: shortest round-trip text, fixed decimals, parsing",
    ),
    (
        "std.i32",
        "32-bit integers: decimal and hexadecimal text, parsing, powers",
    ),
    (
        "std.i64",
        "64-bit integers: decimal and hexadecimal text, parsing, checked multiply, powers",
    ),
    (
        "std.mem",
        "raw memory, no length prefixes: copy, fill, compare",
    ),
    (
        "std.seq",
        "sequences: walk, count, index, sort strings and integers in place",
    ),
    (
        "std.str",
        "strings `[len][utf-8]`: compare, join, slice, search, replace, case, split",
    ),
    (
        "std.wire",
        "wire values: growable builders, scalar results, readers for structs and sequences",
    ),
];

/// Words people reach for, and the names they mean: "did you mean" tries
/// these before spelling.
const SYNONYMS: &[(&str, &[&str])] = &[
    ("append", &["concat"]),
    ("atoi", &["parse"]),
    ("cmp", &["compare"]),
    ("count", &["len"]),
    ("del", &["delete"]),
    ("equal", &["eq"]),
    ("equals", &["eq"]),
    ("erase", &["delete"]),
    ("fetch", &["get", "get_body"]),
    ("format", &["to_str"]),
    ("from_str", &["parse"]),
    ("has", &["contains", "find"]),
    ("includes", &["contains"]),
    ("index", &["find"]),
    ("index_of", &["find"]),
    ("indexof", &["find"]),
    ("itoa", &["to_str"]),
    ("keys", &["list"]),
    ("length", &["len"]),
    ("load", &["get", "read"]),
    ("lower", &["to_lower"]),
    ("lowercase", &["to_lower"]),
    ("malloc", &["alloc"]),
    ("memcmp", &["compare"]),
    ("memcpy", &["copy"]),
    ("memmove", &["copy"]),
    ("memset", &["fill"]),
    ("open", &["read"]),
    ("parse_int", &["parse"]),
    ("print", &["write"]),
    ("println", &["write"]),
    ("put", &["set"]),
    ("random", &["u64", "bytes"]),
    ("read", &["get"]),
    ("remove", &["delete"]),
    ("request", &["get", "post"]),
    ("save", &["set", "write"]),
    ("scan", &["list"]),
    ("search", &["find"]),
    ("size", &["len"]),
    ("split", &["split_all", "split_next"]),
    ("sort", &["sort_str", "sort_i32", "sort_i64"]),
    ("power", &["pow"]),
    ("exp", &["pow"]),
    ("substitute", &["replace"]),
    ("replace_all", &["replace"]),
    ("iter", &["reader", "next"]),
    ("to_i64", &["parse"]),
    ("to_i32", &["parse"]),
    ("to_int", &["parse"]),
    ("to_f64", &["parse"]),
    ("to_float", &["parse"]),
    ("atof", &["parse"]),
    ("fixed", &["to_fixed"]),
    ("store", &["set"]),
    ("strip", &["trim"]),
    ("substr", &["slice"]),
    ("substring", &["slice"]),
    ("to_string", &["to_str", "stringify"]),
    ("serialize", &["stringify"]),
    ("dump", &["stringify"]),
    ("dumps", &["stringify"]),
    ("encode", &["stringify"]),
    ("decode", &["parse"]),
    ("loads", &["parse"]),
    ("deserialize", &["parse"]),
    ("now_ms", &["now"]),
    ("timestamp", &["now"]),
    ("time", &["now"]),
    ("tostring", &["to_str"]),
    ("upper", &["to_upper"]),
    ("uppercase", &["to_upper"]),
    ("words", &["words_next"]),
    ("info", &["write"]),
    ("warn", &["write"]),
    ("error", &["write"]),
    ("debug", &["write"]),
];

/// Other names for a capability, as other platforms call it.
const MODULE_SYNONYMS: &[(&str, &str)] = &[
    ("net", "http"),
    ("web", "http"),
    ("fetch", "http"),
    ("request", "http"),
    ("requests", "http"),
    ("url", "http"),
    ("db", "kv"),
    ("store", "kv"),
    ("storage", "kv"),
    ("cache", "kv"),
    ("redis", "kv"),
    ("file", "fs"),
    ("files", "fs"),
    ("disk", "fs"),
    ("io", "fs"),
    ("console", "log"),
    ("print", "log"),
    ("logger", "log"),
    ("logging", "log"),
    ("llm", "ai"),
    ("model", "ai"),
    ("openai", "ai"),
    ("gpt", "ai"),
    ("random", "rand"),
    ("rng", "rand"),
    ("clock", "time"),
    ("date", "time"),
    ("env", "core"),
    ("args", "core"),
    ("sys", "core"),
];

/// Names written in one group for a function that lives in another:
/// `$std.str.to_i64` is `$std.i64.parse`.
const ELSEWHERE: &[(&str, &str)] = &[
    ("to_i64", "std.i64.parse"),
    ("parse_i64", "std.i64.parse"),
    ("to_i32", "std.i32.parse"),
    ("parse_i32", "std.i32.parse"),
    ("to_int", "std.i64.parse"),
    ("parse_int", "std.i64.parse"),
    ("to_f64", "std.f64.parse"),
    ("parse_f64", "std.f64.parse"),
    ("to_float", "std.f64.parse"),
    ("parse_float", "std.f64.parse"),
    ("from_i64", "std.i64.to_str"),
    ("from_i32", "std.i32.to_str"),
    ("from_f64", "std.f64.to_str"),
    ("sort", "std.seq.sort_str"),
    ("sort_str", "std.seq.sort_str"),
    ("sort_strings", "std.seq.sort_str"),
    ("sort_i32", "std.seq.sort_i32"),
    ("sort_i64", "std.seq.sort_i64"),
    ("pow", "std.i64.pow"),
];

/// Other names for a group.
const GROUP_SYNONYMS: &[(&str, &str)] = &[
    ("std.string", "std.str"),
    ("std.text", "std.str"),
    ("std.memory", "std.mem"),
    ("std.bytes", "std.mem"),
    ("std.int", "std.i32"),
    ("std.long", "std.i64"),
];

impl Reference {
    /// The reference of `catalogue`'s imports and `library`'s functions.
    pub fn new(catalogue: &Catalogue, library: &Library) -> Reference {
        let mut items = Vec::new();
        let mut descriptions = BTreeMap::new();
        for module in catalogue.modules() {
            if let Some(description) = catalogue.description(module) {
                descriptions.insert(module.to_string(), description.to_string());
            }
            for function in catalogue.functions(module) {
                if let Some(entry) = catalogue.entry(module, function) {
                    items.push(Item {
                        name: format!("{module}.{function}"),
                        group: module.to_string(),
                        entry: entry.clone(),
                    });
                }
            }
        }
        for name in library.names() {
            if let Some(entry) = library.entry(name) {
                let group = match name.rsplit_once('.') {
                    Some((group, _)) => group.to_string(),
                    None => name.to_string(),
                };
                items.push(Item {
                    name: name.to_string(),
                    group,
                    entry,
                });
            }
        }
        for (group, description) in LIBRARY_GROUPS {
            descriptions.insert(group.to_string(), description.to_string());
        }
        items.sort_by(|a, b| a.name.cmp(&b.name));
        Reference {
            items,
            descriptions,
        }
    }

    /// Every function, sorted by name.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The function named `name`, with or without its `$`.
    pub fn get(&self, name: &str) -> Option<&Item> {
        let name = name.strip_prefix('$').unwrap_or(name);
        self.items.iter().find(|item| item.name == name)
    }

    /// The groups, sorted: each capability, and `std.…`.
    pub fn groups(&self) -> Vec<&str> {
        let mut groups: Vec<&str> = self.items.iter().map(|i| i.group.as_str()).collect();
        groups.dedup();
        groups.sort_unstable();
        groups.dedup();
        groups
    }

    /// The functions of a group (`log`, `std.str`), or of every group under
    /// a prefix (`std`), with or without a `$`.
    pub fn group(&self, name: &str) -> Vec<&Item> {
        let name = name.strip_prefix('$').unwrap_or(name);
        let nested = format!("{name}.");
        self.items
            .iter()
            .filter(|item| item.group == name || item.group.starts_with(&nested))
            .collect()
    }

    /// What a group is for, if known.
    pub fn description(&self, group: &str) -> Option<&str> {
        self.descriptions.get(group).map(String::as_str)
    }

    /// The functions `name` (with or without a `$`) most likely means,
    /// best first, at most three: first those it names by another word
    /// (synonyms: `contains` for `find`, `put` for `set`) in its group,
    /// then those spelled like it in its group. A group that does not
    /// exist (`std.f64`) gives nothing, rather than a function of another
    /// type; one named by another word (`std.string`) is that group.
    pub fn suggest(&self, name: &str) -> Vec<&Item> {
        self.suggest_for_call(name, None)
    }

    /// As [`Reference::suggest`], for a call with `args` operands written:
    /// among names alike, those that take that many come first.
    pub fn suggest_for_call(&self, name: &str, args: Option<usize>) -> Vec<&Item> {
        let name = name.strip_prefix('$').unwrap_or(name);
        let Some((group, leaf)) = name.rsplit_once('.') else {
            return Vec::new();
        };
        // `str.len` for `std.str.len`.
        let library_group = format!("std.{group}");
        let group = if !self.items.iter().any(|i| i.group == group)
            && self.items.iter().any(|i| i.group == library_group)
        {
            library_group.as_str()
        } else {
            group
        };
        let group = GROUP_SYNONYMS
            .iter()
            .find(|(other, _)| *other == group)
            .map_or(group, |(_, group)| group);
        let leaf = leaf.to_ascii_lowercase();
        let meant: &[&str] = SYNONYMS
            .iter()
            .find(|(word, _)| *word == leaf)
            .map_or(&[], |(_, names)| names);
        let mut scored: Vec<(f64, &Item)> = self
            .items
            .iter()
            .filter(|item| item.group == group && item.name != name)
            .filter_map(|item| {
                let own = item.name.rsplit('.').next().unwrap_or_default();
                if let Some(rank) = meant.iter().position(|m| *m == own) {
                    return Some((3.0 - rank as f64 * 0.1, item));
                }
                let similarity = strsim::jaro_winkler(&leaf, own);
                let prefix = own.starts_with(&leaf) || leaf.starts_with(own);
                let fits = args
                    .is_some_and(|args| crate::catalogue::arity(&item.entry.signature).0 == args);
                (similarity > 0.88 || (prefix && own.len().min(leaf.len()) >= 3))
                    .then_some((similarity + if fits { 0.5 } else { 0.0 }, item))
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
        let elsewhere = ELSEWHERE
            .iter()
            .filter(|(word, _)| *word == leaf)
            .filter_map(|(_, meant)| self.items.iter().find(|item| item.name == *meant))
            .filter(|item| item.group != group);
        elsewhere
            .chain(scored.into_iter().map(|(_, item)| item))
            .take(3)
            .collect()
    }

    /// For a call to `module.field` where no capability is named `module`:
    /// the functions it most likely means, best first, at most three, in
    /// the capability `module` is another word for (`net` for `http`), or
    /// else in any capability.
    pub fn suggest_module(&self, module: &str, field: &str, args: Option<usize>) -> Vec<&Item> {
        let module = module.strip_prefix('$').unwrap_or(module);
        let meant = MODULE_SYNONYMS
            .iter()
            .find(|(word, _)| word.eq_ignore_ascii_case(module))
            .map(|(_, group)| *group);
        let groups: Vec<&str> = match meant {
            Some(group) => vec![group],
            None => self
                .groups()
                .into_iter()
                .filter(|g| !g.starts_with("std"))
                .collect(),
        };
        let mut found: Vec<&Item> = Vec::new();
        for group in groups {
            for item in self.suggest_for_call(&format!("{group}.{field}"), args) {
                if !found.contains(&item) {
                    found.push(item);
                }
            }
            if let Some(exact) = self.get(&format!("{group}.{field}"))
                && !found.contains(&exact)
            {
                found.insert(0, exact);
            }
        }
        found.truncate(3);
        found
    }

    /// The whole reference in Markdown: what `docs/reference.md` holds.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "# Reference\n\n\
             Every capability import and standard-library function a program can call \
             without defining it, with its signature, the role of each parameter and \
             result, and what it does. Generated by `tape doc --markdown` from the \
             catalogue the compiler uses; a test fails when this file is stale \
             (`BLESS=1 cargo test --test doc` rewrites it). `tape doc NAME` prints one \
             entry.\n\n\
             Roles: ",
        );
        let roles: Vec<String> = Role::ALL
            .iter()
            .map(|role| format!("`{}` {}", role.word(), role.describe()))
            .collect();
        out.push_str(&roles.join(", "));
        out.push_str(".\n\n## Contents\n\n");
        for group in self.groups() {
            let _ = writeln!(
                out,
                "- [`{group}`](#{}): {}",
                group.replace('.', ""),
                self.description(group).unwrap_or_default()
            );
        }
        for group in self.groups() {
            let _ = write!(out, "\n## `{group}`\n\n");
            if let Some(description) = self.description(group) {
                let _ = write!(out, "{}.\n\n", capitalized(description));
            }
            for item in self.group(group) {
                if item.group != group {
                    continue;
                }
                let _ = write!(out, "### `${}`\n\n", item.name);
                out.push_str(&item.markdown_body());
                out.push('\n');
            }
        }
        out
    }
}

impl Item {
    /// The first sentence of its documentation, on one line.
    pub fn summary(&self) -> String {
        let paragraph = self.entry.doc.split("\n\n").next().unwrap_or_default();
        let line = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
        match line.find(". ") {
            Some(end) => line[..=end].to_string(),
            None => line,
        }
    }

    /// Each parameter's name (`_` when unnamed) with its role, if known.
    pub fn params(&self) -> Vec<(String, Option<Role>)> {
        let names = param_names(&self.entry.signature);
        names
            .into_iter()
            .enumerate()
            .map(|(at, name)| {
                let role = self
                    .entry
                    .roles
                    .as_ref()
                    .and_then(|r| r.params.get(at).copied());
                (name, role)
            })
            .collect()
    }

    /// The entry as text for a terminal: what `tape doc NAME` prints.
    pub fn text(&self) -> String {
        let mut out = format!("${} {}\n", self.name, self.entry.signature);
        out.push_str(&self.roles_lines("  "));
        if !self.entry.doc.is_empty() {
            out.push('\n');
            out.push_str(&self.entry.doc);
            out.push('\n');
        }
        out
    }

    fn markdown_body(&self) -> String {
        let mut out = format!(
            "```wat\n(func ${} {})\n```\n\n",
            self.name, self.entry.signature
        );
        let roles = self.roles_lines("");
        if !roles.is_empty() {
            out.push_str("| | role |\n|---|---|\n");
            for line in roles.lines() {
                let (name, role) = line.split_once("  ").unwrap_or((line, ""));
                let _ = writeln!(out, "| `{}` | {} |", name.trim(), role.trim());
            }
            out.push('\n');
        }
        if !self.entry.doc.is_empty() {
            out.push_str(&self.entry.doc);
            out.push('\n');
        }
        out
    }

    /// One line per parameter and result: name, then role and what it is.
    fn roles_lines(&self, indent: &str) -> String {
        let Some(roles) = &self.entry.roles else {
            return String::new();
        };
        let mut rows: Vec<(String, Role)> = Vec::new();
        for (name, role) in self.params() {
            if let Some(role) = role {
                rows.push((name, role));
            }
        }
        for (at, role) in roles.results.iter().enumerate() {
            let name = if roles.results.len() == 1 {
                "result".to_string()
            } else {
                format!("result {at}")
            };
            rows.push((name, *role));
        }
        let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        rows.iter()
            .map(|(name, role)| {
                format!(
                    "{indent}{name:width$}  {}: {}\n",
                    role.word(),
                    role.describe()
                )
            })
            .collect()
    }
}

/// The names of a WAT signature's parameters, `_` for an unnamed one.
fn param_names(signature: &str) -> Vec<String> {
    let mut names = Vec::new();
    for clause in signature.split('(').skip(1) {
        let mut words = clause.trim_end().trim_end_matches(')').split_whitespace();
        if words.next() != Some("param") {
            continue;
        }
        let words: Vec<&str> = words.collect();
        match words.first() {
            Some(name) if name.starts_with('$') => names.push(name.to_string()),
            _ => names.extend(words.iter().map(|_| "_".to_string())),
        }
    }
    names
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> Reference {
        let mut catalogue = Catalogue::new();
        catalogue.insert("kv", "get", "(param $key i32) (result i32 i32)");
        catalogue.insert(
            "kv",
            "set",
            "(param $key i32) (param $value i32) (result i32)",
        );
        catalogue.insert("kv", "delete", "(param $key i32) (result i32)");
        catalogue.insert("kv", "list", "(param $prefix i32) (result i32 i32)");
        Reference::new(&catalogue, &Library::standard())
    }

    fn names(items: Vec<&Item>) -> Vec<&str> {
        items.into_iter().map(|i| i.name.as_str()).collect()
    }

    #[test]
    fn suggestions_follow_meaning_then_spelling_within_the_group() {
        let reference = reference();
        assert_eq!(
            names(reference.suggest("std.str.includes"))[0],
            "std.str.contains"
        );
        // In another group.
        assert_eq!(
            names(reference.suggest("std.str.to_i64"))[0],
            "std.i64.parse"
        );
        assert_eq!(
            names(reference.suggest("std.str.sort"))[0],
            "std.seq.sort_str"
        );
        assert_eq!(names(reference.suggest("std.str.length")), ["std.str.len"]);
        assert_eq!(
            names(reference.suggest("$std.str.to_uper"))[0],
            "std.str.to_upper"
        );
        assert_eq!(
            names(reference.suggest("std.string.concat")),
            ["std.str.concat"]
        );
        assert_eq!(names(reference.suggest("kv.put")), ["kv.set"]);
        assert_eq!(names(reference.suggest("str.search"))[0], "std.str.find");
        // A capability by another name.
        assert_eq!(
            names(reference.suggest_module("db", "get", Some(1))),
            ["kv.get"]
        );
        assert_eq!(
            names(reference.suggest_module("store", "put", Some(2))),
            ["kv.set"]
        );
        assert_eq!(
            names(reference.suggest_module("kvs", "delete", Some(1))),
            ["kv.delete"]
        );
        // Spelled alike, the one that takes as many arguments first.
        assert_eq!(
            names(reference.suggest_for_call("std.wire.push", Some(3)))[0],
            "std.wire.push_raw"
        );
        assert_ne!(
            names(reference.suggest_for_call("std.wire.push", Some(2)))[0],
            "std.wire.push_raw"
        );
        assert_eq!(names(reference.suggest("kv.remove")), ["kv.delete"]);
        // Nothing of another type, nothing merely sharing `str.`.
        assert!(reference.suggest("std.f64.to_str").is_empty());
        assert!(reference.suggest("std.str.replace").is_empty());
    }

    #[test]
    fn the_library_is_documented_with_roles_from_its_comments() {
        let reference = reference();
        let item = reference.get("$std.str.concat").unwrap();
        assert_eq!(item.group, "std.str");
        assert_eq!(
            item.entry.signature,
            "(param $a i32) (param $b i32) (result i32)"
        );
        assert_eq!(
            item.entry.roles.as_ref().unwrap().to_string(),
            "str str -> str"
        );
        assert!(
            item.summary().starts_with("A new string"),
            "{}",
            item.summary()
        );
        assert!(!item.entry.doc.contains("roles:"));
        let text = item.text();
        assert!(
            text.contains("$a      str: a pointer to a string"),
            "{text}"
        );
        assert!(
            text.contains("result  str: a pointer to a string"),
            "{text}"
        );
        for item in reference.group("std") {
            let roles = item.entry.roles.as_ref();
            assert!(
                roles.is_some_and(|r| r.matches(&item.entry.signature)),
                "{} has no roles that fit its signature",
                item.name
            );
            assert!(!item.summary().is_empty(), "{} has no summary", item.name);
        }
    }

    #[test]
    fn unnamed_parameters_are_listed_too() {
        assert_eq!(
            param_names("(param i32 i64) (param $x f64) (result i32)"),
            ["_", "_", "$x"]
        );
    }
}
