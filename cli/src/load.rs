//! Loading the store for the one-shot commands, warning about unreadable lines.

use std::io;
use std::path::Path;

use tokentrace_core::store::{StoreIssue, StoreReader};

use crate::CliError;
use crate::span::SpanInfo;

/// All readable spans of the store in `dir`. Unreadable lines are reported on stderr as
/// `warning: path:line: error` and skipped; it is an error only when nothing is readable.
pub fn spans(dir: &Path) -> Result<Vec<SpanInfo>, CliError> {
    let reader = open(dir)?;
    let batch = reader.load();
    warn(&batch.issues);
    if batch.spans.is_empty() && !batch.issues.is_empty() {
        return Err(CliError::Failed(format!(
            "nothing readable in {} ({} unreadable line(s))",
            dir.display(),
            batch.issues.len()
        )));
    }
    Ok(batch.spans.into_iter().map(SpanInfo::new).collect())
}

pub fn open(dir: &Path) -> Result<StoreReader, CliError> {
    StoreReader::open(dir).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => CliError::NoStore(dir.to_path_buf()),
        _ => CliError::Failed(format!("cannot read {}: {e}", dir.display())),
    })
}

pub fn warn(issues: &[StoreIssue]) {
    for issue in issues {
        eprintln!("warning: {issue}");
    }
}
