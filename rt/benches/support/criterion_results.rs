//! Reading back what criterion measured in this run, so a bench can print
//! the ratio against its reference. Shared by the benches of `tape-rt` and
//! of `tape` (included with `#[path]`).

use std::path::{Path, PathBuf};

/// The median criterion saved for `group/id` in this run, in nanoseconds.
pub fn median_ns(group: &str, id: &str) -> Option<f64> {
    let path = criterion_home()
        .join(group)
        .join(id)
        .join("new/estimates.json");
    let estimates: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    estimates["median"]["point_estimate"].as_f64()
}

/// Where criterion writes, by its own rules: `$CRITERION_HOME`, else
/// `criterion/` in the target directory, which holds this bench's binary
/// (`target/<profile>/deps/<bench>`).
fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .nth(3)
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
        .join("criterion")
}
