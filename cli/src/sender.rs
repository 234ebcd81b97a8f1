//! Sending stored export requests to an OTLP collector, for `replay`.
//!
//! A small trait so the transport can later be core's exporter; the implementations here
//! use the same wire libraries (reqwest for OTLP/HTTP, tonic for OTLP/gRPC), each driven by
//! a current-thread tokio runtime, since replay sends one request at a time.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use tokio::runtime::Runtime;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::Channel;

/// What the collector said about an accepted request.
#[derive(Debug, Default, PartialEq)]
pub struct Accepted {
    /// Spans the collector accepted the request but dropped (OTLP partial success).
    pub rejected_spans: i64,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("invalid endpoint {endpoint:?}: {reason}")]
    Endpoint { endpoint: String, reason: String },
    #[error("invalid header {0:?}: expected name=value with a valid HTTP header name and value")]
    Header(String),
    #[error("HTTP {status}: {body}")]
    Http { status: u16, body: String },
    #[error("gRPC {code}: {message}")]
    Grpc { code: String, message: String },
    #[error("{0}")]
    Transport(String),
}

pub trait Sender {
    fn send(&self, request: &ExportTraceServiceRequest) -> Result<Accepted, SendError>;
}

/// The protocols of `OTEL_EXPORTER_OTLP_PROTOCOL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    #[value(name = "http/protobuf")]
    HttpProtobuf,
    #[value(name = "http/json")]
    HttpJson,
    #[value(name = "grpc")]
    Grpc,
}

/// Parses a `--header name=value` argument.
pub fn parse_header(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            let name = name.trim().to_ascii_lowercase();
            let value = value.trim().to_string();
            if HeaderName::from_bytes(name.as_bytes()).is_err()
                || HeaderValue::from_str(&value).is_err()
            {
                return Err(SendError::Header(s.to_string()).to_string());
            }
            Ok((name, value))
        }
        _ => Err(SendError::Header(s.to_string()).to_string()),
    }
}

pub fn connect(
    protocol: Protocol,
    endpoint: &str,
    headers: &[(String, String)],
    timeout: Duration,
) -> Result<Box<dyn Sender>, SendError> {
    Ok(match protocol {
        Protocol::HttpProtobuf => Box::new(HttpSender::new(endpoint, headers, timeout, false)?),
        Protocol::HttpJson => Box::new(HttpSender::new(endpoint, headers, timeout, true)?),
        Protocol::Grpc => Box::new(GrpcSender::new(endpoint, headers, timeout)?),
    })
}

fn runtime() -> Result<Runtime, SendError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SendError::Transport(format!("cannot start the I/O runtime: {e}")))
}

fn bad_endpoint(endpoint: &str, reason: impl ToString) -> SendError {
    SendError::Endpoint {
        endpoint: endpoint.to_string(),
        reason: reason.to_string(),
    }
}

/// OTLP/HTTP: POST to `<endpoint>/v1/traces` (the path is added when the URL has none, as
/// for `OTEL_EXPORTER_OTLP_ENDPOINT`).
pub struct HttpSender {
    runtime: Runtime,
    client: reqwest::Client,
    url: reqwest::Url,
    json: bool,
}

impl HttpSender {
    pub fn new(
        endpoint: &str,
        headers: &[(String, String)],
        timeout: Duration,
        json: bool,
    ) -> Result<HttpSender, SendError> {
        let mut url = reqwest::Url::parse(endpoint).map_err(|e| bad_endpoint(endpoint, e))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad_endpoint(
                endpoint,
                "expected an http:// or https:// URL",
            ));
        }
        if url.path().is_empty() || url.path() == "/" {
            url.set_path("/v1/traces");
        }
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let header = || SendError::Header(format!("{name}={value}"));
            map.insert(
                HeaderName::from_bytes(name.as_bytes()).map_err(|_| header())?,
                HeaderValue::from_str(value).map_err(|_| header())?,
            );
        }
        // reqwest is built without a bundled crypto provider; https needs one installed.
        // An error only means another one is already installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .default_headers(map)
            .build()
            .map_err(|e| SendError::Transport(format!("cannot build the HTTP client: {e}")))?;
        Ok(HttpSender {
            runtime: runtime()?,
            client,
            url,
            json,
        })
    }
}

impl Sender for HttpSender {
    fn send(&self, request: &ExportTraceServiceRequest) -> Result<Accepted, SendError> {
        let (content_type, body) = if self.json {
            let body = serde_json::to_vec(request)
                .map_err(|e| SendError::Transport(format!("cannot encode OTLP-JSON: {e}")))?;
            ("application/json", body)
        } else {
            ("application/x-protobuf", request.encode_to_vec())
        };
        self.runtime.block_on(async {
            let response = self
                .client
                .post(self.url.clone())
                .header(CONTENT_TYPE, content_type)
                .body(body)
                .send()
                .await
                .map_err(|e| SendError::Transport(error_chain(&e)))?;
            let status = response.status();
            let bytes = response
                .bytes()
                .await
                .map_err(|e| SendError::Transport(error_chain(&e)))?;
            if !status.is_success() {
                let body = String::from_utf8_lossy(&bytes);
                let body: String = body.chars().take(300).collect();
                return Err(SendError::Http {
                    status: status.as_u16(),
                    body: body.trim().to_string(),
                });
            }
            let response: ExportTraceServiceResponse = if bytes.is_empty() {
                ExportTraceServiceResponse::default()
            } else if self.json {
                serde_json::from_slice(&bytes).unwrap_or_default()
            } else {
                ExportTraceServiceResponse::decode(bytes).unwrap_or_default()
            };
            Ok(accepted(response))
        })
    }
}

/// OTLP/gRPC over plain HTTP/2 (this build has no TLS for gRPC).
pub struct GrpcSender {
    runtime: Runtime,
    client: TraceServiceClient<Channel>,
    metadata: MetadataMap,
}

impl GrpcSender {
    pub fn new(
        endpoint: &str,
        headers: &[(String, String)],
        timeout: Duration,
    ) -> Result<GrpcSender, SendError> {
        if endpoint.starts_with("https://") {
            return Err(bad_endpoint(
                endpoint,
                "gRPC over TLS is not supported by replay; use --protocol http/protobuf",
            ));
        }
        if !endpoint.starts_with("http://") {
            return Err(bad_endpoint(endpoint, "expected an http:// URL"));
        }
        let mut metadata = MetadataMap::new();
        for (name, value) in headers {
            let header = || SendError::Header(format!("{name}={value}"));
            let key = MetadataKey::from_bytes(name.as_bytes()).map_err(|_| header())?;
            let value: MetadataValue<_> = value.parse().map_err(|_| header())?;
            metadata.insert(key, value);
        }
        let runtime = runtime()?;
        let channel = Channel::from_shared(endpoint.to_string())
            .map_err(|e| bad_endpoint(endpoint, e))?
            .timeout(timeout)
            .connect_timeout(timeout);
        let channel = runtime.block_on(channel.connect()).map_err(|e| {
            SendError::Transport(format!("cannot connect to {endpoint}: {}", error_chain(&e)))
        })?;
        Ok(GrpcSender {
            runtime,
            client: TraceServiceClient::new(channel),
            metadata,
        })
    }
}

impl Sender for GrpcSender {
    fn send(&self, request: &ExportTraceServiceRequest) -> Result<Accepted, SendError> {
        let mut grpc_request = tonic::Request::new(request.clone());
        *grpc_request.metadata_mut() = self.metadata.clone();
        // The generated client needs `&mut`; clones share one connection.
        let mut client = self.client.clone();
        self.runtime.block_on(async {
            match client.export(grpc_request).await {
                Ok(response) => Ok(accepted(response.into_inner())),
                Err(status) => Err(SendError::Grpc {
                    code: format!("{:?}", status.code()),
                    message: status.message().to_string(),
                }),
            }
        })
    }
}

fn accepted(response: ExportTraceServiceResponse) -> Accepted {
    response
        .partial_success
        .map(|p| Accepted {
            rejected_spans: p.rejected_spans,
            message: p.error_message,
        })
        .unwrap_or_default()
}

/// An error with its causes: reqwest's top-level message alone ("error sending request")
/// hides the useful part ("connection refused").
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
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

    #[test]
    fn headers_are_name_equals_value() {
        assert_eq!(
            parse_header("Authorization=Bearer abc=="),
            Ok(("authorization".into(), "Bearer abc==".into()))
        );
        assert!(parse_header("no-equals").is_err());
        assert!(parse_header("=value").is_err());
        assert!(parse_header("bad name=v").is_err());
        assert!(parse_header("x=line\nbreak").is_err());
    }

    #[test]
    fn http_endpoint_gets_the_traces_path_only_when_it_has_none() {
        let s =
            HttpSender::new("http://127.0.0.1:4318", &[], Duration::from_secs(1), false).unwrap();
        assert_eq!(s.url.as_str(), "http://127.0.0.1:4318/v1/traces");
        let s =
            HttpSender::new("http://h:1/custom/path", &[], Duration::from_secs(1), false).unwrap();
        assert_eq!(s.url.path(), "/custom/path");
        assert!(matches!(
            HttpSender::new("localhost:4318", &[], Duration::from_secs(1), false),
            Err(SendError::Endpoint { .. })
        ));
        assert!(matches!(
            GrpcSender::new("https://collector:4317", &[], Duration::from_secs(1)),
            Err(SendError::Endpoint { .. })
        ));
    }
}
