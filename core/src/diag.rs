//! Internal diagnostics. tokentrace must never spam or crash the host: each
//! distinct warning is printed once (to stderr, prefixed), and the most recent
//! ones are kept so bindings can surface them through their own logging.

use std::collections::HashSet;
use std::sync::Mutex;

static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
static RECENT: Mutex<Vec<String>> = Mutex::new(Vec::new());
const MAX_RECENT: usize = 64;

/// Whether diagnostics go to stderr (`TOKENTRACE_LOG=off` silences them).
fn enabled() -> bool {
    !matches!(
        std::env::var("TOKENTRACE_LOG").ok().as_deref(),
        Some("off") | Some("none") | Some("0")
    )
}

/// Warns once per `key` (an event name like `Config.InvalidEnv:OTEL_BSP_MAX_QUEUE_SIZE`).
/// Returns true when this call printed.
pub fn warn_once(key: &str, message: &str) -> bool {
    let Ok(mut seen) = SEEN.lock() else {
        return false;
    };
    let set = seen.get_or_insert_with(HashSet::new);
    if !set.insert(key.to_string()) {
        return false;
    }
    drop(seen);
    if let Ok(mut recent) = RECENT.lock() {
        if recent.len() >= MAX_RECENT {
            recent.remove(0);
        }
        recent.push(message.to_string());
    }
    if enabled() {
        eprintln!("tokentrace: warning: {message}");
    }
    true
}

/// The warnings printed so far (most recent last).
pub fn recent_warnings() -> Vec<String> {
    RECENT.lock().map(|r| r.clone()).unwrap_or_default()
}
