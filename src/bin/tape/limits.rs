//! `--fuel`, `--timeout` and `--max-memory`: the limits of one run.
//! (`--timeout` bounds compiling its program too; `--max-source` is in
//! `input.rs`.)
//!
//! A flag left out keeps the runtime's default (`tape_rt::Limits`), so
//! another source of limits (a manifest, say) can sit between the two.

use std::time::Duration;

use bytesize::ByteSize;
use tape_rt::Limits;

/// A limit, or `none` for no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound<T>(pub Option<T>);

#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Limits")]
pub struct LimitOpts {
    /// Fuel the run may use, roughly one unit per instruction, or `none`
    /// [default: 10000000000]
    #[arg(long, value_name = "N", value_parser = parse_fuel)]
    pub fuel: Option<Bound<u64>>,
    /// Wall-clock time the run may take, and compiling its program as long
    /// again: `500ms`, `2s`, `1m 30s`, or `none`
    /// [default: 10s]
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<Bound<Duration>>,
    /// Size the run's memories, tables and GC heap may hold together:
    /// `64KiB`, `16MiB`, `1GiB`, or plain bytes (`KB`/`MB` are powers of
    /// 1000) [default: 64MiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<u64>,
}

impl LimitOpts {
    /// `base` with every limit given on the command line replaced.
    pub fn apply(&self, mut base: Limits) -> Limits {
        if let Some(Bound(fuel)) = self.fuel {
            base.fuel = fuel;
        }
        if let Some(Bound(timeout)) = self.timeout {
            base.timeout = timeout;
        }
        if let Some(max_memory) = self.max_memory {
            base.max_memory = max_memory;
        }
        base
    }
}

fn parse_fuel(text: &str) -> Result<Bound<u64>, String> {
    if text == "none" {
        return Ok(Bound(None));
    }
    text.replace('_', "")
        .parse()
        .map(|n| Bound(Some(n)))
        .map_err(|e| format!("expected a whole number of fuel units or `none`: {e}"))
}

fn parse_timeout(text: &str) -> Result<Bound<Duration>, String> {
    if text == "none" {
        return Ok(Bound(None));
    }
    humantime::parse_duration(text)
        .map(|d| Bound(Some(d)))
        .map_err(|e| format!("expected a duration such as `500ms` or `2s`, or `none`: {e}"))
}

pub fn parse_size(text: &str) -> Result<u64, String> {
    text.parse::<ByteSize>()
        .map(|size| size.as_u64())
        .map_err(|e| format!("expected a size such as `64KiB`, `16MiB` or `1048576`: {e}"))
}

/// A byte count for people: `64 KiB`, `16 MiB`, `100 B`.
pub fn show_size(bytes: u64) -> String {
    ByteSize(bytes).display().iec().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuel_is_a_number_or_none() {
        assert_eq!(parse_fuel("1000"), Ok(Bound(Some(1000))));
        assert_eq!(parse_fuel("1_000_000"), Ok(Bound(Some(1_000_000))));
        assert_eq!(parse_fuel("none"), Ok(Bound(None)));
        assert!(parse_fuel("-1").is_err());
        assert!(parse_fuel("lots").unwrap_err().contains("`none`"));
    }

    #[test]
    fn timeouts_have_units() {
        assert_eq!(
            parse_timeout("500ms"),
            Ok(Bound(Some(Duration::from_millis(500))))
        );
        assert_eq!(parse_timeout("2s"), Ok(Bound(Some(Duration::from_secs(2)))));
        assert_eq!(
            parse_timeout("1m 30s"),
            Ok(Bound(Some(Duration::from_secs(90))))
        );
        assert_eq!(parse_timeout("none"), Ok(Bound(None)));
        assert!(parse_timeout("5").is_err(), "a bare number has no unit");
    }

    #[test]
    fn sizes_take_binary_and_decimal_units() {
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("64 kib"), Ok(64 << 10));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("2KB"), Ok(2000));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5 parsecs").is_err());
    }

    #[test]
    fn the_documented_defaults_are_the_runtimes() {
        // The help text of each flag names these.
        let limits = Limits::default();
        assert_eq!(limits.fuel, Some(10_000_000_000));
        assert_eq!(limits.timeout, Some(Duration::from_secs(10)));
        assert_eq!(limits.max_memory, 64 << 20);
        assert_eq!(show_size(limits.max_memory), "64.0 MiB");
    }

    #[test]
    fn flags_given_replace_the_base_and_others_keep_it() {
        let opts = LimitOpts {
            fuel: Some(Bound(None)),
            timeout: None,
            max_memory: Some(1 << 20),
        };
        let limits = opts.apply(Limits::default());
        assert_eq!(limits.fuel, None);
        assert_eq!(limits.timeout, Limits::default().timeout);
        assert_eq!(limits.max_memory, 1 << 20);
    }
}
