//! `tape run --invoke NAME`: call another exported function than `run`,
//! with numbers typed by its parameters, and print what it returns.
//!
//! Integers are decimal or `0x` hex, and may be written in the signed or
//! the unsigned range of their width (WebAssembly integers have no sign;
//! the function decides how to read them): an i32 takes -2147483648 to
//! 4294967295, and `4294967295`, `0xffffffff` and `-1` are the same bits.
//! Floats are Rust's decimal syntax (`1.5`, `-2e-3`, `inf`, `nan`); a
//! finite number too large for the type is refused rather than rounded to
//! infinity.
//!
//! Returned integers print as signed decimal, floats in the shortest form
//! that reads back to the same value (`1.0`, `0.1`, `1e-7`, `inf`, `nan`),
//! vectors as 32 hex digits, references as `null` or their kind.

use std::ffi::OsString;

use serde::Serialize;
use tape_rt::wasmtime::{V128, Val};
use tape_rt::{ExportType, Program, Signature, ValueType};

use crate::failure::Failure;

/// One returned value, as `--json` reports it.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Returned {
    /// The declared result type: `i32`, `f64`, `(ref null func)`, …
    #[serde(rename = "type")]
    pub ty: String,
    /// The value as the text output prints it: a string, so 64-bit
    /// integers, `inf` and `nan` survive every JSON reader.
    pub value: String,
}

/// The signature of the function `name` in `program`, if it can be called
/// from the command line.
///
/// # Errors
///
/// A usage [`Failure`] if there is no such export, it is not a function,
/// or it takes a parameter that cannot be written as a number; the help
/// lists the module's functions or gives the signature.
pub fn signature(program: &Program, name: &str) -> Result<Signature, Failure> {
    let signature = match program.export_type(name) {
        Some(ExportType::Func(signature)) => signature,
        Some(other) => {
            return Err(Failure::usage(format!(
                "cannot invoke `{name}`: it is a {}, not a function",
                other.kind()
            ))
            .help(functions(program)));
        }
        None => {
            return Err(
                Failure::usage(format!("the module exports no function `{name}`"))
                    .help(functions(program)),
            );
        }
    };
    if let Some((index, ty)) = signature
        .params
        .iter()
        .enumerate()
        .find(|(_, ty)| !ty.is_number())
    {
        return Err(Failure::usage(format!(
            "cannot invoke `{name}` from the command line: its parameter {index} is {ty}, \
             and only i32, i64, f32 and f64 can be given"
        ))
        .help(format!("`{name}` has the type {signature}")));
    }
    Ok(signature)
}

/// Parses `args` as the parameters of `name`.
///
/// # Errors
///
/// A usage [`Failure`] for the wrong number of arguments or one that is
/// not a number of its parameter's type; the help gives the signature.
pub fn params(name: &str, signature: &Signature, args: &[OsString]) -> Result<Vec<Val>, Failure> {
    let help = || format!("`{name}` has the type {signature}");
    let wanted = signature.params.len();
    if args.len() != wanted {
        return Err(Failure::usage(format!(
            "`{name}` takes {}, and {} {} given",
            plural(wanted, "argument"),
            args.len(),
            if args.len() == 1 { "was" } else { "were" }
        ))
        .help(help()));
    }
    signature
        .params
        .iter()
        .zip(args)
        .enumerate()
        .map(|(index, (ty, arg))| {
            let text = arg.to_str().ok_or_else(|| {
                Failure::usage(format!("argument {index} is not valid UTF-8")).help(help())
            })?;
            parse(text, ty).map_err(|reason| {
                Failure::usage(format!("argument {index} (`{text}`) {reason}")).help(help())
            })
        })
        .collect()
}

/// Each returned value with its declared type.
pub fn returned(signature: &Signature, values: &[Val]) -> Vec<Returned> {
    signature
        .results
        .iter()
        .zip(values)
        .map(|(ty, value)| Returned {
            ty: ty.to_string(),
            value: show(value),
        })
        .collect()
}

/// What the module offers, a function with its signature on each line.
fn functions(program: &Program) -> String {
    let functions: Vec<(&str, Signature)> = program
        .exports()
        .filter_map(|(name, ty)| match ty {
            ExportType::Func(signature) => Some((name, signature)),
            _ => None,
        })
        .collect();
    if functions.is_empty() {
        return "the module exports no functions".into();
    }
    let width = functions
        .iter()
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or(0);
    let mut text = String::from("the module exports these functions:");
    for (name, signature) in functions {
        text.push_str(&format!("\n  {name:width$}  {signature}"));
    }
    text
}

/// A number of type `ty`, or why `text` is not one (completing "argument
/// N (`text`) …").
fn parse(text: &str, ty: &ValueType) -> Result<Val, String> {
    let text = text.trim();
    Ok(match ty {
        ValueType::I32 => Val::I32(integer(text, 32, "i32")? as u32 as i32),
        ValueType::I64 => Val::I64(integer(text, 64, "i64")? as i64),
        ValueType::F32 => Val::F32(float::<f32>(text, "f32")?.to_bits()),
        ValueType::F64 => Val::F64(float::<f64>(text, "f64")?.to_bits()),
        // `signature` refused every other type.
        other => return Err(format!("is {other}, which cannot be given")),
    })
}

/// The bits of an integer `bits` wide, written in decimal or `0x` hex,
/// in the signed or the unsigned range.
fn integer(text: &str, bits: u32, name: &str) -> Result<u64, String> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (radix, digits) = match unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"))
    {
        Some(hex) => (16, hex),
        None => (10, unsigned),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(format!(
            "is not an {name}: write a decimal or 0x-hex integer"
        ));
    }
    let min = -(1i128 << (bits - 1));
    let max = (1i128 << bits) - 1;
    let range = || format!("is out of range for an {name}, which takes {min} to {max}");
    // Only all-digit strings get here, so the one error is overflow.
    let magnitude = i128::from_str_radix(digits, radix).map_err(|_| range())?;
    let value = if negative { -magnitude } else { magnitude };
    if value < min || value > max {
        return Err(range());
    }
    // Two's complement keeps the low `bits` bits: -1 and 0xffffffff alike.
    Ok(value as u64 & (u64::MAX >> (64 - bits)))
}

/// A float, refusing a finite number too large for the type (which Rust
/// would round to infinity).
fn float<F>(text: &str, name: &str) -> Result<F, String>
where
    F: std::str::FromStr + Into<f64> + Copy,
{
    let value: F = text
        .parse()
        .map_err(|_| format!("is not an {name}: write a decimal number, `inf` or `nan`"))?;
    let spelled_infinite = text
        .trim_start_matches(['+', '-'])
        .to_ascii_lowercase()
        .starts_with("inf");
    if value.into().is_infinite() && !spelled_infinite {
        return Err(format!("is out of range for an {name}"));
    }
    Ok(value)
}

/// A returned value as text.
fn show(value: &Val) -> String {
    match value {
        Val::I32(n) => n.to_string(),
        Val::I64(n) => n.to_string(),
        Val::F32(bits) => float_text(format!("{:?}", f32::from_bits(*bits))),
        Val::F64(bits) => float_text(format!("{:?}", f64::from_bits(*bits))),
        Val::V128(v) => format!("0x{:032x}", V128::as_u128(v)),
        Val::FuncRef(None)
        | Val::ExternRef(None)
        | Val::AnyRef(None)
        | Val::ExnRef(None)
        | Val::ContRef(None) => "null".into(),
        Val::FuncRef(Some(_)) => "<funcref>".into(),
        Val::ExternRef(Some(_)) => "<externref>".into(),
        Val::AnyRef(Some(_)) => "<anyref>".into(),
        Val::ExnRef(Some(_)) => "<exnref>".into(),
        Val::ContRef(Some(_)) => "<contref>".into(),
    }
}

/// Rust's `Debug` spelling of a float — the shortest that reads back the
/// same, with an exponent for very large and small ones — with `nan` in
/// lower case, as the parameters accept it.
fn float_text(debug: String) -> String {
    if debug == "NaN" { "nan".into() } else { debug }
}

fn plural(n: usize, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i32_of(text: &str) -> Result<i32, String> {
        parse(text, &ValueType::I32).map(|v| v.unwrap_i32())
    }

    fn i64_of(text: &str) -> Result<i64, String> {
        parse(text, &ValueType::I64).map(|v| v.unwrap_i64())
    }

    #[test]
    fn integers_take_the_signed_and_the_unsigned_range() {
        assert_eq!(i32_of("-5"), Ok(-5));
        assert_eq!(i32_of("+7"), Ok(7));
        assert_eq!(i32_of("-2147483648"), Ok(i32::MIN));
        assert_eq!(i32_of("2147483647"), Ok(i32::MAX));
        assert_eq!(i32_of("4294967295"), Ok(-1));
        assert_eq!(i32_of("0xffffffff"), Ok(-1));
        assert_eq!(i32_of("0X10"), Ok(16));
        assert_eq!(i32_of("-0x10"), Ok(-16));
        assert_eq!(i64_of("18446744073709551615"), Ok(-1));
        assert_eq!(i64_of("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(i64_of(" 12 "), Ok(12));
        let out = "is out of range for an i32, which takes -2147483648 to 4294967295";
        assert_eq!(i32_of("4294967296"), Err(out.into()));
        assert_eq!(i32_of("-2147483649"), Err(out.into()));
        assert_eq!(i32_of("0x100000000"), Err(out.into()));
        assert!(i64_of("18446744073709551616").is_err());
        assert!(i64_of("99999999999999999999999999999999999999999").is_err());
        for bad in ["", "-", "0x", "1.5", "1e3", "abc", "--1", "i32:1", "1_000"] {
            assert_eq!(
                i32_of(bad),
                Err("is not an i32: write a decimal or 0x-hex integer".into()),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn floats_take_decimals_infinities_and_nan_but_not_overflow() {
        let f64_of = |text: &str| parse(text, &ValueType::F64).map(|v| v.unwrap_f64());
        let f32_of = |text: &str| parse(text, &ValueType::F32).map(|v| v.unwrap_f32());
        assert_eq!(f64_of("1.5"), Ok(1.5));
        assert_eq!(f64_of("-2e-3"), Ok(-0.002));
        assert_eq!(f64_of("7"), Ok(7.0));
        assert_eq!(f64_of("-inf"), Ok(f64::NEG_INFINITY));
        assert_eq!(f64_of("Infinity"), Ok(f64::INFINITY));
        assert!(f64_of("nan").unwrap().is_nan());
        assert_eq!(f32_of("3.4e38"), Ok(3.4e38));
        assert_eq!(f32_of("1e39"), Err("is out of range for an f32".into()));
        assert_eq!(f64_of("1e309"), Err("is out of range for an f64".into()));
        assert!(f32_of("0x1p3").is_err());
        assert!(f32_of("one").is_err());
    }

    #[test]
    fn returned_values_print_so_they_read_back() {
        assert_eq!(show(&Val::I32(-1)), "-1");
        assert_eq!(show(&Val::I64(i64::MIN)), "-9223372036854775808");
        assert_eq!(show(&Val::F64(1.0f64.to_bits())), "1.0");
        assert_eq!(show(&Val::F64(0.1f64.to_bits())), "0.1");
        assert_eq!(show(&Val::F32(1e-7f32.to_bits())), "1e-7");
        assert_eq!(show(&Val::F64(f64::NEG_INFINITY.to_bits())), "-inf");
        assert_eq!(show(&Val::F32(f32::NAN.to_bits())), "nan");
        assert_eq!(
            show(&Val::V128(1u128.into())),
            "0x00000000000000000000000000000001"
        );
        assert_eq!(show(&Val::FuncRef(None)), "null");
        for text in ["1.0", "0.1", "1e-7", "-inf", "3.4028235e38"] {
            let value = parse(text, &ValueType::F32).unwrap();
            assert_eq!(show(&value), text);
        }
    }
}
