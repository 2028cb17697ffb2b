use std::any::{Any, TypeId};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tape_compiler::Metadata;
use wasmtime::{Memory, ResourceLimiter, StoreLimits, StoreLimitsBuilder};

use crate::reason::Reason;

use crate::error::{CallStack, Error, ErrorKind};

/// Everything one run owns: its allocator, arguments and results, each
/// capability's own state, its limits and counters. It is the data of the
/// run's wasmtime `Store`, so host functions reach it through their
/// `Caller`.
pub struct State {
    pub(crate) memory: WasmMemory,
    /// Guest pointers of the arguments, once written.
    pub(crate) arg_ptrs: Vec<u32>,
    /// Each result as a whole wire value, `[len][payload]`.
    pub(crate) results: Vec<Vec<u8>>,
    pub(crate) result_bytes: usize,
    pub(crate) max_result_bytes: usize,
    limits: StoreLimits,
    max_memory: u64,
    /// Bytes the run's memories, tables and GC heap hold together: what
    /// [`ResourceLimiter`] growth has been allowed, counted against
    /// `max_memory`.
    pub(crate) footprint: u64,
    /// The largest `footprint` was: it shrinks when capabilities let go
    /// of host memory.
    pub(crate) peak_footprint: u64,
    /// The last growth the cap refused: the footprint it asked for, and
    /// the cap.
    pub(crate) refused_growth: Option<(u64, u64)>,
    capabilities: Vec<(TypeId, Box<dyn Any + Send>)>,
    pub(crate) host_calls: u64,
    /// Per-capability counters, in order of first use; few enough that a
    /// linear scan beats hashing.
    pub(crate) usage: Vec<(&'static str, CapabilityUsage)>,
    /// When the run's timeout expires.
    pub(crate) deadline: Option<Instant>,
    /// The host call being timed: when it started, and the index of its
    /// capability in `usage`. Set by `count_call`, closed by the store's
    /// call hook when the host function returns to the guest.
    timing: Option<(Instant, usize)>,
    /// Whether capability calls are timed ([`Run::time_calls`](crate::Run::time_calls)).
    pub(crate) time_calls: bool,
    pub(crate) host_time: Duration,
    /// Why failing capability calls failed, the last
    /// [`Reason::MAX_REASONS`].
    pub(crate) reasons: VecDeque<Reason>,
    /// Reasons recorded in all, the dropped ones included.
    pub(crate) reasons_recorded: u64,
    /// The program's metadata: its line table locates a reason's call.
    pub(crate) metadata: Option<Arc<Metadata>>,
}

/// What one capability did during a run: the usage report's line for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapabilityUsage {
    /// Calls to its functions.
    pub calls: u64,
    /// Bytes the guest handed to it (keys, values, request bodies…).
    pub bytes_in: u64,
    /// Bytes it handed back to the guest.
    pub bytes_out: u64,
    /// Model tokens spent, for capabilities that spend them.
    pub tokens: u64,
    /// Time spent in its host functions, from
    /// [`State::count_call`] to the return to the guest; zero unless the
    /// run was made with [`Run::time_calls`](crate::Run::time_calls).
    pub time: Duration,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("memory", &self.memory)
            .field("args", &self.arg_ptrs.len())
            .field("results", &self.results.len())
            .field("host_calls", &self.host_calls)
            .finish_non_exhaustive()
    }
}

impl State {
    pub(crate) fn new(
        initial_top: u32,
        max_memory: u64,
        max_result_bytes: usize,
        deadline: Option<Instant>,
    ) -> State {
        let max = usize::try_from(max_memory).unwrap_or(usize::MAX);
        State {
            memory: WasmMemory::new(initial_top, max_memory),
            arg_ptrs: Vec::new(),
            results: Vec::new(),
            result_bytes: 0,
            max_result_bytes,
            limits: StoreLimitsBuilder::new()
                .memory_size(max)
                .instances(1)
                .memories(MAX_MEMORIES)
                .tables(MAX_TABLES)
                .trap_on_grow_failure(true)
                .build(),
            max_memory,
            footprint: 0,
            peak_footprint: 0,
            refused_growth: None,
            capabilities: Vec::new(),
            host_calls: 0,
            usage: Vec::new(),
            deadline,
            timing: None,
            time_calls: false,
            host_time: Duration::ZERO,
            reasons: VecDeque::new(),
            reasons_recorded: 0,
            metadata: None,
        }
    }

    /// When this run's timeout expires, if it has one. A host function that
    /// waits (on the network, a lock, a child process) must give up by
    /// then, returning [`TIMED_OUT`](crate::status::TIMED_OUT): the timeout
    /// interrupts only wasm code.
    #[inline]
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// This run's state of type `T`, which a capability put here in
    /// [`Capability::begin_run`](crate::Capability::begin_run).
    #[inline]
    pub fn get<T: Any + Send>(&mut self) -> Option<&mut T> {
        let id = TypeId::of::<T>();
        self.capabilities
            .iter_mut()
            .find(|(t, _)| *t == id)
            .and_then(|(_, value)| value.downcast_mut())
    }

    /// Stores `value` as this run's state of its type, replacing any
    /// earlier one.
    pub fn insert<T: Any + Send>(&mut self, value: T) {
        let id = TypeId::of::<T>();
        match self.capabilities.iter_mut().find(|(t, _)| *t == id) {
            Some((_, slot)) => *slot = Box::new(value),
            None => self.capabilities.push((id, Box::new(value))),
        }
    }

    /// Counts one host call; every host function calls this first.
    #[inline]
    pub fn count_host_call(&mut self) {
        self.host_calls += 1;
    }

    /// Counts one call to a function of `capability`, starts timing it
    /// if the run times calls, and returns its counters, for the bytes and
    /// tokens the call moves. Capability host functions call this first,
    /// instead of [`count_host_call`](Self::count_host_call).
    ///
    /// In a run made with [`Run::time_calls`](crate::Run::time_calls), the
    /// call's time, until it returns to the guest, is added to the
    /// capability's [`CapabilityUsage::time`] and the run's
    /// [`Usage::host_time`](crate::Usage::host_time). Timing is asked for
    /// because it reads the clock twice a call, about 35 ns on a machine
    /// where a `kv.get` takes 100: a third of a fast call's cost. `core`,
    /// whose functions are called in tight loops, is never timed.
    #[inline]
    pub fn count_call(&mut self, capability: &'static str) -> &mut CapabilityUsage {
        self.host_calls += 1;
        let index = self.usage_index(capability);
        if self.time_calls {
            self.timing = Some((Instant::now(), index));
        }
        let usage = &mut self.usage[index].1;
        usage.calls += 1;
        usage
    }

    /// The counters of `capability`, to add bytes or tokens to.
    #[inline]
    pub fn usage_mut(&mut self, capability: &'static str) -> &mut CapabilityUsage {
        let index = self.usage_index(capability);
        &mut self.usage[index].1
    }

    #[inline]
    fn usage_index(&mut self, capability: &'static str) -> usize {
        match self.usage.iter().position(|(name, _)| *name == capability) {
            Some(index) => index,
            None => {
                self.usage.push((capability, CapabilityUsage::default()));
                self.usage.len() - 1
            }
        }
    }

    /// Closes the timed host call, if one is open: the host function is
    /// returning to the guest.
    pub(crate) fn end_timed_call(&mut self) {
        if let Some((start, index)) = self.timing.take() {
            let elapsed = start.elapsed();
            self.usage[index].1.time += elapsed;
            self.host_time += elapsed;
        }
    }

    /// Keeps `reason`, dropping the oldest past
    /// [`Reason::MAX_REASONS`]. Capabilities record theirs with
    /// [`guest::fail`](crate::guest::fail), which finds the call site.
    pub fn record(&mut self, reason: Reason) {
        if self.reasons.len() == Reason::MAX_REASONS {
            self.reasons.pop_front();
        }
        self.reasons.push_back(reason);
        self.reasons_recorded += 1;
    }

    /// The last reason recorded in this run, if any.
    pub fn last_reason(&self) -> Option<&Reason> {
        self.reasons.back()
    }

    /// The bump allocator.
    #[inline]
    pub fn memory(&self) -> &WasmMemory {
        &self.memory
    }
}

/// Memories a run may have: each reserves address space (4 GiB and a
/// guard region), however little it holds.
pub const MAX_MEMORIES: usize = 100;

/// Tables a run may have.
pub const MAX_TABLES: usize = 100;

/// Bytes a table entry counts against the memory cap: a reference is 8
/// bytes, and a table's storage may hold up to twice its entries while it
/// grows one step at a time.
pub const TABLE_ENTRY_BYTES: u64 = 16;

/// The memory cap holds for everything wasm code can grow, together:
/// every linear memory, every table and the GC heap (which wasmtime keeps
/// in a linear memory of its own). Each growth wasmtime asks about is
/// added to one footprint; one that would take it past the cap fails the
/// run with [`ErrorKind::MemoryExhausted`] instead of a generic trap.
///
/// Growth that wasmtime refuses after the cap allowed it (past a declared
/// maximum, or the system out of memory) stays counted: the footprint may
/// run high, never low.
impl ResourceLimiter for State {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|maximum| desired > maximum) {
            // wasmtime refuses it without our help; `memory.grow` gives -1.
            return Ok(false);
        }
        self.grow_footprint(desired.saturating_sub(current) as u64)?;
        self.limits.memory_growing(current, desired, maximum)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|maximum| desired > maximum) {
            return Ok(false);
        }
        let entries = desired.saturating_sub(current) as u64;
        self.grow_footprint(entries.saturating_mul(TABLE_ENTRY_BYTES))?;
        self.limits.table_growing(current, desired, maximum)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.memory_grow_failed(error)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

impl State {
    /// Adds `bytes` to the footprint, or fails the run if that would pass
    /// the cap.
    fn grow_footprint(&mut self, bytes: u64) -> Result<(), Error> {
        let total = self.footprint.saturating_add(bytes);
        if total > self.max_memory {
            self.refused_growth = Some((total, self.max_memory));
            return Err(Error::from(ErrorKind::MemoryExhausted {
                requested: total,
                limit: self.max_memory,
                stack: CallStack::default(),
            }));
        }
        self.footprint = total;
        self.peak_footprint = self.peak_footprint.max(total);
        Ok(())
    }

    /// Bytes left under the memory cap: what the run's memories, tables,
    /// GC heap and host-held data may still grow by together.
    #[inline]
    pub fn memory_room(&self) -> u64 {
        self.max_memory.saturating_sub(self.footprint)
    }

    /// Counts `bytes` of host memory a capability holds for this run (a
    /// parsed document, say) against the memory cap, as the guest's own
    /// memories are: `false`, and nothing counted, if they would pass it.
    /// Give them back with [`release_memory`](Self::release_memory).
    #[inline]
    pub fn reserve_memory(&mut self, bytes: u64) -> bool {
        if bytes > self.memory_room() {
            return false;
        }
        self.footprint += bytes;
        self.peak_footprint = self.peak_footprint.max(self.footprint);
        true
    }

    /// Gives back bytes [`reserve_memory`](Self::reserve_memory) counted.
    #[inline]
    pub fn release_memory(&mut self, bytes: u64) {
        self.footprint = self.footprint.saturating_sub(bytes);
    }
}

/// The bump allocator over the guest's `mem.tape`.
///
/// `alloc(size)` hands out `[top, top + size)` and moves `top` past it,
/// rounded up to 8 so every allocation is 8-aligned. It grows the memory by
/// whole pages when needed and fails with [`ErrorKind::MemoryExhausted`] past the
/// cap. Nothing is ever freed: an instance lives for one run.
#[derive(Debug, Clone)]
pub struct WasmMemory {
    pub(crate) handle: Option<Memory>,
    pub(crate) top: u64,
    pub(crate) max: u64,
    /// A size the memory is known to have at least (it never shrinks):
    /// an allocation that ends within it needs no look at the memory.
    pub(crate) known_size: u64,
}

impl WasmMemory {
    pub(crate) fn new(initial_top: u32, max: u64) -> Self {
        WasmMemory {
            handle: None,
            top: u64::from(initial_top).next_multiple_of(8),
            max,
            known_size: 0,
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
    #[inline]
    pub(crate) fn handle(&self) -> crate::error::Result<Memory> {
        self.handle
            .ok_or_else(|| Error::internal("the instance's `mem.tape` is not set up yet"))
    }
}
