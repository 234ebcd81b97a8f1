//! Fork support. Core installs a `pthread_atfork` child handler that marks
//! the pipeline stale, so even an unannounced fork gets a fresh queue and
//! worker on its next call. The Python package adds `os.register_at_fork`
//! hooks (`PyTracer.before_fork` / `after_fork_parent` / `after_fork_child`)
//! so the worker is paused at a safe point *before* the fork and resumed in
//! the parent. Python reads the epoch to reset its own per-process state
//! (id generator, pending streams) in the child.

use pyo3::prelude::*;

/// Incremented in every forked child by core's handler.
#[pyfunction]
pub fn fork_epoch() -> u64 {
    tokentrace_core::pipeline::fork_epoch()
}
