//! The static data image: where string literals live.

use std::collections::HashMap;

use crate::metadata::Literal;

/// Static data (every string literal) is at most this large.
pub const MAX_STATIC_DATA: usize = 64 << 20;

/// Offsets below this are never handed out, so pointer 0 is never data.
pub(crate) const STATIC_BASE: usize = 8;

/// Eight zero bytes, then each distinct literal as `[u32 len][bytes]`,
/// 4-byte aligned.
#[derive(Debug)]
pub(crate) struct StaticData {
    pub image: Vec<u8>,
    pub literals: Vec<Literal>,
    index: HashMap<Vec<u8>, u32>,
}

impl StaticData {
    pub(crate) fn new() -> Self {
        StaticData {
            image: vec![0; STATIC_BASE],
            literals: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// The offset of `value`'s `[len][bytes]`, added if it is new; `None` if
    /// it would not fit within [`MAX_STATIC_DATA`].
    pub(crate) fn intern(&mut self, value: Vec<u8>, line: u32) -> Option<u32> {
        if let Some(&offset) = self.index.get(&value) {
            return Some(offset);
        }
        let start = self.image.len().next_multiple_of(4);
        let end = start + 4 + value.len();
        if end > MAX_STATIC_DATA {
            return None;
        }
        let offset = u32::try_from(start).ok()?;
        let len = u32::try_from(value.len()).ok()?;
        self.image.resize(start, 0);
        self.image.extend_from_slice(&len.to_le_bytes());
        self.image.extend_from_slice(&value);
        self.literals.push(Literal {
            offset,
            value: value.clone(),
            line,
        });
        self.index.insert(value, offset);
        Some(offset)
    }
}
