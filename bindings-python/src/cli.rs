//! The `tokentrace` CLI compiled into the extension, so `python -m tokentrace`
//! (and the `tokentrace` console script) work in every install — a wheel, an
//! sdist or `pip install ./bindings-python` alike — with no separate binary.

use std::ffi::OsString;
use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::prelude::*;

/// Exit code when the CLI panicked (the same as a Rust binary's panic exit).
const PANICKED: u8 = 101;

/// Runs the CLI with `argv` (program name first) off the GIL; returns the exit code.
#[pyfunction]
pub fn cli_main(py: Python<'_>, argv: Vec<OsString>) -> u8 {
    py.detach(move || {
        catch_unwind(AssertUnwindSafe(|| tokentrace_cli::run(argv))).unwrap_or(PANICKED)
    })
}
