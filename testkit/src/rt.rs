//! What the runtime's test suites share (feature `rt`): one engine per
//! test binary, compiling and running WAT, a stub capability, and a probe
//! of the largest heap allocation a call makes.
//!
//! The probe is this crate's global allocator when the feature is on: it
//! records sizes per thread and forwards every call to the system's.

use std::sync::OnceLock;

use tape_rt::{Args, Config, Engine, Grants, Outcome, Program};

/// One engine for the whole test binary, as an embedder would have. It keeps
/// compiled modules in memory only; the disk cache is tested in temporary
/// directories (`cache.rs`).
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::new(Config {
            cache_dir: None,
            ..Config::default()
        })
        .expect("engine")
    })
}

pub fn program(source: &str, grants: &Grants) -> Program {
    engine()
        .compile_str("test.wat", source, grants)
        .unwrap_or_else(|e| panic!("{e}"))
}

pub fn run(source: &str) -> Outcome {
    program(source, &Grants::new())
        .run(&Args::new())
        .unwrap_or_else(|e| panic!("{e}"))
}

pub fn run_err(source: &str, grants: &Grants) -> tape_rt::Error {
    match program(source, grants).run(&Args::new()) {
        Ok(outcome) => panic!("expected an error, got {outcome:?}"),
        Err(error) => error,
    }
}

/// The size of the largest heap allocation the current thread makes while
/// `f` runs, to prove that a guest's length prefix never makes the host
/// allocate it.
pub fn largest_allocation_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    counting::LARGEST.with(|largest| largest.set(0));
    let result = f();
    (result, counting::LARGEST.with(|largest| largest.get()))
}

/// A global allocator that remembers, per thread, the largest allocation
/// it was asked for. Per thread, so that tests running in parallel do not
/// see each other's allocations.
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        pub static LARGEST: Cell<usize> = const { Cell::new(0) };
    }

    fn record(size: usize) {
        // `try_with`: during thread teardown the slot may be gone.
        let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
    }

    pub struct Counting;

    // The test binary needs its own allocator to observe allocation sizes;
    // each method records the size and forwards to `System` unchanged, so
    // `System`'s contract is this allocator's contract.
    #[allow(unsafe_code)]
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            record(layout.size());
            // SAFETY: forwarded unchanged.
            unsafe { System.alloc(layout) }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            record(layout.size());
            // SAFETY: forwarded unchanged.
            unsafe { System.alloc_zeroed(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: forwarded unchanged.
            unsafe { System.dealloc(ptr, layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            record(new_size);
            // SAFETY: forwarded unchanged.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static ALLOCATOR: Counting = Counting;
}
