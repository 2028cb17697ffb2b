//! Integration tests for `tape-protocol`, in one binary so they build and
//! link once. One module per topic.

mod alloc;
mod codec;
mod errors;
mod golden;
mod packed;
mod props;
mod sequences;
mod text;
mod types;

use std::fmt::Debug;

use serde::Serialize;
use serde::de::{Deserialize, DeserializeOwned};
use tape_protocol::{Error, from_bytes, take_from_bytes, to_extend, to_vec};

/// Bytes as spaced hex, so a failed comparison shows where encodings differ.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks that `value` encodes to exactly `expected` and that `expected`
/// decodes back to `value`, along with what follows from that: `to_extend`
/// appends the same bytes, `take_from_bytes` hands back what follows the
/// value, a trailing byte is rejected, and no strict prefix decodes.
#[track_caller]
pub fn assert_bytes<T>(value: &T, expected: &[u8])
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    assert_borrowed_bytes(value, expected);

    let mut extended = vec![0xee, 0xdd];
    to_extend(value, &mut extended).expect("to_extend");
    assert_eq!(hex(&extended[2..]), hex(expected), "to_extend of {value:?}");
    assert_eq!(
        extended[..2],
        [0xee, 0xdd],
        "to_extend kept the existing bytes"
    );

    let mut followed = expected.to_vec();
    followed.extend_from_slice(&[0xab, 0xcd]);
    let (decoded, rest) = take_from_bytes::<T>(&followed).expect("take_from_bytes");
    assert_eq!(&decoded, value);
    assert_eq!(rest, [0xab, 0xcd], "take_from_bytes returns what follows");
    assert_eq!(
        from_bytes::<T>(&followed),
        Err(Error::TrailingBytes {
            offset: expected.len(),
            count: 2
        }),
        "from_bytes rejects trailing bytes after {value:?}"
    );
}

/// [`assert_bytes`] for types that may borrow from the input: decodes from
/// `expected` itself, so the checks that need a modified copy are left out.
#[track_caller]
pub fn assert_borrowed_bytes<'a, T>(value: &T, expected: &'a [u8])
where
    T: Serialize + Deserialize<'a> + PartialEq + Debug,
{
    let bytes = to_vec(value).expect("to_vec");
    assert_eq!(hex(&bytes), hex(expected), "encoding of {value:?}");
    let decoded: T = from_bytes(expected).expect("from_bytes");
    assert_eq!(&decoded, value, "round trip of {}", hex(expected));
    for cut in 0..expected.len() {
        let prefix = &expected[..cut];
        assert!(
            from_bytes::<T>(prefix).is_err() && take_from_bytes::<T>(prefix).is_err(),
            "a {cut}-byte prefix of {} must not decode",
            hex(expected)
        );
    }
}
