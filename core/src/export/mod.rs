//! Exporters. The worker encodes a batch of records once, as the OTLP
//! `ExportTraceServiceRequest` bodies the configured exporters need
//! (protobuf, OTLP-JSON or both; see `encode`), and every exporter sends those
//! same bytes its own way (HTTP, gRPC, store lines; the console and memory
//! exporters decode them). Contract (as the OTel SDK's): `export` is never called
//! concurrently on one exporter, it retries by itself within the deadline it
//! is given, and it never panics on bad data.

pub mod console;
pub mod encode;
pub mod file;
pub mod memory;
pub mod otlp;
pub mod retry;

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use tokio::time::Instant;

pub use encode::Encodings;

/// One batch, already encoded as OTLP export requests.
#[derive(Debug, Clone)]
pub struct ExportBatch {
    pub span_count: usize,
    protobuf: Option<Bytes>,
    /// OTLP-JSON followed by `\n` (a store line).
    json_line: Option<Bytes>,
}

/// Why an [`ExportBatch`] could not be read back as a request.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("invalid OTLP protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    #[error("invalid OTLP-JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the batch carries no encoded request")]
    Empty,
}

impl ExportBatch {
    pub(crate) fn encoded(
        span_count: usize,
        protobuf: Option<Bytes>,
        json_line: Option<Bytes>,
    ) -> Self {
        ExportBatch {
            span_count,
            protobuf,
            json_line,
        }
    }

    /// Encodes `request` (tests, tools, replays of stored requests).
    pub fn from_request(
        request: &ExportTraceServiceRequest,
        want: Encodings,
    ) -> Result<Self, serde_json::Error> {
        use prost::Message;
        let span_count = request
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .map(|ss| ss.spans.len())
            .sum();
        let json_line = if want.json {
            Some(Bytes::from(crate::store::codec::encode_line(request)?))
        } else {
            None
        };
        Ok(ExportBatch {
            span_count,
            protobuf: want.protobuf.then(|| Bytes::from(request.encode_to_vec())),
            json_line,
        })
    }

    /// The request as OTLP protobuf, when an exporter asked for it.
    pub fn protobuf(&self) -> Option<&Bytes> {
        self.protobuf.as_ref()
    }

    /// The request as OTLP-JSON (no trailing newline), when an exporter asked for it.
    pub fn json(&self) -> Option<Bytes> {
        self.json_line
            .as_ref()
            .map(|l| l.slice(..l.len().saturating_sub(1)))
    }

    /// The request as one store line (OTLP-JSON and `\n`).
    pub fn json_line(&self) -> Option<&Bytes> {
        self.json_line.as_ref()
    }

    /// The request bodies, for their buffers to be reused once sent.
    pub(crate) fn into_bodies(self) -> [Option<Bytes>; 2] {
        [self.protobuf, self.json_line]
    }

    /// The request as `opentelemetry_proto` structs (console, memory, tests).
    pub fn decode(&self) -> Result<ExportTraceServiceRequest, DecodeError> {
        use prost::Message;
        if let Some(p) = &self.protobuf {
            return Ok(ExportTraceServiceRequest::decode(p.as_ref())?);
        }
        match self.json() {
            Some(j) => Ok(crate::store::codec::decode_line(&j)?),
            None => Err(DecodeError::Empty),
        }
    }
}

/// How an export ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportOutcome {
    /// Accepted. `rejected` spans were refused by a partial success answer.
    Success { rejected: u64 },
    /// Not delivered: a non-retryable answer, or retries ran out.
    Failed { error: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportResult {
    pub outcome: ExportOutcome,
    /// Retry attempts made (not counting the first try).
    pub retries: u32,
    /// The receiver's `error_message` in a partial success answer: why it
    /// refused the `rejected` items, for whoever reports them.
    pub partial_success_message: Option<String>,
}

impl ExportResult {
    pub fn ok() -> Self {
        ExportResult {
            outcome: ExportOutcome::Success { rejected: 0 },
            retries: 0,
            partial_success_message: None,
        }
    }

    pub fn failed(error: impl Into<String>, retries: u32) -> Self {
        ExportResult {
            outcome: ExportOutcome::Failed {
                error: error.into(),
            },
            retries,
            partial_success_message: None,
        }
    }
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Per-call context.
#[derive(Debug, Clone, Copy)]
pub struct ExportContext {
    /// Retries stop here; the worker also cancels the call at its own deadline.
    pub deadline: Instant,
}

/// A destination for span batches.
pub trait SpanExporter: Send + Sync {
    fn name(&self) -> &'static str;

    /// The request bodies this exporter reads from a batch; the worker
    /// encodes only what some exporter needs.
    fn encodings(&self) -> Encodings {
        Encodings::PROTOBUF
    }

    fn export<'a>(
        &'a self,
        batch: &'a ExportBatch,
        ctx: ExportContext,
    ) -> BoxFuture<'a, ExportResult>;

    /// Sends GenAI client metrics; `None` when this exporter has no metrics
    /// channel (the local store and the console keep spans only).
    fn export_metrics<'a>(
        &'a self,
        _req: &'a ExportMetricsServiceRequest,
        _ctx: ExportContext,
    ) -> Option<BoxFuture<'a, ExportResult>> {
        None
    }
}
