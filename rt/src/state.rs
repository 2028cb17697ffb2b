use std::any::{Any, TypeId};
use std::time::Instant;

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

use crate::Error;
use crate::memory::WasmMemory;

/// Everything one run owns: its allocator, arguments and results, each
/// capability's own state, its limits and counters. It is the data of the
/// run's wasmtime `Store`, so host functions reach it through their
/// `Caller`.
pub struct State {
    pub(crate) memory: WasmMemory,
    /// Each argument as a wire value, until it is written into the guest.
    pub(crate) args: Vec<Vec<u8>>,
    /// Guest pointers of the arguments, once written.
    pub(crate) arg_ptrs: Vec<u32>,
    /// Each result as a whole wire value, `[len][payload]`.
    pub(crate) results: Vec<Vec<u8>>,
    pub(crate) result_bytes: usize,
    pub(crate) max_result_bytes: usize,
    limits: StoreLimits,
    max_memory: u64,
    capabilities: Vec<(TypeId, Box<dyn Any + Send>)>,
    pub(crate) host_calls: u64,
    /// Per-capability counters, in order of first use; few enough that a
    /// linear scan beats hashing.
    pub(crate) usage: Vec<(&'static str, CapabilityUsage)>,
    /// When the run's timeout expires, if it has one.
    pub(crate) deadline: Option<Instant>,
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
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("memory", &self.memory)
            .field("args", &self.args.len())
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
        args: Vec<Vec<u8>>,
    ) -> State {
        let max = usize::try_from(max_memory).unwrap_or(usize::MAX);
        State {
            memory: WasmMemory::new(initial_top, max_memory),
            args,
            arg_ptrs: Vec::new(),
            results: Vec::new(),
            result_bytes: 0,
            max_result_bytes,
            limits: StoreLimitsBuilder::new()
                .memory_size(max)
                .instances(1)
                .trap_on_grow_failure(true)
                .build(),
            max_memory,
            capabilities: Vec::new(),
            host_calls: 0,
            usage: Vec::new(),
            deadline: None,
        }
    }

    /// This run's state of type `T`, which a capability put here in
    /// [`Capability::begin_run`](crate::Capability::begin_run).
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
    pub fn count_host_call(&mut self) {
        self.host_calls += 1;
    }

    /// Counts one call to a function of `capability` and returns its
    /// counters, for the bytes and tokens the call moves. Capability host
    /// functions call this instead of [`count_host_call`](Self::count_host_call)
    /// (`core`, whose functions are called in tight loops, counts only the
    /// total).
    pub fn count_call(&mut self, capability: &'static str) -> &mut CapabilityUsage {
        self.host_calls += 1;
        let usage = self.usage_mut(capability);
        usage.calls += 1;
        usage
    }

    /// The counters of `capability`, to add bytes or tokens to.
    pub fn usage_mut(&mut self, capability: &'static str) -> &mut CapabilityUsage {
        let index = match self.usage.iter().position(|(name, _)| *name == capability) {
            Some(index) => index,
            None => {
                self.usage.push((capability, CapabilityUsage::default()));
                self.usage.len() - 1
            }
        };
        &mut self.usage[index].1
    }

    /// When the run's timeout ([`Limits::timeout`](crate::Limits::timeout))
    /// expires, or `None` without one. The epoch interrupt stops only guest
    /// code, so a host function that blocks (on the network, say) bounds
    /// its wait by this itself.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The bump allocator.
    pub fn memory(&self) -> &WasmMemory {
        &self.memory
    }
}

/// The memory cap is enforced by wasmtime's `StoreLimits`; this wrapper
/// only turns a refused growth into [`Error::MemoryExhausted`], so the run
/// reports what happened instead of a generic trap.
impl ResourceLimiter for State {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.max_memory {
            return Err(Error::MemoryExhausted {
                requested: desired as u64,
                limit: self.max_memory,
            }
            .into());
        }
        self.limits.memory_growing(current, desired, maximum)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
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
