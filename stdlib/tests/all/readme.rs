//! The README cannot rot: every function is documented with its
//! signature, the table of what a call links is computed anew, and every
//! WAT example runs and does what its comment says.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::library::{API, EXTRAS, defined, linked_by};
use crate::{run, run_with};
use tape_caps::Kv;
use tape_rt::{Args, Grants};

const README: &str = include_str!("../../README.md");

/// The text of every ```wat block.
fn wat_blocks() -> Vec<&'static str> {
    README
        .split("```wat\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap())
        .collect()
}

#[test]
fn every_function_is_documented_with_its_signature() {
    for (name, signature) in API.iter().chain(EXTRAS) {
        let row = format!("| `{name}` | `{signature}` |");
        assert!(README.contains(&row), "the README has no row `{row}`");
    }
}

/// Each row of "What a call links" is what the compiler links.
#[test]
fn the_table_of_links_is_right() {
    let section = README
        .split("## What a call links\n")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let mut rows = Vec::new();
    for line in section.lines().filter(|l| l.starts_with("| `$std.")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`');
        let mut documented: BTreeSet<String> = cells[2]
            .split(", ")
            .filter(|c| *c != "—")
            .map(|c| c.trim_matches('`').to_string())
            .collect();
        documented.insert(name.to_string());
        let allocates = match cells[3] {
            "yes" => true,
            "no" => false,
            other => panic!("{name}: `{other}` is not yes or no"),
        };
        assert_eq!(
            (documented, allocates),
            linked_by(name),
            "the README's row for {name}"
        );
        rows.push(name.to_string());
    }
    let mut all = defined();
    all.sort();
    rows.sort();
    assert_eq!(rows, all, "one row per function");
}

#[derive(Debug, PartialEq, Deserialize)]
struct Named {
    name: String,
    count: i32,
}

#[derive(Debug, serde::Serialize)]
struct Person {
    name: String,
    tags: Vec<String>,
    score: f64,
}

#[test]
fn the_examples_do_what_their_comments_say() {
    let blocks = wat_blocks();
    assert_eq!(blocks.len(), 10, "a new example needs its check here");

    let greet = run(blocks[0], &["world"]);
    assert_eq!(greet.result::<String>(0).unwrap(), "hello, WORLD");

    let sum = run(blocks[1], &["1, 2,3"]);
    assert_eq!(sum.status, 0);
    assert_eq!(sum.result::<String>(0).unwrap(), "6");
    assert_eq!(
        run(blocks[1], &["-2147483648,-1"])
            .result::<String>(0)
            .unwrap(),
        "-2147483649"
    );
    assert_eq!(run(blocks[1], &["1,x"]).status, 1);

    let sorted = run(blocks[2], &["pear, fig ,apple"]);
    assert_eq!(sorted.result::<String>(0).unwrap(), "apple | fig | pear");

    let words = run(blocks[3], &[" the quick  fox "]);
    assert_eq!(
        words.result::<Vec<String>>(0).unwrap(),
        ["the", "quick", "fox"]
    );
    assert_eq!(
        run(blocks[3], &[" "]).result::<Vec<String>>(0).unwrap(),
        Vec::<String>::new()
    );

    let mean = run(blocks[4], &["1.5 2 4"]);
    assert_eq!(mean.result::<String>(0).unwrap(), "2.5");
    assert_eq!(mean.result::<String>(1).unwrap(), "2.5");
    let mean = run(blocks[4], &["1 2"]);
    assert_eq!(mean.result::<String>(0).unwrap(), "1.5");
    assert_eq!(run(blocks[4], &["1 x"]).status, 1);

    let named = run(blocks[5], &["tape"]);
    assert_eq!(
        named.result::<Named>(0).unwrap(),
        Named {
            name: "tape".into(),
            count: 4
        }
    );

    let lists = run(blocks[6], &["a", "b", "c"]);
    assert_eq!(
        lists.result::<Vec<i32>>(0).unwrap(),
        (0..10).map(|i| i * i).collect::<Vec<_>>()
    );
    assert_eq!(lists.result::<String>(1).unwrap(), "a, b, c");

    // The same type in and out: an i64 argument, an i64 result.
    let next = run_with(
        blocks[6 + 1],
        Args::new().push(&41i64).unwrap(),
        Grants::new(),
    );
    assert_eq!(next.result::<i64>(0).unwrap(), 42);
    assert_eq!(next.result::<(i64,)>(0).unwrap(), (42,));

    let person = Person {
        name: "ada".into(),
        tags: vec!["x".into(), "y".into()],
        score: 2.5,
    };
    let read = run_with(blocks[8], Args::new().push(&person).unwrap(), Grants::new());
    assert_eq!(read.result::<String>(0).unwrap(), "ada: x, y (2.5)");
    // A struct cut short: the read fails, and its status is the run's.
    let short = run_with(
        blocks[8],
        Args::new().push(&("ada",)).unwrap(),
        Grants::new(),
    );
    assert_eq!(short.status, 3);

    let kv = Kv::in_memory().unwrap();
    let grants = Grants::new().grant(kv);
    run_with(
        r#"(func $run (result i32)
  (check (call $kv.set "user:bob" "b"))
  (check (call $kv.set "other" "o"))
  (check (call $kv.set "user:ada" "a"))
  (i32.const 0))"#,
        Args::new(),
        grants.clone(),
    );
    let keys = run_with(blocks[9], Args::new(), grants);
    assert_eq!(keys.result::<String>(0).unwrap(), "user:ada 8");
    assert_eq!(keys.result::<String>(1).unwrap(), "user:bob 8");
    assert_eq!(keys.results.len(), 2);
}
