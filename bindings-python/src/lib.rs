//! `tokentrace._native`: the pyo3 half of the Python package. The Python
//! half (`python/tokentrace/`) owns context, decorators and instrumentation;
//! this module owns conversion into core types and the core handle.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod call;
mod cli;
mod conversions;
mod error;
mod fork;
mod tracer;

use pyo3::prelude::*;

/// Records are built on the application thread and freed on the export
/// worker; glibc malloc spends most of the record path on that pattern.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Panics caught at the record boundary since the module was loaded.
#[pyfunction]
fn binding_errors() -> u64 {
    tracer::binding_errors()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<tracer::PyTracer>()?;
    m.add_class::<conversions::PyAttrs>()?;
    m.add_class::<call::PyCall>()?;
    m.add_function(wrap_pyfunction!(call::install_call_hooks, m)?)?;
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
