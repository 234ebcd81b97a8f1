//! `tokentrace._native`: the pyo3 half of the Python package. The Python
//! half (`python/tokentrace/`) owns context, decorators and instrumentation;
//! this module owns conversion into core types and the core handle.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod cli;
mod conversions;
mod error;
mod fork;
mod pending;
mod tracer;

use pyo3::prelude::*;

/// Records are built on the application thread and freed on the export
/// worker; glibc malloc spends most of the record path on that pattern.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_decommits` (the same in mimalloc v2 and v3; the sys
/// crate names only a few options).
const MI_OPTION_PURGE_DECOMMITS: libmimalloc_sys::mi_option_t = 5;

/// Freed pages are reset (`MADV_FREE`: the kernel takes them only under
/// memory pressure) instead of decommitted. Decommitted pages are faulted
/// back in by the next records on the application thread: measured 0.19
/// page faults per traced model call in steady state, several µs each in a
/// VM; 0.008 with reset. `MIMALLOC_PURGE_DECOMMITS` in the environment wins.
fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DECOMMITS").is_none() {
        // SAFETY: sets one of mimalloc's documented options; callable any time.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DECOMMITS, 0) }
    }
}

/// Panics caught at the record boundary since the module was loaded.
#[pyfunction]
fn binding_errors() -> u64 {
    tracer::binding_errors()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    tune_allocator();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<tracer::PyTracer>()?;
    m.add_class::<conversions::PyAttrs>()?;
    m.add("TokentraceError", py.get_type::<error::TokentraceError>())?;
    m.add(
        "InvalidConfigError",
        py.get_type::<error::InvalidConfigError>(),
    )?;
    m.add(
        "FlushTimeoutError",
        py.get_type::<error::FlushTimeoutError>(),
    )?;
    m.add(
        "AlreadyShutdownError",
        py.get_type::<error::AlreadyShutdownError>(),
    )?;
    m.add_function(wrap_pyfunction!(binding_errors, m)?)?;
    m.add_function(wrap_pyfunction!(fork::fork_epoch, m)?)?;
    m.add_function(wrap_pyfunction!(cli::cli_main, m)?)?;
    Ok(())
}
