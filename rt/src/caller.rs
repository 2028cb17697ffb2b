//! Safe access to guest memory for host functions.
//!
//! Every pointer and length a guest passes is checked — `ptr + 4` and
//! `ptr + 4 + len` for overflow and against the memory's current size —
//! before anything is read or allocated, and data is copied out during the
//! call, never read after the guest resumes.

use std::ops::Range;

use wasmtime::{AsContext, AsContextMut};

use crate::{Error, Result, State, memory};

/// Allocates `size` bytes of guest memory with the bump allocator and
/// returns the guest address.
///
/// # Errors
///
/// [`Error::MemoryExhausted`] past the memory cap.
pub fn caller_alloc(store: impl AsContextMut<Data = State>, size: u32) -> Result<u32> {
    memory::alloc(store, size)
}

/// Allocates room for `bytes`, which are already in wire format (usually
/// `[len][payload]`), writes them and returns their guest address.
///
/// # Errors
///
/// [`Error::MemoryExhausted`] past the memory cap, [`Error::BadPointer`] if
/// `bytes` is 4 GiB or more.
pub fn caller_write_raw(mut store: impl AsContextMut<Data = State>, bytes: &[u8]) -> Result<u32> {
    let len = u32::try_from(bytes.len()).map_err(|_| Error::BadPointer {
        what: "a value to write",
        ptr: 0,
        len: bytes.len() as u64,
        memory: 1 << 32,
    })?;
    let ptr = memory::alloc(&mut store, len)?;
    let memory = store.as_context().data().memory.handle()?;
    let data = memory.data_mut(&mut store);
    // `alloc` grew the memory to hold `ptr + len`.
    data[ptr as usize..ptr as usize + bytes.len()].copy_from_slice(bytes);
    Ok(ptr)
}

/// Reads the length-prefixed value `[u32 len][bytes]` at guest address
/// `ptr` and returns a copy of its `bytes`.
///
/// # Errors
///
/// [`Error::BadPointer`] if the prefix or the bytes lie outside memory.
pub fn caller_read_bytes(store: impl AsContext<Data = State>, ptr: u32) -> Result<Vec<u8>> {
    let store = store.as_context();
    let data = store.data().memory.handle()?.data(&store);
    let range = value_range(data, ptr)?;
    Ok(data[range.start + 4..range.end].to_vec())
}

/// Reads the length-prefixed value at guest address `ptr` as
/// [`caller_read_bytes`] does, but only if its `bytes` are at most `max`
/// long: `Ok(None)` otherwise, with nothing copied. Host functions use it
/// for every input that has a size cap, so that a guest cannot make the
/// host copy its whole memory to be refused.
///
/// # Errors
///
/// [`Error::BadPointer`] if the prefix or the bytes lie outside memory.
pub fn caller_read_bytes_max(
    store: impl AsContext<Data = State>,
    ptr: u32,
    max: usize,
) -> Result<Option<Vec<u8>>> {
    let store = store.as_context();
    let data = store.data().memory.handle()?.data(&store);
    let range = value_range(data, ptr)?;
    Ok((range.len() - 4 <= max).then(|| data[range.start + 4..range.end].to_vec()))
}

/// The length of the value `[len][bytes]` at `ptr`, once both its prefix
/// and its bytes are checked to lie inside memory.
pub(crate) fn value_len(store: impl AsContext<Data = State>, ptr: u32) -> Result<usize> {
    let store = store.as_context();
    let data = store.data().memory.handle()?.data(&store);
    Ok(value_range(data, ptr)?.len() - 4)
}

/// The byte range of the value `[len][bytes]` at `ptr`, checked against
/// `memory`.
pub(crate) fn value_range(memory: &[u8], ptr: u32) -> Result<Range<usize>> {
    let size = memory.len() as u64;
    let bad = |what, len| Error::BadPointer {
        what,
        ptr: u64::from(ptr),
        len,
        memory: size,
    };
    // u64 arithmetic: a u32 pointer plus a u32 length cannot overflow it.
    let prefix_end = u64::from(ptr) + 4;
    if prefix_end > size {
        return Err(bad("a length prefix", 4));
    }
    let start = ptr as usize;
    let len = u32::from_le_bytes([
        memory[start],
        memory[start + 1],
        memory[start + 2],
        memory[start + 3],
    ]);
    let end = prefix_end + u64::from(len);
    if end > size {
        return Err(bad("a value", u64::from(len)));
    }
    Ok(start..end as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_range_checks_prefix_and_length() {
        let mut memory = vec![0u8; 16];
        memory[4..8].copy_from_slice(&3u32.to_le_bytes());
        assert_eq!(value_range(&memory, 4).unwrap(), 4..11);
        assert_eq!(value_range(&memory, 12).unwrap(), 12..16);
        assert!(matches!(
            value_range(&memory, 13),
            Err(Error::BadPointer { len: 4, .. })
        ));
        assert!(value_range(&memory, u32::MAX).is_err());
        memory[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            value_range(&memory, 8),
            Err(Error::BadPointer {
                len: 0xFFFF_FFFF,
                ..
            })
        ));
        memory[8..12].copy_from_slice(&5u32.to_le_bytes());
        assert!(value_range(&memory, 8).is_err(), "ends one past memory");
    }
}
