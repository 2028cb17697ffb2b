//! The bump allocator: `alloc` hands out guest memory from the run's
//! [`WasmMemory`](crate::guest::WasmMemory), growing it by pages.

use wasmtime::AsContextMut;

use crate::error::{CallStack, Error, ErrorKind, Result};
use crate::state::State;

/// Allocates `size` bytes and returns their guest address.
#[inline]
pub(crate) fn alloc(mut store: impl AsContextMut<Data = State>, size: u32) -> Result<u32> {
    let mut ctx = store.as_context_mut();
    // Within memory the allocator has seen: no look at the memory. Only
    // `grow` below raises `known_size`, and a memory never shrinks.
    let memory = &mut ctx.data_mut().memory;
    let start = memory.top;
    let end = start + u64::from(size);
    if end <= memory.known_size {
        memory.top = end.next_multiple_of(8);
        // `known_size <= 2^32`, so the start fits in a u32.
        return Ok(start as u32);
    }
    grow_and_alloc(ctx, size)
}

/// [`alloc`] past the size last seen: the memory is looked at, and grown
/// if it must be.
#[cold]
fn grow_and_alloc(mut ctx: wasmtime::StoreContextMut<'_, State>, size: u32) -> Result<u32> {
    let memory = ctx.data().memory.handle()?;
    let start = ctx.data().memory.top;
    let end = start + u64::from(size);
    let limit = ctx.data().memory.max.min(1 << 32);
    if end > limit {
        return Err(Error::from(ErrorKind::MemoryExhausted {
            requested: end,
            limit,
            stack: CallStack::default(),
        }));
    }
    let current = memory.data_size(&ctx) as u64;
    if end > current {
        // In the memory's own pages: 64 KiB, or as few as 1 byte with the
        // custom page sizes proposal.
        let pages = (end - current).div_ceil(memory.page_size(&ctx));
        memory
            .grow(&mut ctx, pages)
            .map_err(|error| match error.downcast::<Error>() {
                Ok(error) => error,
                // The module's own declared maximum stopped the growth.
                Err(_) => Error::from(ErrorKind::MemoryExhausted {
                    requested: end,
                    limit: current,
                    stack: CallStack::default(),
                }),
            })?;
    }
    let known = memory.data_size(&ctx) as u64;
    let state = &mut ctx.data_mut().memory;
    state.known_size = known.min(limit);
    state.top = end.next_multiple_of(8);
    // `end <= 2^32` was checked, so the start fits in a u32.
    Ok(start as u32)
}
