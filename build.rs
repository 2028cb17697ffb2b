//! Links the unwinder into the `tape` binary, as gcc's `-static-libgcc`
//! does, where the target is glibc's Linux and the C compiler that links
//! has `libgcc_eh.a`.
//!
//! Rust's standard library unwinds panics with libgcc's unwinder, which a
//! program built the default way loads as a shared library,
//! `libgcc_s.so.1`. Loading it is dear at start: the dynamic loader opens,
//! maps and relocates it, and its constructor asks the CPU for its features
//! (`cpuid`, which exits to the hypervisor on a VM). Measured on a 2-vCPU
//! VM, it was about 13% of a whole `tape run hello` (1.86 → 1.62 ms;
//! `benches/process.rs`). The unwinder linked in (about 40 KB) costs
//! nothing at start.
//!
//! The archive goes in whole (`--whole-archive`), so that its definitions
//! take the place of the shared library's rather than coming after them,
//! and `--as-needed` then drops `libgcc_s.so.1` from what the binary
//! needs; `__register_frame`, which wasmtime calls for the unwind tables of
//! the code it compiles, comes from the same copy as the unwinder.
//! `tests/cli.rs` checks that the binary does not need `libgcc_s.so.1`
//! when this script linked the unwinder in (it says so to the tests with
//! `TAPE_STATIC_UNWINDER`). Elsewhere — another C library, another
//! target than the host without a configured linker, a compiler without
//! `libgcc_eh.a` — the binary is linked the default way.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=RUSTC_LINKER");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let glibc_linux = var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu";
    // `+crt-static` links everything statically already.
    let static_crt = var("CARGO_CFG_TARGET_FEATURE")
        .split(',')
        .any(|f| f == "crt-static");
    if !glibc_linux || static_crt {
        return;
    }
    let Some(archive) = libgcc_eh(&var("RUSTC_LINKER"), var("TARGET") == var("HOST")) else {
        return;
    };
    for arg in [
        "-Wl,--whole-archive".to_string(),
        archive.display().to_string(),
        "-Wl,--no-whole-archive".to_string(),
    ] {
        println!("cargo::rustc-link-arg-bin=tape={arg}");
    }
    println!("cargo::rustc-env=TAPE_STATIC_UNWINDER=1");
}

/// Where the C compiler that links the binary keeps `libgcc_eh.a`: rustc
/// links with `cc` unless a linker is configured (which cargo tells build
/// scripts in `RUSTC_LINKER`); a host's `cc` is asked only when building
/// for the host.
fn libgcc_eh(linker: &str, native: bool) -> Option<PathBuf> {
    let compiler = match linker {
        "" if native => "cc",
        "" => return None,
        linker => linker,
    };
    let output = Command::new(compiler)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .ok()?;
    // The path when the compiler has the file, its bare name when not.
    let path = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
    (output.status.success() && path.is_absolute() && path.is_file()).then_some(path)
}
