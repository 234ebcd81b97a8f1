//! The public exception tree, declared once here and re-exported by
//! `tokentrace.errors`, plus the one mapping from core errors into it.
//!
//! Only `init`, `flush` and `shutdown` raise, and only these classes; the
//! record path never raises (see `tracer.rs`).

use std::time::Duration;

use pyo3::PyErr;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use tokentrace_core::{ConfigError, Error, LifecycleError};

create_exception!(
    tokentrace._native,
    TokentraceError,
    PyException,
    "Base class of every error tokentrace raises."
);
create_exception!(
    tokentrace._native,
    InvalidConfigError,
    TokentraceError,
    "A configuration value given in code is invalid (the message names the field and what is accepted)."
);
create_exception!(
    tokentrace._native,
    FlushTimeoutError,
    TokentraceError,
    "flush() or shutdown() returned at its deadline with spans still pending."
);
create_exception!(
    tokentrace._native,
    AlreadyShutdownError,
    TokentraceError,
    "The tracer was already shut down."
);

/// A core error on its way to Python (a local type, so `From` may be
/// implemented for `PyErr`).
#[derive(Debug)]
pub struct CoreError(pub Error);

impl From<ConfigError> for CoreError {
    fn from(e: ConfigError) -> Self {
        CoreError(Error::Config(e))
    }
}

impl From<LifecycleError> for CoreError {
    fn from(e: LifecycleError) -> Self {
        CoreError(Error::Lifecycle(e))
    }
}

impl From<Error> for CoreError {
    fn from(e: Error) -> Self {
        CoreError(e)
    }
}

impl From<CoreError> for PyErr {
    fn from(e: CoreError) -> PyErr {
        let msg = e.0.to_string();
        match e.0 {
            Error::Config(_) => InvalidConfigError::new_err(msg),
            Error::Lifecycle(LifecycleError::AlreadyShutdown) => AlreadyShutdownError::new_err(msg),
            Error::Lifecycle(LifecycleError::Timeout { .. }) => FlushTimeoutError::new_err(msg),
            Error::Lifecycle(LifecycleError::Internal(_)) | Error::Start(_) => {
                TokentraceError::new_err(msg)
            }
        }
    }
}

/// An invalid option given from Python (wrong type, unknown name).
pub fn invalid_option(field: &str, value: impl std::fmt::Display, reason: &str) -> PyErr {
    InvalidConfigError::new_err(format!("invalid {field} {value}: {reason}"))
}

/// Runs a blocking core call with the GIL released and maps its error, like
/// polars' `enter_polars`: the export worker never needs the GIL, and other
/// Python threads keep running while flush/shutdown wait.
pub trait EnterCore {
    fn enter_core<T, E, F>(self, f: F) -> PyResult<T>
    where
        F: FnOnce() -> Result<T, E> + Send,
        T: Send,
        E: Into<CoreError> + Send;
}

impl EnterCore for Python<'_> {
    fn enter_core<T, E, F>(self, f: F) -> PyResult<T>
    where
        F: FnOnce() -> Result<T, E> + Send,
        T: Send,
        E: Into<CoreError> + Send,
    {
        self.detach(f).map_err(|e| PyErr::from(e.into()))
    }
}

/// Seconds from Python into a `Duration`; negative or non-finite → error.
pub fn seconds(field: &str, s: f64) -> PyResult<Duration> {
    if s.is_finite() && s >= 0.0 {
        Ok(Duration::from_secs_f64(s))
    } else {
        Err(invalid_option(
            field,
            s,
            "expected a non-negative number of seconds",
        ))
    }
}
