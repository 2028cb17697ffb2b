//! The built-in capabilities.

mod ai;
mod core;
mod fs;
mod http;
mod json;
mod kv;
mod listed;
mod log;
mod rand;
mod reply;
mod time;

use std::sync::Arc;

pub use self::ai::Ai;
pub use self::core::{Core, MAX_RESULTS};
pub use self::fs::Fs;
pub use self::http::Http;
pub use self::json::Json;
pub use self::kv::{KV_CACHE_BYTES, Kv};
pub use self::log::{LOG_MESSAGE_OVERHEAD, Level, Log};
pub use self::rand::Rand;
pub use self::time::Time;

use self::listed::Listed;
use crate::Capability;

/// Every built-in capability with its default settings, or as a catalogue
/// entry when it needs the host's configuration to exist: the catalogue the
/// compiler sees, and the names the linker recognises as "exists but not
/// granted".
pub(crate) fn builtin() -> Vec<Arc<dyn Capability>> {
    vec![
        Arc::new(Core),
        Arc::new(Log::new()),
        Arc::new(Json::new()),
        Arc::new(Time::system()),
        Arc::new(Rand::os()),
        Arc::new(Listed {
            name: kv::NAME,
            description: kv::DESCRIPTION,
            functions: kv::FUNCTIONS,
        }),
        Arc::new(Listed {
            name: fs::NAME,
            description: fs::DESCRIPTION,
            functions: fs::FUNCTIONS,
        }),
        Arc::new(Http::new()),
        Arc::new(Ai::new("", "")),
    ]
}
