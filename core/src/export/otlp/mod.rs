//! OTLP exporters: HTTP (protobuf or JSON) with reqwest, gRPC with tonic.

pub mod grpc;
pub mod http;

use std::sync::Arc;

use crate::config::{OtlpConfig, Protocol};

use super::SpanExporter;

/// `User-Agent` sent with every export.
pub const USER_AGENT: &str = concat!(
    "OTel-OTLP-Exporter-Rust tokentrace/",
    env!("CARGO_PKG_VERSION")
);

/// Builds the exporter for `cfg`. Must run inside the worker's tokio runtime
/// (gRPC channels and HTTP clients bind to it); it is rebuilt after a fork.
pub fn build(cfg: &OtlpConfig) -> Result<Arc<dyn SpanExporter>, String> {
    Ok(match cfg.protocol {
        Protocol::Grpc => Arc::new(grpc::GrpcExporter::new(cfg)?),
        Protocol::HttpProtobuf | Protocol::HttpJson => Arc::new(http::HttpExporter::new(cfg)?),
    })
}

/// rustls needs a process-wide crypto provider; install ring's unless the
/// host application already installed one.
pub(crate) fn ensure_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
