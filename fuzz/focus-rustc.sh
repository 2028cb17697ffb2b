#!/usr/bin/env bash
# A RUSTC_WRAPPER for `cargo fuzz` that keeps libFuzzer's coverage
# instrumentation in the crates under test and strips it from the rest
# (wasmtime, Cranelift, std's friends): a guest's compile by Cranelift
# then runs several times faster, and coverage, corpus and minimisation
# follow Tape's code rather than the code generator's. `--cfg fuzzing`,
# overflow checks and debug assertions stay everywhere.
#
#   RUSTC_WRAPPER=fuzz/focus-rustc.sh cargo +nightly fuzz build … --target-dir fuzz/target-focus
#
# The crates instrumented, unless FUZZ_FOCUS names others: Tape's own,
# the generator and printer the differential target draws its modules
# from, the text parser Tape compiles with, and the parsers capabilities
# hand guest data to. Minimising a corpus for the repository uses
# `FUZZ_FOCUS="tape_protocol tape_compiler tape_rt tape_stdlib"`, so that
# the corpus keeps what reaches Tape's code and nothing more.
set -euo pipefail
rustc=$1
shift
focus=" ${FUZZ_FOCUS:-tape_protocol tape_compiler tape_rt tape_stdlib tape_fuzz wasm_smith wasmprinter wast wat serde_json http} "
crate=""
previous=""
for arg in "$@"; do
    if [ "$previous" = "--crate-name" ]; then
        crate=$arg
    fi
    previous=$arg
done
if [[ "$focus" == *" $crate "* ]]; then
    exec "$rustc" "$@"
fi
args=()
for arg in "$@"; do
    case "$arg" in
        -Cpasses=sancov-module | -Cllvm-args=-sanitizer-coverage-*) ;;
        *) args+=("$arg") ;;
    esac
done
exec "$rustc" "${args[@]}"
