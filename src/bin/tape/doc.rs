//! `tape doc`: the reference of every capability import and standard
//! library function, from the catalogue the compiler uses.

use serde::Serialize;
use tape_compiler::{Item, Library, Reference};

use crate::failure::Failure;
use crate::grants;
use crate::output::{Output, OutputOpts};

const AFTER_HELP: &str = "\
Without NAME, lists every group (each capability, and the standard
library's `std.…` groups) with its functions. NAME is a function
(`log.write`, `$std.str.find`) or a group (`kv`, `std.str`, `std`): a
function prints its signature, the role of each parameter and result, and
what it does; a group lists its functions. An unknown name suggests what
it may mean. --markdown prints the whole reference, as docs/reference.md
holds it.

Examples:
  tape doc
  tape doc log.write
  tape doc std.str
  tape doc --json '$kv.get' | jq .functions[0].roles";

/// Show the reference of capability imports and standard library functions.
#[derive(clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Opts {
    #[command(flatten)]
    output: OutputOpts,
    /// Print the whole reference in Markdown (docs/reference.md)
    #[arg(long, conflicts_with = "name")]
    markdown: bool,
    /// A function or a group, with or without its `$`
    #[arg(help_heading = "Arguments")]
    name: Option<String>,
}

/// What `--json` adds to the envelope.
#[derive(Serialize)]
struct Body {
    /// The functions shown.
    functions: Vec<Function>,
}

#[derive(Serialize)]
struct Function {
    name: String,
    group: String,
    signature: String,
    /// `"str -> ptr status"`, or absent when not known.
    #[serde(skip_serializing_if = "Option::is_none")]
    roles: Option<String>,
    summary: String,
    doc: String,
}

impl Function {
    fn new(item: &Item) -> Function {
        Function {
            name: item.name.clone(),
            group: item.group.clone(),
            signature: item.entry.signature.clone(),
            roles: item.entry.roles.as_ref().map(ToString::to_string),
            summary: item.summary(),
            doc: item.entry.doc.clone(),
        }
    }
}

/// The reference `tape doc` shows: every built-in capability and the
/// standard library.
pub fn reference() -> Reference {
    Reference::new(&grants::catalogue(), &Library::standard())
}

pub fn run(opts: Opts) -> u8 {
    let out = Output::new("doc", &opts.output);
    let reference = reference();
    if opts.markdown {
        crate::output::print_stdout(&reference.markdown());
        return out.finish::<()>(None, None);
    }
    let (items, text) = match opts.name.as_deref() {
        None => (reference.items().iter().collect(), overview(&reference)),
        Some(name) => match find(&reference, name) {
            Ok(found) => found,
            Err(failure) => return out.finish::<()>(None, Some(failure)),
        },
    };
    if !out.json {
        crate::output::print_stdout(&text);
    }
    let body = Body {
        functions: items.into_iter().map(Function::new).collect(),
    };
    out.finish(Some(&body), None)
}

/// The functions `name` stands for, and the text that shows them.
fn find<'r>(reference: &'r Reference, name: &str) -> Result<(Vec<&'r Item>, String), Failure> {
    if let Some(item) = reference.get(name) {
        return Ok((vec![item], item.text()));
    }
    let group = reference.group(name);
    if !group.is_empty() {
        let name = name.trim_start_matches('$');
        let mut text = String::new();
        if let Some(description) = reference.description(name) {
            text.push_str(&format!("{name}: {description}\n\n"));
        }
        text.push_str(&listing(&group));
        return Ok((group, text));
    }
    let suggestions = reference.suggest(name);
    let help = match suggestions.first() {
        Some(first) => format!("did you mean `{}`? `tape doc` lists every name", first.name),
        None => "`tape doc` lists every name".to_string(),
    };
    Err(Failure::usage(format!("no function or group is named `{name}`")).help(help))
}

/// Every group, each with its functions and their summaries.
fn overview(reference: &Reference) -> String {
    let mut text = String::new();
    for group in reference.groups() {
        text.push_str(group);
        if let Some(description) = reference.description(group) {
            text.push_str(": ");
            text.push_str(description);
        }
        text.push('\n');
        let items: Vec<&Item> = reference
            .group(group)
            .into_iter()
            .filter(|item| item.group == group)
            .collect();
        for line in listing(&items).lines() {
            text.push_str("  ");
            text.push_str(line);
            text.push('\n');
        }
        text.push('\n');
    }
    text.push_str("`tape doc NAME` shows one function or group in full.\n");
    text
}

/// One line per function: its name and summary.
fn listing(items: &[&Item]) -> String {
    let width = items.iter().map(|i| i.name.len() + 1).max().unwrap_or(0);
    items
        .iter()
        .map(|item| {
            let name = format!("${}", item.name);
            format!("{name:width$}  {}\n", item.summary())
        })
        .collect()
}
