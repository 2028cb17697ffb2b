//! Timeouts without a thread ([`Timer::Signal`](crate::Timer::Signal)):
//! each run with a timeout arms a one-shot POSIX timer for its deadline,
//! which sends `SIGALRM` to the thread running it; the handler advances the
//! engine's epoch, the guest's next epoch check calls the run's deadline
//! callback, and that finds the deadline passed.
//!
//! Why: starting a thread costs a process about 100 µs on a 2-vCPU VM
//! (`benches/process.rs`), 6% of a whole `tape run hello`; arming and
//! deleting a timer is four system calls. A process that runs one program
//! and exits, like the `tape` command, pays the thread for nothing.
//!
//! # Why the unsafe code here is sound
//!
//! - The handler does two things: loads a thread-local pointer and calls
//!   [`wasmtime::Engine::increment_epoch`] through it, which wasmtime
//!   documents as signal-safe (one atomic add, no system call). The
//!   thread-local has a `const` initialiser and no destructor, so reading
//!   it is a plain load of thread-local storage, and it was first touched
//!   when the alarm was armed, not in the handler.
//! - The pointer is to the [`Alarm`]'s own node (a clone of the engine),
//!   set when the alarm is armed and put back when it is dropped, after the
//!   timer is deleted. The timer signals only the thread that armed it, an
//!   `Alarm` cannot leave that thread (it holds a `timer_t`, a raw pointer:
//!   neither `Send` nor `Sync`), and a signal already queued for the thread
//!   when the timer is deleted is delivered as that system call returns,
//!   before the node is freed; the signal is checked not to be blocked on
//!   the thread, so that it cannot wait for later. A `SIGALRM` from
//!   anywhere else only advances the epoch early, which each run's
//!   callback answers by checking its own deadline again.
//! - Alarms armed on one thread while another is (a run inside a host
//!   call) form a chain through the thread-local, and the handler advances
//!   every engine on it. The links are atomic, so the handler, which can
//!   interrupt the thread between any two instructions, reads each whole;
//!   an alarm dropped out of order is unlinked where it is.
#![allow(unsafe_code)]

use std::io;
use std::ptr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::time::Duration;

/// One armed timer: deleted, and its node taken off the thread's chain,
/// when dropped.
pub(crate) struct Alarm {
    timer: libc::timer_t,
    node: Box<Node>,
}

/// What the handler reaches: the engine to advance, and the alarm armed
/// before this one on the same thread, if any.
struct Node {
    engine: wasmtime::Engine,
    /// Atomic so that the handler, which may interrupt this thread
    /// anywhere, never sees a pointer half written.
    outer: AtomicPtr<Node>,
}

thread_local! {
    /// The innermost alarm armed on this thread.
    static ARMED: AtomicPtr<Node> = const { AtomicPtr::new(ptr::null_mut()) };
}

impl Alarm {
    /// Arms a timer that sends `SIGALRM` to this thread after `after`,
    /// whose handler advances `engine`'s epoch.
    ///
    /// # Errors
    ///
    /// If the signal cannot be used here: `SIGALRM`'s handler is not
    /// Tape's (it had one before Tape's first alarm, or was given one
    /// since), it is blocked on this thread, or the kernel refuses a timer.
    /// The caller then uses a thread instead.
    pub(crate) fn arm(engine: &wasmtime::Engine, after: Duration) -> io::Result<Alarm> {
        install()?;
        if blocked()? {
            return Err(io::Error::other("SIGALRM is blocked on this thread"));
        }
        let mut node = Box::new(Node {
            engine: engine.clone(),
            outer: AtomicPtr::new(ptr::null_mut()),
        });
        // SAFETY: `sigevent` is plain data, for which all zeroes is valid.
        let mut event: libc::sigevent = unsafe { std::mem::zeroed() };
        event.sigev_notify = libc::SIGEV_THREAD_ID;
        event.sigev_signo = libc::SIGALRM;
        // SAFETY: `gettid` has no preconditions.
        event.sigev_notify_thread_id = unsafe { libc::gettid() };
        let mut timer: libc::timer_t = ptr::null_mut();
        // SAFETY: both pointers are to live values of the right types.
        if unsafe { libc::timer_create(libc::CLOCK_MONOTONIC, &mut event, &mut timer) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // On the chain before the timer can fire.
        ARMED.with(|armed| {
            node.outer
                .store(armed.load(Ordering::Relaxed), Ordering::SeqCst);
            armed.store(&mut *node, Ordering::SeqCst);
        });
        let alarm = Alarm { timer, node };
        // A zero `it_value` would disarm the timer: at least a nanosecond.
        let after = after.max(Duration::from_nanos(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: libc::time_t::try_from(after.as_secs()).unwrap_or(libc::time_t::MAX),
                // Below 10⁹, which any `c_long` holds.
                tv_nsec: after.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: `timer` was created above; `spec` is a live value.
        if unsafe { libc::timer_settime(alarm.timer, 0, &spec, ptr::null_mut()) } != 0 {
            // Dropping `alarm` deletes the timer and unlinks the node.
            return Err(io::Error::last_os_error());
        }
        Ok(alarm)
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        // SAFETY: the timer was created by `arm` and is deleted once. A
        // signal it queued for this thread is delivered as the call
        // returns, while the node is still on the chain.
        unsafe { libc::timer_delete(self.timer) };
        let node: *mut Node = &mut *self.node;
        let outer = self.node.outer.load(Ordering::Relaxed);
        ARMED.with(|armed| {
            // Alarms on one thread are dropped in the reverse order of
            // arming (each lives in a run's frame), so this one is
            // innermost; if not, it is unlinked where it is.
            if armed.load(Ordering::Relaxed) == node {
                armed.store(outer, Ordering::SeqCst);
                return;
            }
            let mut inner = armed.load(Ordering::Relaxed);
            while !inner.is_null() {
                // SAFETY: the nodes on this thread's chain are alive (each
                // leaves it before it is freed), and only this thread
                // changes them.
                let link = unsafe { &(*inner).outer };
                if link.load(Ordering::Relaxed) == node {
                    link.store(outer, Ordering::SeqCst);
                    return;
                }
                inner = link.load(Ordering::Relaxed);
            }
        });
    }
}

/// Tape's `SIGALRM` handler, installed once per process, and checked to be
/// the one installed now: an error if the signal already had a handler of
/// someone else's, or was given one since. A run armed without Tape's
/// handler in place would get no epoch tick at its deadline, and one
/// without fuel would never stop.
fn install() -> io::Result<()> {
    install_once()?;
    // SAFETY: a zeroed `sigaction` to read into; a null new action only
    // reads the current one.
    let current = unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGALRM, ptr::null(), &mut current) != 0 {
            return Err(io::Error::last_os_error());
        }
        current.sa_sigaction
    };
    if current != on_alarm as *const () as libc::sighandler_t {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "SIGALRM's handler was replaced by someone else's",
        ));
    }
    Ok(())
}

/// Installs Tape's handler, the first time only.
fn install_once() -> io::Result<()> {
    static INSTALLED: OnceLock<Result<(), (io::ErrorKind, String)>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            // SAFETY: `sigaction` is plain data, for which all zeroes is
            // valid; the handler has the signature `SA_SIGINFO` calls for.
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            action.sa_sigaction = on_alarm as *const () as libc::sighandler_t;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART | libc::SA_ONSTACK;
            // SAFETY: a live, zeroed (empty) signal set.
            unsafe { libc::sigemptyset(&mut action.sa_mask) };
            // SAFETY: as above.
            let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: both pointers are to live values.
            if unsafe { libc::sigaction(libc::SIGALRM, &action, &mut old) } != 0 {
                let error = io::Error::last_os_error();
                return Err((error.kind(), error.to_string()));
            }
            if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN {
                // Someone else's: theirs again.
                // SAFETY: `old` is what `sigaction` gave back.
                unsafe { libc::sigaction(libc::SIGALRM, &old, ptr::null_mut()) };
                return Err((
                    io::ErrorKind::AlreadyExists,
                    "SIGALRM already has a handler".to_string(),
                ));
            }
            Ok(())
        })
        .clone()
        .map_err(|(kind, message)| io::Error::new(kind, message))
}

/// Whether `SIGALRM` is blocked on this thread.
fn blocked() -> io::Result<bool> {
    // SAFETY: a zeroed `sigset_t` is a valid (empty) set, and
    // `pthread_sigmask` with a null new set only reads the mask.
    unsafe {
        let mut mask: libc::sigset_t = std::mem::zeroed();
        let status = libc::pthread_sigmask(libc::SIG_BLOCK, ptr::null(), &mut mask);
        if status != 0 {
            return Err(io::Error::from_raw_os_error(status));
        }
        Ok(libc::sigismember(&mask, libc::SIGALRM) == 1)
    }
}

/// Advances the epoch of every engine with an alarm armed on this thread.
extern "C" fn on_alarm(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // `try_with`: a thread being torn down has no chain to walk.
    let _ = ARMED.try_with(|armed| {
        let mut node = armed.load(Ordering::SeqCst);
        while !node.is_null() {
            // SAFETY: a node on the chain is alive until its alarm takes
            // it off, which happens on this thread, never while this
            // handler runs on it (see the module docs).
            let current = unsafe { &*node };
            current.engine.increment_epoch();
            node = current.outer.load(Ordering::SeqCst);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use tape_testkit::rt::timers_of_this_thread;

    fn innermost() -> *mut Node {
        ARMED.with(|armed| armed.load(Ordering::SeqCst))
    }

    #[test]
    fn alarms_on_one_thread_chain_and_each_leaves_the_chain_and_its_timer_when_dropped() {
        let engine = wasmtime::Engine::default();
        let outer = Alarm::arm(&engine, Duration::from_secs(60)).expect("an alarm");
        let outer_node = ptr::from_ref(&*outer.node).cast_mut();
        assert_eq!(innermost(), outer_node);
        assert_eq!(timers_of_this_thread(), 1);
        {
            let inner = Alarm::arm(&engine, Duration::from_secs(60)).expect("another");
            assert_eq!(innermost(), ptr::from_ref(&*inner.node).cast_mut());
            assert_eq!(inner.node.outer.load(Ordering::SeqCst), outer_node);
            assert_eq!(timers_of_this_thread(), 2);
        }
        assert_eq!(innermost(), outer_node);
        assert_eq!(timers_of_this_thread(), 1);
        drop(outer);
        assert!(innermost().is_null());
        assert_eq!(timers_of_this_thread(), 0);
    }

    #[test]
    fn an_alarm_dropped_out_of_order_is_unlinked_where_it_is() {
        let engine = wasmtime::Engine::default();
        let outer = Alarm::arm(&engine, Duration::from_secs(60)).expect("an alarm");
        let middle = Alarm::arm(&engine, Duration::from_secs(60)).expect("another");
        let inner = Alarm::arm(&engine, Duration::from_secs(60)).expect("a third");
        let outer_node = ptr::from_ref(&*outer.node).cast_mut();
        drop(middle);
        assert_eq!(innermost(), ptr::from_ref(&*inner.node).cast_mut());
        assert_eq!(inner.node.outer.load(Ordering::SeqCst), outer_node);
        drop(outer);
        assert!(inner.node.outer.load(Ordering::SeqCst).is_null());
        drop(inner);
        assert!(innermost().is_null());
        assert_eq!(timers_of_this_thread(), 0);
    }

    #[test]
    fn a_ringing_alarm_advances_the_epoch_of_every_engine_on_the_chain() {
        // `f` loops for ever, `g` a thousand times; a store whose epoch
        // deadline is one tick away traps at its first check once the
        // engine's epoch has moved.
        const WAT: &str = r#"(module
            (func (export "f") (loop $l (br $l)))
            (func (export "g") (local $i i32)
              (loop $l
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))))"#;
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let call = |engine: &wasmtime::Engine, store: &mut wasmtime::Store<()>, name: &str| {
            let wasm = wat::parse_str(WAT).expect("valid text");
            let module = wasmtime::Module::new(engine, wasm).expect("a module");
            let instance = wasmtime::Instance::new(&mut *store, &module, &[]).expect("an instance");
            let func = instance
                .get_typed_func::<(), ()>(&mut *store, name)
                .expect("an export");
            func.call(&mut *store, ())
                .err()
                .and_then(|e| e.downcast_ref::<wasmtime::Trap>().copied())
        };
        let outer_engine = wasmtime::Engine::new(&config).expect("an engine");
        let inner_engine = wasmtime::Engine::new(&config).expect("an engine");
        let mut outer_store = wasmtime::Store::new(&outer_engine, ());
        outer_store.set_epoch_deadline(1);
        let mut inner_store = wasmtime::Store::new(&inner_engine, ());
        inner_store.set_epoch_deadline(1);
        // Before any alarm rang, `g` runs to its end.
        assert_eq!(call(&outer_engine, &mut outer_store, "g"), None);
        let outer = Alarm::arm(&outer_engine, Duration::from_secs(60)).expect("an alarm");
        let inner = Alarm::arm(&inner_engine, Duration::from_millis(20)).expect("another");
        assert_eq!(
            call(&inner_engine, &mut inner_store, "f"),
            Some(wasmtime::Trap::Interrupt),
            "the inner alarm stops the loop"
        );
        assert_eq!(
            call(&outer_engine, &mut outer_store, "g"),
            Some(wasmtime::Trap::Interrupt),
            "the same signal moved the outer engine's epoch"
        );
        drop((inner, outer));
    }

    #[test]
    fn an_alarm_is_refused_where_the_signal_is_blocked() {
        std::thread::spawn(|| {
            // SAFETY: a set with SIGALRM in it, blocked on this thread only.
            unsafe {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, libc::SIGALRM);
                assert_eq!(
                    libc::pthread_sigmask(libc::SIG_BLOCK, &set, ptr::null_mut()),
                    0
                );
            }
            let refused = Alarm::arm(&wasmtime::Engine::default(), Duration::from_millis(1))
                .err()
                .expect("an alarm that could never ring is refused");
            assert!(refused.to_string().contains("blocked"), "{refused}");
            assert!(innermost().is_null());
            assert_eq!(timers_of_this_thread(), 0);
        })
        .join()
        .expect("the thread ends");
    }
}
