//! The memory of a run that stopped: what `tape run --dump` writes and
//! `tape inspect` reads.

use serde::{Deserialize, Serialize};

use super::{ByteBuf, ProgramId};
use crate::error::Result;

/// The first eight bytes of a dump file.
pub const DUMP_MAGIC: [u8; 8] = *b"TAPEDMP\n";

/// The memory of a run that a trap or a limit stopped, with its map: the
/// static data and its literals, where the allocator was, the results
/// handed over. [`Run::dump_on_stop`](crate::Run::dump_on_stop) asks for
/// one; [`Error::dump`](crate::Error::dump) has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Dump {
    /// The program.
    pub program: ProgramId,
    /// What stopped the run, without its call stack.
    pub error: String,
    /// Where the program was, innermost frame first:
    /// `$name at file:line:col`.
    pub stack: Vec<String>,
    /// Where static data ends and the allocator started.
    pub initial_top: u32,
    /// Where the allocator was when the run stopped.
    pub top: u64,
    /// The memory's size in bytes.
    pub memory_size: u64,
    /// The memory, up to its last byte that is not zero (the rest is
    /// zeros).
    pub memory: ByteBuf,
    /// The string literals in static data.
    pub literals: Vec<DumpLiteral>,
    /// The results handed over before the stop, each a whole wire value.
    pub results: Vec<ByteBuf>,
}

/// A string literal in a [`Dump`]'s static data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpLiteral {
    /// The address of its `[u32 len][bytes]`.
    pub offset: u32,
    /// The source line of its first use.
    pub line: u32,
    /// Its bytes.
    pub bytes: ByteBuf,
}

/// The version [`Dump::to_bytes`] writes.
pub const DUMP_VERSION: u32 = 1;

impl Dump {
    /// The byte at `address` (zero past the kept bytes, inside the memory).
    pub fn byte(&self, address: u64) -> Option<u8> {
        if address >= self.memory_size {
            return None;
        }
        Some(
            usize::try_from(address)
                .ok()
                .and_then(|a| self.memory.get(a).copied())
                .unwrap_or(0),
        )
    }

    /// [`DUMP_MAGIC`], [`DUMP_VERSION`] as a little-endian u32, then the
    /// dump in the wire format.
    pub fn to_bytes(&self) -> Vec<u8> {
        super::framed(&DUMP_MAGIC, DUMP_VERSION, self)
    }

    /// Reads a dump written by [`Dump::to_bytes`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Trace`](crate::ErrorKind::Trace) if the bytes are not
    /// a whole dump of this version.
    pub fn from_bytes(bytes: &[u8]) -> Result<Dump> {
        super::unframed(bytes, &DUMP_MAGIC, DUMP_VERSION, "memory dump", "")
    }
}
