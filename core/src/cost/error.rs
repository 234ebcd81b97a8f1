//! Errors from loading a price table. Each names the place that is wrong so
//! a user can fix a `TOKENTRACE_PRICES` file from the message alone.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CostError {
    #[error("price table is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),

    #[error("price table: {0}")]
    Document(String),

    #[error("price table entry `{provider}/{model}`: field `{field}` {problem}")]
    Field {
        provider: String,
        model: String,
        field: String,
        problem: String,
    },

    #[error("price table: `{provider}/{name}` is defined more than once")]
    Duplicate { provider: String, name: String },

    #[error("cannot read price file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
