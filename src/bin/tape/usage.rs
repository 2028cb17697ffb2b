//! A program's declared arguments, shown to people (its usage, as clap
//! shows a command's) and to agents (a JSON Schema of the object
//! `tape run --args-json` takes).

use serde_json::{Map, Value, json};
use tape_rt::{ArgType, Argument};

/// `tape run FILE <name> [times]`: required arguments in angle brackets,
/// optional ones in square brackets.
pub fn usage_line(file: &str, arguments: &[Argument]) -> String {
    let mut line = format!("tape run {file}");
    for argument in arguments {
        line.push(' ');
        line.push_str(&placeholder(argument));
    }
    line
}

fn placeholder(argument: &Argument) -> String {
    if argument.is_required() {
        format!("<{}>", argument.name)
    } else {
        format!("[{}]", argument.name)
    }
}

/// The usage line, then a row per argument: its placeholder, type and
/// description, with its default.
///
/// ```text
/// usage: tape run greet.wat <name> [times]
///
/// arguments:
///   <name>   str  who to greet
///   [times]  i32  how many times [default: 1]
/// ```
pub fn usage(file: &str, arguments: &[Argument]) -> String {
    let mut text = format!("usage: {}\n\narguments:\n", usage_line(file, arguments));
    let rows: Vec<(String, &str, String)> = arguments
        .iter()
        .map(|argument| {
            let mut about = argument.description.clone();
            if let Some(default) = &argument.default {
                about.push_str(&format!(" [default: {}]", shown_default(argument, default)));
            }
            (placeholder(argument), argument.ty.name(), about)
        })
        .collect();
    let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let type_width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    for (placeholder, ty, about) in rows {
        let pad = width - placeholder.chars().count();
        text.push_str(&format!(
            "  {placeholder}{}  {ty:type_width$}  {about}\n",
            " ".repeat(pad)
        ));
    }
    text
}

/// A default as a word on the command line would write it: text quoted
/// when it would not read back as one word.
fn shown_default(argument: &Argument, default: &str) -> String {
    let plain = !default.is_empty() && !default.contains(char::is_whitespace);
    if argument.ty.is_pointer() && !plain {
        format!("{default:?}")
    } else {
        default.to_string()
    }
}

/// The JSON Schema (draft 2020-12) of the object `tape run --args-json`
/// takes: a property per argument, with its type, range, description and
/// default, the required ones listed, nothing else allowed. Each property
/// also says its Tape type (`x-tape-type`) and position (`x-tape-position`),
/// for a caller that passes the arguments as words.
pub fn schema(file: &str, arguments: &[Argument]) -> Value {
    let mut properties = Map::new();
    for (position, argument) in arguments.iter().enumerate() {
        let mut property = property_type(argument.ty);
        property.insert("description".into(), argument.description.clone().into());
        if let Some(default) = &argument.default
            && let Some(value) = default_value(argument.ty, default)
        {
            property.insert("default".into(), value);
        }
        property.insert("x-tape-type".into(), argument.ty.name().into());
        property.insert("x-tape-position".into(), position.into());
        properties.insert(argument.name.clone(), Value::Object(property));
    }
    let required: Vec<&str> = arguments
        .iter()
        .filter(|a| a.is_required())
        .map(|a| a.name.as_str())
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": file,
        "description": format!("the arguments of `{}`", usage_line(file, arguments)),
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

fn property_type(ty: ArgType) -> Map<String, Value> {
    let integer =
        |min: Value, max: Value| json!({ "type": "integer", "minimum": min, "maximum": max });
    let value = match ty {
        ArgType::Str => json!({ "type": "string" }),
        ArgType::I32 => integer(i32::MIN.into(), i32::MAX.into()),
        ArgType::U32 => integer(0.into(), u32::MAX.into()),
        ArgType::I64 => integer(i64::MIN.into(), i64::MAX.into()),
        ArgType::U64 => integer(0.into(), u64::MAX.into()),
        ArgType::F32 => json!({ "type": "number", "format": "float" }),
        ArgType::F64 => json!({ "type": "number", "format": "double" }),
        ArgType::Bool => json!({ "type": "boolean" }),
        // Any JSON value: the program gets it as JSON text.
        ArgType::Json => json!({}),
        ArgType::Bytes => json!({
            "type": "string",
            "contentMediaType": "application/octet-stream",
            "x-tape-path": true,
        }),
    };
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A default as the JSON value `--args-json` would take for it.
fn default_value(ty: ArgType, default: &str) -> Option<Value> {
    match ty {
        ArgType::Str | ArgType::Bytes => Some(default.into()),
        ArgType::Json => serde_json::from_str(default).ok(),
        ArgType::Bool => Some((default == "true").into()),
        ArgType::I32 | ArgType::I64 => default.trim().parse::<i64>().ok().map(Value::from),
        ArgType::U32 | ArgType::U64 => default.trim().parse::<u64>().ok().map(Value::from),
        // JSON has no infinity or NaN: such a default is left unsaid.
        ArgType::F32 | ArgType::F64 => default
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argument(name: &str, ty: ArgType, default: Option<&str>) -> Argument {
        Argument {
            name: name.into(),
            ty,
            description: format!("the {name}"),
            default: default.map(str::to_string),
        }
    }

    #[test]
    fn usage_marks_optional_arguments_and_aligns_the_rows() {
        let arguments = [
            argument("name", ArgType::Str, None),
            argument("times", ArgType::I32, Some("1")),
            argument("greeting", ArgType::Str, Some("hello there")),
        ];
        assert_eq!(
            usage("greet.wat", &arguments),
            "usage: tape run greet.wat <name> [times] [greeting]\n\narguments:\n  \
             <name>      str  the name\n  \
             [times]     i32  the times [default: 1]\n  \
             [greeting]  str  the greeting [default: \"hello there\"]\n"
        );
    }

    #[test]
    fn the_schema_has_a_property_per_argument_with_its_range_and_default() {
        let arguments = [
            argument("n", ArgType::U32, Some("3")),
            argument("doc", ArgType::Json, Some("{\"a\":1}")),
            argument("x", ArgType::F64, Some("inf")),
        ];
        let schema = schema("p.wat", &arguments);
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["required"], json!([]));
        let n = &schema["properties"]["n"];
        assert_eq!(
            (&n["type"], &n["minimum"], &n["maximum"], &n["default"]),
            (
                &json!("integer"),
                &json!(0),
                &json!(4294967295u32),
                &json!(3)
            )
        );
        assert_eq!(schema["properties"]["doc"]["default"], json!({"a": 1}));
        assert_eq!(schema["properties"]["doc"].get("type"), None);
        assert_eq!(schema["properties"]["x"].get("default"), None);
        assert_eq!(schema["properties"]["x"]["x-tape-position"], 2);
    }
}
