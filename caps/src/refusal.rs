//! A failing status with the reason for it, as the capabilities' own
//! functions return it before the host function records it
//! ([`tape_rt::guest::fail`]).

use tape_rt::State;
use tape_rt::guest;
use tape_rt::wasmtime::AsContextMut;

/// Why a call fails, and with which status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) status: i32,
    pub(crate) message: String,
}

impl Refusal {
    pub(crate) fn new(status: i32, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
        }
    }

    /// Records the refusal as the reason `call` fails, and gives its
    /// status to return.
    pub(crate) fn fail(self, store: impl AsContextMut<Data = State>, call: &'static str) -> i32 {
        guest::fail(store, call, self.status, self.message)
    }
}
