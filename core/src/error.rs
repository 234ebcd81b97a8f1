//! Error types. Only configuration and lifecycle calls can fail; the record
//! path never returns an error (failures there are counted in `stats()`).

use std::time::Duration;

/// A configuration value given in code was invalid. Names the field, the value
/// and what is accepted, so the message is actionable where the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field} {value:?}: {reason}")]
pub struct ConfigError {
    pub field: &'static str,
    pub value: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(field: &'static str, value: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            field,
            value: value.into(),
            reason: reason.into(),
        }
    }
}

/// Flush / shutdown outcomes that are not success.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("tokentrace is already shut down")]
    AlreadyShutdown,
    #[error("timed out after {timeout:?} with {pending} spans not yet exported")]
    Timeout { timeout: Duration, pending: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

/// Any error of the public API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error("could not start the export worker: {0}")]
    Start(String),
}
