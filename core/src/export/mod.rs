//! Exporters. The worker maps a batch of records to one OTLP
//! `ExportTraceServiceRequest` once, and every configured exporter sends that
//! same request its own way (protobuf over HTTP, gRPC, JSON lines, text,
//! memory). Contract (as the OTel SDK's): `export` is never called
//! concurrently on one exporter, it retries by itself within the deadline it
//! is given, and it never panics on bad data.

pub mod console;
pub mod file;
pub mod memory;
pub mod otlp;
pub mod retry;

use std::future::Future;
use std::pin::Pin;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use tokio::time::Instant;

/// One batch, already mapped to OTLP.
#[derive(Debug, Clone)]
pub struct ExportBatch {
    pub request: ExportTraceServiceRequest,
    pub span_count: usize,
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
}

impl ExportResult {
    pub fn ok() -> Self {
        ExportResult {
            outcome: ExportOutcome::Success { rejected: 0 },
            retries: 0,
        }
    }

    pub fn failed(error: impl Into<String>, retries: u32) -> Self {
        ExportResult {
            outcome: ExportOutcome::Failed {
                error: error.into(),
            },
            retries,
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
