//! Arbitrary bytes decode as wire values or fail; never a panic.
//!
//! `cargo fuzz run wire` (from the repository root).

#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

#[derive(Deserialize, Debug)]
#[allow(dead_code)]
enum Shape<'a> {
    Unit,
    Text(&'a str),
    Pair(u16, i64),
    Named { flag: bool, items: Vec<Option<String>> },
}

fuzz_target!(|data: &[u8]| {
    let _ = tape_protocol::from_bytes::<Vec<Shape<'_>>>(data);
    let _ = tape_protocol::from_bytes::<BTreeMap<String, Vec<u8>>>(data);
    let _ = tape_protocol::take_from_bytes::<(u32, &str, Option<f64>)>(data);
});
