//! OTLP exporters: HTTP (protobuf or JSON) with hyper or reqwest, gRPC with tonic.

pub mod grpc;
pub mod http;
mod transport;

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

/// What a successful answer's `partial_success` says.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Partial {
    pub rejected: u64,
    /// `None` when the receiver gave no explanation.
    pub message: Option<String>,
}

impl Partial {
    /// From the wire fields (a negative count is a broken receiver: nothing rejected).
    pub fn new(rejected: i64, message: String) -> Partial {
        Partial {
            rejected: rejected.max(0) as u64,
            message: (!message.is_empty()).then_some(message),
        }
    }
}

/// An error with its causes: reqwest's own message ("error sending request
/// for url ...") hides the part that says what went wrong ("connection refused").
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("error sending request")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn error_chain_names_the_cause_once() {
        let err = Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused",
        ));
        assert_eq!(
            error_chain(&err),
            "error sending request: connection refused"
        );
    }

    #[test]
    fn partial_success_without_a_message_has_none() {
        assert_eq!(
            Partial::new(2, "too old".into()),
            Partial {
                rejected: 2,
                message: Some("too old".into())
            }
        );
        assert_eq!(Partial::new(-1, String::new()), Partial::default());
    }
}
