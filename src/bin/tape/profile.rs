//! `tape run --profile`: where a run's fuel and time went, as a table, a
//! folded-stack file and an SVG flame graph.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use tape_rt::profile::Profile;

use crate::failure::Failure;
use crate::output::{NOTE, Styles};

/// The sampling interval: the engine's epoch tick while profiling.
pub const INTERVAL: Duration = Duration::from_micros(100);

/// Rows of each table in the terminal.
const ROWS: usize = 12;

/// Profiling options of `tape run`.
#[derive(clap::Args, Debug, Default, Clone)]
#[command(next_help_heading = "Profile")]
pub struct ProfileOpts {
    /// Sample the run every 100 µs and print where its fuel and time went,
    /// by function and by source line (on standard error; with --json, in
    /// the JSON)
    #[arg(long, conflicts_with_all = ["record", "invoke"])]
    pub profile: bool,
    /// Write the profile as an SVG flame graph (implies --profile)
    #[arg(long, value_name = "SVG", conflicts_with_all = ["record", "invoke"])]
    pub flamegraph: Option<PathBuf>,
    /// Write the profile's stacks in the folded format flame graph tools
    /// read, weighted by fuel (implies --profile)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["record", "invoke"])]
    pub folded: Option<PathBuf>,
}

impl ProfileOpts {
    pub fn wanted(&self) -> bool {
        self.profile || self.flamegraph.is_some() || self.folded.is_some()
    }
}

/// The profile as `--json` gives it.
#[derive(Serialize)]
pub struct ProfileJson {
    interval_us: u64,
    samples: u64,
    time_us: u64,
    fuel: u64,
    functions: Vec<FunctionJson>,
    lines: Vec<LineJson>,
    /// The stacks in the folded format, weighted by fuel.
    folded: String,
}

#[derive(Serialize)]
struct FunctionJson {
    function: String,
    at: Option<String>,
    self_fuel: u64,
    total_fuel: u64,
    self_time_us: u64,
    total_time_us: u64,
    self_samples: u64,
}

#[derive(Serialize)]
struct LineJson {
    at: String,
    function: String,
    fuel: u64,
    time_us: u64,
    samples: u64,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

pub fn json(profile: &Profile) -> ProfileJson {
    ProfileJson {
        interval_us: micros(profile.interval),
        samples: profile.samples,
        time_us: micros(profile.time()),
        fuel: profile.fuel(),
        functions: profile
            .functions()
            .into_iter()
            .map(|f| FunctionJson {
                at: f.location.as_ref().map(ToString::to_string),
                function: f.function,
                self_fuel: f.self_fuel,
                total_fuel: f.total_fuel,
                self_time_us: micros(f.self_time),
                total_time_us: micros(f.total_time),
                self_samples: f.self_samples,
            })
            .collect(),
        lines: profile
            .lines()
            .into_iter()
            .map(|l| LineJson {
                at: l.location.to_string(),
                function: l.function,
                fuel: l.fuel,
                time_us: micros(l.time),
                samples: l.samples,
            })
            .collect(),
        folded: profile.folded(false),
    }
}

/// Writes the files asked for: the folded stacks, the flame graph.
pub fn write(opts: &ProfileOpts, profile: &Profile, title: &str) -> Result<(), Failure> {
    if let Some(path) = &opts.folded {
        crate::build::write_atomically(path, profile.folded(false).as_bytes())?;
    }
    if let Some(path) = &opts.flamegraph {
        crate::build::write_atomically(path, &flamegraph(profile, title)?)?;
    }
    Ok(())
}

/// The profile as an SVG flame graph, frames as wide as the fuel spent
/// in them.
pub fn flamegraph(profile: &Profile, title: &str) -> Result<Vec<u8>, Failure> {
    let folded = profile.folded(false);
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_string();
    options.count_name = "fuel".to_string();
    options.name_type = "Function:".to_string();
    let mut svg = Vec::new();
    let lines: Vec<&str> = folded.lines().collect();
    if lines.is_empty() {
        return Err(Failure::usage(
            "the run took less than one sample (100 µs), so there is no flame graph to draw",
        )
        .help("profile a longer run, e.g. with larger arguments"));
    }
    inferno::flamegraph::from_lines(&mut options, lines, &mut svg)
        .map_err(|e| Failure::io(format!("cannot draw the flame graph: {e}")))?;
    Ok(svg)
}

/// The tables for the terminal: functions by self fuel, then lines.
pub fn render(profile: &Profile, source: Option<&str>, styles: Styles) -> String {
    let heading = |text: &str| styles.paint(NOTE, text);
    let fuel = profile.fuel();
    let time = profile.time();
    let mut text = format!(
        "{} {} sample{} every {} µs: {} fuel and {:.1} ms counted\n",
        heading("profile:"),
        profile.samples,
        if profile.samples == 1 { "" } else { "s" },
        profile.interval.as_micros(),
        fuel,
        time.as_secs_f64() * 1000.0
    );
    if profile.stacks.is_empty() {
        text.push_str("  the run took less than one sample; profile a longer run\n");
        return text;
    }
    let share = |part: u64| {
        if fuel == 0 {
            0.0
        } else {
            part as f64 * 100.0 / fuel as f64
        }
    };
    text.push_str(&format!(
        "  {:>6} {:>7} {:>9}  {}\n",
        "self%", "total%", "time", "function"
    ));
    for f in profile.functions().iter().take(ROWS) {
        text.push_str(&format!(
            "  {:>5.1}% {:>6.1}% {:>7.2}ms  {}{}\n",
            share(f.self_fuel),
            share(f.total_fuel),
            f.self_time.as_secs_f64() * 1000.0,
            f.function,
            f.location
                .as_ref()
                .map_or(String::new(), |l| format!("  ({}:{})", l.file, l.line)),
        ));
    }
    text.push_str(&format!("{}\n", heading("hottest lines:")));
    for line in profile.lines().iter().take(ROWS) {
        let code = source
            .and_then(|s| {
                s.lines()
                    .nth((line.location.line as usize).saturating_sub(1))
            })
            .map(str::trim)
            .unwrap_or("");
        let code: String = code.chars().take(60).collect();
        text.push_str(&format!(
            "  {:>5.1}%  {}:{}  {}  {}\n",
            share(line.fuel),
            Path::new(&line.location.file)
                .file_name()
                .map_or(line.location.file.clone(), |n| n
                    .to_string_lossy()
                    .into_owned()),
            line.location.line,
            line.function,
            code
        ));
    }
    text
}
