//! The built-in capabilities.

mod ai;
mod core;
mod http;
mod log;

use std::sync::Arc;

pub use self::ai::Ai;
pub use self::core::Core;
pub use self::http::Http;
pub use self::log::{Level, Log};

use crate::Capability;

/// Every built-in capability with its default settings: the catalogue the
/// compiler sees, and the names the linker recognises as "exists but not
/// granted".
pub(crate) fn builtin() -> Vec<Arc<dyn Capability>> {
    vec![
        Arc::new(Core),
        Arc::new(Log::new()),
        Arc::new(Http::new()),
        Arc::new(Ai::new("", "")),
    ]
}
