//! What the built-in capabilities share: reading a guest string and writing
//! the two reply shapes guests see most, a string or bytes as `[len][bytes]`
//! and a sorted list of names as a wire sequence of strings.

use wasmtime::{AsContext, AsContextMut};

use crate::caller::caller_read_bytes;
use crate::{Error, Result, State, memory};

/// Reads the `[len][bytes]` at `ptr` as UTF-8: `Ok(None)` if it is not, so
/// the caller can answer [`INVALID_ARGUMENT`](crate::status::INVALID_ARGUMENT).
///
/// # Errors
///
/// [`Error::BadPointer`] outside memory.
pub(crate) fn read_string(store: impl AsContext<Data = State>, ptr: i32) -> Result<Option<String>> {
    Ok(String::from_utf8(caller_read_bytes(store, ptr as u32)?).ok())
}

/// Writes `bytes` as `[len][bytes]` into fresh guest memory, with one copy,
/// and returns its address.
///
/// # Errors
///
/// [`Error::MemoryExhausted`] past the memory cap.
pub(crate) fn write_bytes(mut store: impl AsContextMut<Data = State>, bytes: &[u8]) -> Result<u32> {
    let size = prefixed_size(bytes.len())?;
    let ptr = memory::alloc(&mut store, size)?;
    let handle = store.as_context().data().memory.handle()?;
    let data = handle.data_mut(&mut store);
    // `alloc` grew the memory to hold `ptr + size`.
    let at = ptr as usize;
    data[at..at + 4].copy_from_slice(&(bytes.len() as u32).to_le_bytes());
    data[at + 4..at + 4 + bytes.len()].copy_from_slice(bytes);
    Ok(ptr)
}

/// Writes `names` as a wire sequence of strings,
/// `[total][len][bytes][len][bytes]…`, and returns its address. Each
/// element is itself a string a guest can pass straight back to the host.
///
/// # Errors
///
/// [`Error::MemoryExhausted`] past the memory cap.
pub(crate) fn write_strings<S: AsRef<str>>(
    mut store: impl AsContextMut<Data = State>,
    names: &[S],
) -> Result<u32> {
    let payload: usize = names.iter().map(|n| 4 + n.as_ref().len()).sum();
    let size = prefixed_size(payload)?;
    let ptr = memory::alloc(&mut store, size)?;
    let handle = store.as_context().data().memory.handle()?;
    let data = handle.data_mut(&mut store);
    let mut at = ptr as usize;
    data[at..at + 4].copy_from_slice(&(payload as u32).to_le_bytes());
    at += 4;
    for name in names {
        let name = name.as_ref().as_bytes();
        data[at..at + 4].copy_from_slice(&(name.len() as u32).to_le_bytes());
        data[at + 4..at + 4 + name.len()].copy_from_slice(name);
        at += 4 + name.len();
    }
    Ok(ptr)
}

/// `4 + len` as a u32, or the error for a reply no 32-bit memory can hold.
fn prefixed_size(len: usize) -> Result<u32> {
    len.checked_add(4)
        .and_then(|size| u32::try_from(size).ok())
        .ok_or(Error::MemoryExhausted {
            requested: len as u64 + 4,
            limit: 1 << 32,
        })
}
