//! Guest memory, for host functions: the bump allocator and checked
//! reading and writing.
//!
//! Every pointer and length a guest passes is checked — `ptr + 4` and
//! `ptr + 4 + len` for overflow and against the memory's current size —
//! before anything is read or allocated, and data is copied out during the
//! call, never read after the guest resumes.
//!
//! Values cross the boundary in the [wire format](tape_protocol): a string
//! or byte string is `[u32 len][bytes]`. The helpers come in pairs:
//!
//! | read | write | the value |
//! |---|---|---|
//! | [`read_bytes`], [`read_bytes_max`], [`with_bytes`] (borrowed, no copy) | [`write_bytes`] | its payload: the helper strips or adds the length prefix |
//! | [`read_str`] | [`write_str`] | the same, as UTF-8 text |
//! | [`read_value`] | [`write_value`] | the whole wire value, prefix included, as [`Outcome::results`](crate::Outcome::results) holds it |
//! | [`read`] | [`write`](fn@write) | any `serde` type, through [`tape_protocol`] |
//! | | [`write_strings`] | a sequence of strings, the reply of `kv.list` and the like |
//!
//! Built-in and third-party capabilities use the same helpers; see
//! `examples/custom_capability.rs`.
//!
//! ```
//! use tape_rt::wasmtime::{Caller, Linker};
//! use tape_rt::{State, guest, status};
//!
//! // `greet.hello(name) -> (reply, status)`: "hello, NAME".
//! fn register(linker: &mut Linker<State>) -> tape_rt::wasmtime::Result<()> {
//!     linker.func_wrap("greet", "hello", |mut caller: Caller<'_, State>, name: i32| {
//!         caller.data_mut().count_call("greet");
//!         let Some(name) = guest::read_str(&caller, name as u32)? else {
//!             return Ok((0, status::INVALID_ARGUMENT));
//!         };
//!         let reply = guest::write_str(&mut caller, &format!("hello, {name}"))?;
//!         Ok((reply as i32, status::OK))
//!     })?;
//!     Ok(())
//! }
//! # let engine = tape_rt::wasmtime::Engine::default();
//! # register(&mut Linker::new(&engine)).unwrap();
//! ```

mod allocator;

use std::ops::Range;

use serde::{Deserialize, Serialize};
use wasmtime::{AsContext, AsContextMut, StoreContextMut};

use crate::error::{CallStack, Error, ErrorKind, Result};
use crate::reason::Reason;
use crate::state::State;
pub use crate::state::WasmMemory;

/// Allocates `size` bytes of guest memory with the run's bump allocator
/// (8-aligned, never freed before the run ends) and returns the guest
/// address.
///
/// # Errors
///
/// [`ErrorKind::MemoryExhausted`] past the memory cap.
pub fn alloc(store: impl AsContextMut<Data = State>, size: u32) -> Result<u32> {
    allocator::alloc(store, size)
}

/// Writes `value`, which is already a whole wire value (`[len][payload]`
/// for a string), into fresh guest memory as it is, and returns its
/// address: the counterpart of [`read_value`].
///
/// # Errors
///
/// [`ErrorKind::MemoryExhausted`] past the memory cap, [`ErrorKind::BadPointer`] if
/// `value` is 4 GiB or more.
pub fn write_value(mut store: impl AsContextMut<Data = State>, value: &[u8]) -> Result<u32> {
    let len = u32::try_from(value.len()).map_err(|_| {
        Error::from(ErrorKind::BadPointer {
            what: "a value to write",
            ptr: 0,
            len: value.len() as u64,
            memory: 1 << 32,
        })
    })?;
    let ptr = allocator::alloc(&mut store, len)?;
    let memory = store.as_context().data().memory.handle()?;
    let data = memory.data_mut(&mut store);
    // `alloc` grew the memory to hold `ptr + len`.
    data[ptr as usize..ptr as usize + value.len()].copy_from_slice(value);
    Ok(ptr)
}

/// Writes `value` in the wire format into fresh guest memory and returns
/// its address: the counterpart of [`read`].
///
/// # Errors
///
/// [`ErrorKind::Wire`] if it cannot be encoded, [`ErrorKind::MemoryExhausted`]
/// past the memory cap.
pub fn write<T: Serialize + ?Sized>(
    store: impl AsContextMut<Data = State>,
    value: &T,
) -> Result<u32> {
    write_value(store, &tape_protocol::to_vec(value)?)
}

/// Reads the whole wire value `[u32 len][bytes]` at `ptr`, prefix
/// included: the counterpart of [`write_value`].
///
/// # Errors
///
/// [`ErrorKind::BadPointer`] if the prefix or the bytes lie outside memory.
pub fn read_value(store: impl AsContext<Data = State>, ptr: u32) -> Result<Vec<u8>> {
    let store = store.as_context();
    let data = store.data().memory.handle()?.data(&store);
    let range = value_range(data, ptr)?;
    Ok(data[range].to_vec())
}

/// Decodes the wire value at `ptr` as a `T`: the counterpart of [`write`](fn@write).
/// Only the value's own bytes are read.
///
/// # Errors
///
/// [`ErrorKind::BadPointer`] outside memory, [`ErrorKind::Wire`] if the bytes are
/// not a `T`.
pub fn read<T: for<'de> Deserialize<'de>>(
    store: impl AsContext<Data = State>,
    ptr: u32,
) -> Result<T> {
    Ok(tape_protocol::from_bytes(&read_value(store, ptr)?)?)
}

/// The `len` guest bytes at `ptr`, to write into in place (as
/// `rand.fill` does), with the run's state beside them.
///
/// # Errors
///
/// [`ErrorKind::BadPointer`] if the range lies outside memory; `what` says
/// what it was for, e.g. "the bytes to fill".
pub fn bytes_mut<'a>(
    store: impl Into<StoreContextMut<'a, State>>,
    ptr: u32,
    len: u32,
    what: &'static str,
) -> Result<(&'a mut [u8], &'a mut State)> {
    let store = store.into();
    let memory = store.data().memory.handle()?;
    let (data, state) = memory.data_and_store_mut(store);
    let size = data.len() as u64;
    let (start, end) = (u64::from(ptr), u64::from(ptr) + u64::from(len));
    if end > size {
        return Err(ErrorKind::BadPointer {
            what,
            ptr: start,
            len: u64::from(len),
            memory: size,
        }
        .into());
    }
    Ok((&mut data[start as usize..end as usize], state))
}

/// Records why the capability call `call` (`"kv.get"`) fails with
/// `status`, with where the program made it, and returns `status`: every
/// capability calls this as it returns a failing status, so the run's
/// [`Outcome::reasons`](crate::Outcome::reasons), `tape run` and the
/// guest (`core.reason`) can say why. The call stack is captured here, on
/// failure only.
///
/// ```
/// # use tape_rt::wasmtime::{Caller, Linker};
/// # use tape_rt::{State, guest, status};
/// # fn register(linker: &mut Linker<State>) -> tape_rt::wasmtime::Result<()> {
/// linker.func_wrap("notes", "get", |mut caller: Caller<'_, State>, key: i32| {
///     let Some(key) = guest::read_str(&caller, key as u32)? else {
///         return Ok((0, guest::fail(&mut caller, "notes.get", status::INVALID_ARGUMENT, "the key is not UTF-8")));
///     };
///     Ok((0, guest::fail(&mut caller, "notes.get", status::NOT_FOUND, format!("no note `{key}`"))))
/// })?;
/// # Ok(()) }
/// ```
pub fn fail(
    mut store: impl AsContextMut<Data = State>,
    call: &'static str,
    status: i32,
    message: impl Into<String>,
) -> i32 {
    let mut store = store.as_context_mut();
    let backtrace = wasmtime::WasmBacktrace::capture(&store);
    let stack = crate::trap::to_stack(&backtrace, store.data().metadata.as_deref());
    store
        .data_mut()
        .record(Reason::new(call, status, message, stack));
    status
}

/// Reads the length-prefixed value `[u32 len][bytes]` at guest address
/// `ptr` and returns a copy of its `bytes`.
///
/// # Errors
///
/// [`ErrorKind::BadPointer`] if the prefix or the bytes lie outside memory.
pub fn read_bytes(store: impl AsContext<Data = State>, ptr: u32) -> Result<Vec<u8>> {
    let store = store.as_context();
    let data = store.data().memory.handle()?.data(&store);
    let range = value_range(data, ptr)?;
    Ok(data[range.start + 4..range.end].to_vec())
}

/// Reads the length-prefixed value at guest address `ptr` as
/// [`read_bytes`] does, but only if its `bytes` are at most `max`
/// long: `Ok(None)` otherwise, with nothing copied. Host functions use it
/// for every input that has a size cap, so that a guest cannot make the
/// host copy its whole memory to be refused.
///
/// # Errors
///
/// [`ErrorKind::BadPointer`] if the prefix or the bytes lie outside memory.
pub fn read_bytes_max(
    store: impl AsContext<Data = State>,
    ptr: u32,
    max: usize,
) -> Result<Option<Vec<u8>>> {
    let store = store.as_context();
    let data = store.data().memory.handle()?.data(&store);
    let range = value_range(data, ptr)?;
    Ok((range.len() - 4 <= max).then(|| data[range.start + 4..range.end].to_vec()))
}

/// Hands `f` the payload of the value at guest address `ptr`, borrowed
/// from guest memory, together with the run's [`State`], if it is at most
/// `max` bytes long; `Ok(Err(len))` with its length otherwise, with `f`
/// not called. For an input only looked at during the call (a key to
/// look up, a name to match), this spares the copy [`read_bytes_max`]
/// makes; `f` cannot keep the bytes past the call.
///
/// # Errors
///
/// [`ErrorKind::BadPointer`] if the prefix or the bytes lie outside memory.
#[inline]
pub fn with_bytes<R>(
    mut store: impl AsContextMut<Data = State>,
    ptr: u32,
    max: usize,
    f: impl FnOnce(&[u8], &mut State) -> R,
) -> Result<std::result::Result<R, usize>> {
    let mut ctx = store.as_context_mut();
    let memory = ctx.data().memory.handle()?;
    let (data, state) = memory.data_and_store_mut(&mut ctx);
    let range = value_range(data, ptr)?;
    let bytes = &data[range.start + 4..range.end];
    if bytes.len() > max {
        return Ok(Err(bytes.len()));
    }
    Ok(Ok(f(bytes, state)))
}

/// The length of the payload of the value `[len][bytes]` at `ptr`, once
/// both its prefix and its bytes are checked to lie inside memory: to
/// refuse a value by its size before copying it.
///
/// # Errors
///
/// [`ErrorKind::BadPointer`] if the prefix or the bytes lie outside memory.
pub fn value_len(store: impl AsContext<Data = State>, ptr: u32) -> Result<usize> {
    let store = store.as_context();
    let data = store.data().memory.handle()?.data(&store);
    Ok(value_range(data, ptr)?.len() - 4)
}

/// The byte range of the value `[len][bytes]` at `ptr`, prefix
/// included, checked against `memory` (the guest memory's bytes).
///
/// # Errors
///
/// [`ErrorKind::BadPointer`] if the prefix or the bytes lie outside it.
#[inline]
pub fn value_range(memory: &[u8], ptr: u32) -> Result<Range<usize>> {
    let size = memory.len() as u64;
    let bad = |what, len| {
        Error::from(ErrorKind::BadPointer {
            what,
            ptr: u64::from(ptr),
            len,
            memory: size,
        })
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

/// Reads the `[len][bytes]` at `ptr` as UTF-8: `Ok(None)` if it is not, so
/// the caller can answer [`INVALID_ARGUMENT`](crate::status::INVALID_ARGUMENT).
///
/// # Errors
///
/// [`ErrorKind::BadPointer`] outside memory.
pub fn read_str(store: impl AsContext<Data = State>, ptr: u32) -> Result<Option<String>> {
    Ok(String::from_utf8(read_bytes(store, ptr)?).ok())
}

/// Writes `bytes` as `[len][bytes]` into fresh guest memory, with one copy,
/// and returns its address: the counterpart of [`read_bytes`].
///
/// # Errors
///
/// [`ErrorKind::MemoryExhausted`] past the memory cap.
pub fn write_bytes(mut store: impl AsContextMut<Data = State>, bytes: &[u8]) -> Result<u32> {
    let size = prefixed_size(bytes.len())?;
    let ptr = allocator::alloc(&mut store, size)?;
    let handle = store.as_context().data().memory.handle()?;
    let data = handle.data_mut(&mut store);
    // `alloc` grew the memory to hold `ptr + size`.
    let at = ptr as usize;
    data[at..at + 4].copy_from_slice(&(bytes.len() as u32).to_le_bytes());
    data[at + 4..at + 4 + bytes.len()].copy_from_slice(bytes);
    Ok(ptr)
}

/// Writes `text` as `[len][utf-8]`: the counterpart of [`read_str`].
///
/// # Errors
///
/// [`ErrorKind::MemoryExhausted`] past the memory cap.
pub fn write_str(store: impl AsContextMut<Data = State>, text: &str) -> Result<u32> {
    write_bytes(store, text.as_bytes())
}

/// Writes `names` as a wire sequence of strings,
/// `[total][len][bytes][len][bytes]…`, and returns its address. Each
/// element is itself a string a guest can pass straight back to the host.
///
/// # Errors
///
/// [`ErrorKind::MemoryExhausted`] past the memory cap.
pub fn write_strings<S: AsRef<str>>(
    mut store: impl AsContextMut<Data = State>,
    names: &[S],
) -> Result<u32> {
    let payload: usize = names.iter().map(|n| 4 + n.as_ref().len()).sum();
    let size = prefixed_size(payload)?;
    let ptr = allocator::alloc(&mut store, size)?;
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
        .ok_or_else(|| {
            Error::from(ErrorKind::MemoryExhausted {
                requested: len as u64 + 4,
                limit: 1 << 32,
                stack: CallStack::default(),
            })
        })
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
            value_range(&memory, 13).unwrap_err().kind(),
            ErrorKind::BadPointer { len: 4, .. }
        ));
        assert!(value_range(&memory, u32::MAX).is_err());
        memory[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            value_range(&memory, 8).unwrap_err().kind(),
            ErrorKind::BadPointer {
                len: 0xFFFF_FFFF,
                ..
            }
        ));
        memory[8..12].copy_from_slice(&5u32.to_le_bytes());
        assert!(value_range(&memory, 8).is_err(), "ends one past memory");
    }
}
