//! Strings are checked for ASCII before, and instead of, full UTF-8
//! validation, with short strings read as overlapping words. Whatever the
//! length and wherever a byte over 0x7f sits, the decoder must accept and
//! reject exactly what `std::str::from_utf8` does, at the same offset.

use tape_protocol::{Error, from_bytes, to_vec};

/// Decodes `text` as a wire string, borrowed and owned, and compares the
/// outcome with `std::str::from_utf8`.
#[track_caller]
fn assert_like_std(text: &[u8]) {
    let mut input = u32::try_from(text.len()).unwrap().to_le_bytes().to_vec();
    input.extend_from_slice(text);
    let borrowed = from_bytes::<&str>(&input);
    let owned = from_bytes::<String>(&input);
    match std::str::from_utf8(text) {
        Ok(s) => {
            assert_eq!(borrowed, Ok(s), "{text:x?}");
            assert_eq!(owned.as_deref(), Ok(s), "{text:x?}");
        }
        Err(e) => {
            let expected = Error::InvalidUtf8 {
                offset: 4 + e.valid_up_to(),
            };
            assert_eq!(borrowed, Err(expected.clone()), "{text:x?}");
            assert_eq!(owned, Err(expected), "{text:x?}");
        }
    }
}

#[test]
fn every_length_and_position_of_a_high_byte() {
    for len in 0..40 {
        let ascii: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        assert_like_std(&ascii);
        for at in 0..len {
            for high in [0x80, 0xc3, 0xff] {
                let mut text = ascii.clone();
                text[at] = high;
                assert_like_std(&text);
            }
            // A valid two-byte character ending at `at`, or at the end.
            if at > 0 {
                let mut text = ascii.clone();
                text[at - 1] = 0xc3;
                text[at] = 0xa9;
                assert_like_std(&text);
            }
        }
    }
}

#[test]
fn non_ascii_text_round_trips() {
    for text in [
        "é",
        "ünïcödé text",
        "日本語",
        "🦀 crab",
        "a\u{7f}b",
        "mixed ascii then ü",
    ] {
        let bytes = to_vec(text).unwrap();
        assert_eq!(from_bytes::<&str>(&bytes).unwrap(), text);
        assert_eq!(from_bytes::<String>(&bytes).unwrap(), text);
    }
}
