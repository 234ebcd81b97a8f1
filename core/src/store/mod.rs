//! The local trace store: a directory of OTLP-JSON files, one export request per line.
//!
//! This is the default destination when no OTLP endpoint is configured, and what the
//! `tokentrace` CLI reads. The format is plain OTLP-JSON (the encoding of
//! `opentelemetry_proto`'s `with-serde` types: hex ids, camelCase keys, 64-bit integers as
//! strings) so other OTLP tools can read the files too.
//!
//! Layout: `<dir>/traces-<unix_millis>-<pid>.jsonl`. The millisecond timestamp makes file
//! names sort in creation order; the pid gives every process (for example each gunicorn
//! worker, including forked ones) its own file, so lines of different processes never
//! interleave. Each line is written with one `write` call and ends with `\n`; a reader
//! that finds a last line without `\n` is looking at a write in progress or a crash.

pub(crate) mod codec;
mod follow;
mod reader;
mod writer;

use std::fmt;
use std::path::{Path, PathBuf};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::Span;

pub use follow::StoreFollower;
pub use reader::{Requests, Spans, StoreReader};
pub use writer::StoreWriter;

/// Directory used when neither `--dir` nor `TOKENTRACE_DIR` names one (relative to the
/// current directory).
pub const DEFAULT_DIR: &str = ".tokentrace";
/// Default size at which a store file is closed and a new one started.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Default budget for the whole directory; the oldest files are deleted beyond it.
pub const DEFAULT_MAX_TOTAL_BYTES: u64 = 256 * 1024 * 1024;

const FILE_PREFIX: &str = "traces-";
const FILE_SUFFIX: &str = ".jsonl";

/// Size limits of a [`StoreWriter`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// A file is rotated before a line would take it past this size. A single line larger
    /// than this is still written, alone in its own file, rather than dropped.
    pub max_file_bytes: u64,
    /// Budget for all store files in the directory (every process's). Whenever a writer
    /// starts a file it deletes the oldest files until the others fit in
    /// `max_total_bytes - max_file_bytes`, leaving room for the file it is about to fill.
    pub max_total_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            max_total_bytes: DEFAULT_MAX_TOTAL_BYTES,
        }
    }
}

/// Why [`StoreWriter::append`] failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Creating, opening or writing a store file failed.
    #[error("local store {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The request could not be encoded as OTLP-JSON.
    #[error("cannot encode export request as OTLP-JSON: {0}")]
    Encode(#[from] serde_json::Error),
}

/// A line of the store that could not be read; the rest of the store still loads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreIssue {
    pub file: PathBuf,
    /// 1-based line number; 0 when the whole file could not be read.
    pub line: usize,
    pub error: String,
}

impl fmt::Display for StoreIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.error)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.error)
        }
    }
}

/// One stored export request and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredRequest {
    pub request: ExportTraceServiceRequest,
    pub file: PathBuf,
    pub line: usize,
}

/// One span with the context it was exported with, as the CLI needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredSpan {
    /// Attributes of the span's resource (`service.name`, ...).
    pub resource: Vec<KeyValue>,
    /// Name of the instrumentation scope.
    pub scope: String,
    pub span: Span,
    pub file: PathBuf,
    pub line: usize,
}

/// Spans read from the store plus the lines that could not be read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoreBatch {
    pub spans: Vec<StoredSpan>,
    pub issues: Vec<StoreIssue>,
}

impl StoreBatch {
    fn push(&mut self, item: Result<StoredRequest, StoreIssue>) {
        match item {
            Ok(stored) => self.spans.extend(stored.into_spans()),
            Err(issue) => self.issues.push(issue),
        }
    }
}

impl StoredRequest {
    /// Flattens the request into its spans, each carrying its resource and scope.
    pub fn into_spans(self) -> Vec<StoredSpan> {
        let StoredRequest {
            request,
            file,
            line,
        } = self;
        let mut out = Vec::new();
        for resource_spans in request.resource_spans {
            let resource = resource_spans
                .resource
                .map(|r| r.attributes)
                .unwrap_or_default();
            for scope_spans in resource_spans.scope_spans {
                let scope = scope_spans.scope.map(|s| s.name).unwrap_or_default();
                for span in scope_spans.spans {
                    out.push(StoredSpan {
                        resource: resource.clone(),
                        scope: scope.clone(),
                        span,
                        file: file.clone(),
                        line,
                    });
                }
            }
        }
        out
    }
}

/// Sort key of a store file name: (unix millis, pid). `None` for foreign files, which the
/// store ignores.
fn parse_file_name(name: &str) -> Option<(u64, u32)> {
    let stem = name.strip_prefix(FILE_PREFIX)?.strip_suffix(FILE_SUFFIX)?;
    let (millis, pid) = stem.split_once('-')?;
    Some((millis.parse().ok()?, pid.parse().ok()?))
}

fn file_name(millis: u64, pid: u32) -> String {
    format!("{FILE_PREFIX}{millis}-{pid}{FILE_SUFFIX}")
}

/// A store file found in the directory.
#[derive(Clone, Debug)]
struct StoreFile {
    key: (u64, u32),
    path: PathBuf,
    len: u64,
}

/// Lists the store files of `dir`, oldest first. Files that vanish while listing (deleted
/// by another process's retention) are skipped.
fn list_files(dir: &Path) -> std::io::Result<Vec<StoreFile>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        let name = entry.file_name();
        let Some(key) = name.to_str().and_then(parse_file_name) else {
            continue;
        };
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        files.push(StoreFile {
            key,
            path: entry.path(),
            len: meta.len(),
        });
    }
    files.sort_by(|a, b| a.key.cmp(&b.key).then_with(|| a.path.cmp(&b.path)));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip_and_foreign_files_are_ignored() {
        assert_eq!(
            parse_file_name(&file_name(1_700_000_000_123, 42)),
            Some((1_700_000_000_123, 42))
        );
        assert_eq!(parse_file_name("traces-1-2.json"), None);
        assert_eq!(parse_file_name("notes.txt"), None);
        assert_eq!(parse_file_name("traces-x-2.jsonl"), None);
    }

    #[test]
    fn issue_display_names_file_and_line() {
        let issue = StoreIssue {
            file: PathBuf::from("/s/traces-1-2.jsonl"),
            line: 7,
            error: "EOF while parsing".into(),
        };
        assert_eq!(
            issue.to_string(),
            "/s/traces-1-2.jsonl:7: EOF while parsing"
        );
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value::Value};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};

    /// A fresh, empty directory under the system temp dir, removed when dropped.
    pub(crate) struct ScratchDir(tempfile::TempDir);

    impl std::ops::Deref for ScratchDir {
        type Target = Path;
        fn deref(&self) -> &Path {
            self.0.path()
        }
    }

    impl AsRef<Path> for ScratchDir {
        fn as_ref(&self) -> &Path {
            self.0.path()
        }
    }

    pub(crate) fn temp_dir(name: &str) -> ScratchDir {
        ScratchDir(
            tempfile::Builder::new()
                .prefix(&format!("tokentrace-store-{name}-"))
                .tempdir()
                .unwrap(),
        )
    }

    /// A one-span request named `span-{i}` whose prompt attribute has `payload` bytes.
    pub(crate) fn request(i: u64, payload: usize) -> ExportTraceServiceRequest {
        let string = |s: String| AnyValue {
            value: Some(Value::StringValue(s)),
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![KeyValue {
                        key: "service.name".into(),
                        value: Some(string("svc".into())),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(
                        opentelemetry_proto::tonic::common::v1::InstrumentationScope {
                            name: "tokentrace".into(),
                            ..Default::default()
                        },
                    ),
                    spans: vec![Span {
                        trace_id: vec![7; 16],
                        span_id: (i + 1).to_be_bytes().to_vec(),
                        name: format!("span-{i}"),
                        start_time_unix_nano: 1_700_000_000_000_000_000 + i,
                        end_time_unix_nano: 1_700_000_000_100_000_000 + i,
                        attributes: vec![KeyValue {
                            key: "gen_ai.input.messages".into(),
                            value: Some(string("x".repeat(payload))),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }
}
