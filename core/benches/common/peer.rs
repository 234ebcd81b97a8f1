//! The peer: `opentelemetry_sdk` 0.33's own `BatchSpanProcessor` feeding
//! `opentelemetry-otlp` 0.33 over HTTP/protobuf, as its default features build
//! it (`reqwest-blocking-client`). The workspace also enables the crate's
//! async `reqwest-client` feature, which would take priority and panic in the
//! processor's plain thread ("no reactor running"), so the blocking client the
//! defaults would pick is passed explicitly.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{
    BatchConfig, BatchSpanProcessor, SdkTracer, SdkTracerProvider, SpanExporter,
};

/// Name of the processor's export thread (as `comm` shows it, 15 bytes).
pub const BSP_THREAD: &str = "OpenTelemetry.T";
/// reqwest's blocking client runs its own runtime thread; its CPU is part of
/// the peer's export cost.
pub const REQWEST_THREAD: &str = "reqwest-interna";

pub struct Peer {
    pub provider: SdkTracerProvider,
    pub tracer: SdkTracer,
}

impl Peer {
    /// The processor with `config` (or the SDK's defaults) around `exporter`.
    pub fn with_exporter<E: SpanExporter + 'static>(
        exporter: E,
        config: Option<BatchConfig>,
    ) -> Peer {
        let mut b = BatchSpanProcessor::builder(exporter);
        if let Some(c) = config {
            b = b.with_batch_config(c);
        }
        let provider = SdkTracerProvider::builder()
            .with_span_processor(b.build())
            .with_resource(Resource::builder_empty().with_service_name("bench").build())
            .build();
        let tracer = provider.tracer("bench");
        Peer { provider, tracer }
    }

    /// OTLP/HTTP protobuf to `traces_url` with the crate's default settings.
    pub fn otlp_http(traces_url: &str, config: Option<BatchConfig>) -> Peer {
        let exporter = otlp_exporter(traces_url);
        Self::with_exporter(exporter, config)
    }

    pub fn shutdown(&self, timeout: Duration) {
        let _ = self.provider.shutdown_with_timeout(timeout);
    }
}

pub fn otlp_exporter(traces_url: &str) -> opentelemetry_otlp::SpanExporter {
    // reqwest is built without a TLS provider in this workspace; core
    // installs ring's the same way before building its own client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // The crate's default: blocking reqwest, 10 s timeout (OTEL default).
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("blocking reqwest client");
    opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(traces_url)
        .with_http_client(client)
        .build()
        .expect("otlp exporter")
}
