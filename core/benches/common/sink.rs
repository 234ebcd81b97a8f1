//! Do-nothing exporters that count what reaches them: the hot-path bench
//! measures the application thread while the worker runs its full mapping,
//! without a receiver competing for the two cores.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::SpanData;
use tokentrace_core::ExporterFactory;
use tokentrace_core::export::{BoxFuture, ExportBatch, ExportContext, ExportResult, SpanExporter};

/// tokentrace: the worker still drains, limits and maps every record to OTLP.
pub struct TtSink {
    pub spans: Arc<AtomicU64>,
}

impl SpanExporter for TtSink {
    fn name(&self) -> &'static str {
        "bench-sink"
    }

    fn export<'a>(
        &'a self,
        batch: &'a ExportBatch,
        _ctx: ExportContext,
    ) -> BoxFuture<'a, ExportResult> {
        self.spans.fetch_add(batch.span_count as u64, Relaxed);
        Box::pin(async { ExportResult::ok() })
    }
}

pub fn tt_sink_factory(spans: Arc<AtomicU64>) -> Arc<dyn ExporterFactory> {
    Arc::new(move || {
        Ok(Arc::new(TtSink {
            spans: spans.clone(),
        }) as Arc<dyn SpanExporter>)
    })
}

/// The peer: an `opentelemetry_sdk` exporter that drops the batch.
#[derive(Debug, Clone, Default)]
pub struct PeerSink {
    pub spans: Arc<AtomicU64>,
}

impl opentelemetry_sdk::trace::SpanExporter for PeerSink {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.spans.fetch_add(batch.len() as u64, Relaxed);
        Ok(())
    }
}
