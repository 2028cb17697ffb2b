use wasmtime::{AsContextMut, Memory};

use crate::{Error, ErrorKind, Result, State};

/// The bump allocator over the guest's `mem.tape`.
///
/// `alloc(size)` hands out `[top, top + size)` and moves `top` past it,
/// rounded up to 8 so every allocation is 8-aligned. It grows the memory by
/// whole pages when needed and fails with [`ErrorKind::MemoryExhausted`] past the
/// cap. Nothing is ever freed: an instance lives for one run.
#[derive(Debug, Clone)]
pub struct WasmMemory {
    pub(crate) handle: Option<Memory>,
    top: u64,
    max: u64,
}

impl WasmMemory {
    pub(crate) fn new(initial_top: u32, max: u64) -> Self {
        WasmMemory {
            handle: None,
            top: u64::from(initial_top).next_multiple_of(8),
            max,
        }
    }

    /// The next address `alloc` hands out.
    pub fn top(&self) -> u64 {
        self.top
    }

    /// The most the guest memory may hold, in bytes.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The memory handle; kept in the state because looking the export up
    /// on every host call costs several times the call itself.
    pub(crate) fn handle(&self) -> Result<Memory> {
        self.handle
            .ok_or_else(|| Error::internal("the instance's `mem.tape` is not set up yet"))
    }
}

/// Allocates `size` bytes and returns their guest address.
pub(crate) fn alloc(mut store: impl AsContextMut<Data = State>, size: u32) -> Result<u32> {
    let mut ctx = store.as_context_mut();
    let memory = ctx.data().memory.handle()?;
    let start = ctx.data().memory.top;
    let end = start + u64::from(size);
    let limit = ctx.data().memory.max.min(1 << 32);
    if end > limit {
        return Err(Error::from(ErrorKind::MemoryExhausted {
            requested: end,
            limit,
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
                }),
            })?;
    }
    ctx.data_mut().memory.top = end.next_multiple_of(8);
    // `end <= 2^32` was checked, so the start fits in a u32.
    Ok(start as u32)
}
