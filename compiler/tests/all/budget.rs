//! The compile budget: a source over its size is refused before any work,
//! and compiling past its time stops between passes.

use std::time::Duration;

use tape_compiler::{Budget, Error, Options, compile_str, expand_str};

fn with(budget: Budget) -> Options {
    Options {
        budget,
        ..crate::options()
    }
}

#[test]
fn a_source_over_the_size_budget_is_refused_naming_both_sizes() {
    let source = format!(
        "(func $run (result i32) {} (i32.const 0))",
        " ".repeat(2000)
    );
    let options = with(Budget {
        max_source_bytes: 1000,
        ..Budget::default()
    });
    for error in [
        compile_str("big.wat", &source, &options).unwrap_err(),
        expand_str("big.wat", &source, &options).unwrap_err(),
    ] {
        let Error::TooLarge { name, size, limit } = &error else {
            panic!("{error}");
        };
        assert_eq!(
            (name.as_str(), *size, *limit),
            ("big.wat", source.len(), 1000)
        );
        assert!(
            error.to_string().contains("over the compile budget"),
            "{error}"
        );
    }
    // At the budget exactly, it compiles.
    let options = with(Budget {
        max_source_bytes: source.len(),
        ..Budget::default()
    });
    compile_str("big.wat", &source, &options).unwrap();
}

#[test]
fn compiling_past_the_time_budget_is_a_timeout() {
    let options = with(Budget {
        timeout: Some(Duration::ZERO),
        ..Budget::default()
    });
    let error = compile_str(
        "slow.wat",
        "(func $run (result i32) (i32.const 0))",
        &options,
    )
    .unwrap_err();
    assert!(
        matches!(&error, Error::Timeout { name, timeout } if name == "slow.wat" && timeout.is_zero()),
        "{error}"
    );
}

#[test]
fn the_default_budget_is_documented() {
    let budget = Budget::default();
    assert_eq!(budget.max_source_bytes, 8 << 20);
    assert_eq!(budget.timeout, None);
}
