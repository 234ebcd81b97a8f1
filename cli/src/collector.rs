//! Sending stored export requests to an OTLP collector, for `replay`, through core's OTLP
//! exporter: the same transports, headers, retries (backoff, `Retry-After`, never 400) and
//! partial-success handling as the SDK, and the same validation of the settings.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use tokentrace_core::config::env::EnvSnapshot;
use tokentrace_core::config::{OtlpConfig, Protocol};
use tokentrace_core::export::{ExportBatch, ExportContext, ExportResult, SpanExporter};
use tokentrace_core::{ConfigError, ExporterKind};
use tokio::runtime::Runtime;

use crate::CliError;

/// What `replay` was told about the collector, as given on the command line.
#[derive(Debug)]
pub struct Settings<'a> {
    pub endpoint: &'a str,
    pub protocol: Protocol,
    pub headers: &'a [(String, String)],
    /// For each stored request, retries included.
    pub timeout: Duration,
}

/// Core's exporter for one collector, and the runtime that drives it one request at a time.
pub struct Collector {
    runtime: Runtime,
    exporter: Arc<dyn SpanExporter>,
    timeout: Duration,
}

impl Collector {
    pub fn connect(settings: &Settings) -> Result<Collector, CliError> {
        let config = otlp_config(settings).map_err(|e| CliError::Usage(flag_error(&e)))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::Failed(format!("cannot start the I/O runtime: {e}")))?;
        // The gRPC channel spawns its connection task at construction: it needs the runtime.
        let exporter = {
            let _entered = runtime.enter();
            tokentrace_core::export::otlp::build(&config)
        }
        .map_err(|e| CliError::Failed(format!("cannot set up the OTLP exporter: {e}")))?;
        Ok(Collector {
            runtime,
            exporter,
            timeout: settings.timeout,
        })
    }

    /// Sends one request, retrying as the exporter does until the timeout runs out.
    pub fn send(&self, request: &ExportTraceServiceRequest) -> ExportResult {
        let batch = match ExportBatch::from_request(request, self.exporter.encodings()) {
            Ok(batch) => batch,
            Err(e) => return ExportResult::failed(format!("cannot encode OTLP-JSON: {e}"), 0),
        };
        let ctx = ExportContext {
            deadline: tokio::time::Instant::now() + self.timeout,
        };
        self.runtime.block_on(self.exporter.export(&batch, ctx))
    }
}

/// The exporter settings, validated by core's configuration as the SDK validates its own
/// (and not read from the environment: replay does what its flags say). As before, an
/// endpoint without a path gets OTLP/HTTP's `/v1/traces`; one with a path is used as is.
fn otlp_config(settings: &Settings) -> Result<OtlpConfig, ConfigError> {
    let builder = tokentrace_core::Config::builder()
        .with_env(EnvSnapshot::empty())
        .with_exporters([ExporterKind::Otlp])
        .with_protocol(settings.protocol.as_str())
        .with_headers(settings.headers.iter().cloned())
        .with_timeout(settings.timeout);
    let builder = if has_path(settings.endpoint) {
        builder.with_traces_endpoint(settings.endpoint)
    } else {
        builder.with_endpoint(settings.endpoint)
    };
    let config = builder.build()?;
    config
        .otlp
        .ok_or_else(|| ConfigError::new("endpoint", settings.endpoint, "no OTLP exporter"))
}

/// Whether `endpoint` names a path beyond `/`. Unparsable URLs count as base URLs, so core
/// reports them against `--endpoint`.
fn has_path(endpoint: &str) -> bool {
    url::Url::parse(endpoint.trim()).is_ok_and(|u| !matches!(u.path(), "" | "/"))
}

/// Core's error, named after the flag that carried the value.
fn flag_error(e: &ConfigError) -> String {
    let flag = match e.field {
        "endpoint" | "traces_endpoint" => "endpoint",
        "headers" => "header",
        other => other,
    };
    format!("invalid --{flag} {:?}: {}", e.value, e.reason)
}

/// Parses a `--header name=value` argument; core validates the name and value.
pub fn parse_header(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_ascii_lowercase(), value.trim().to_string()))
        }
        _ => Err(format!("{s:?}: expected name=value")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings<'a>(endpoint: &'a str, headers: &'a [(String, String)]) -> Settings<'a> {
        Settings {
            endpoint,
            protocol: Protocol::HttpProtobuf,
            headers,
            timeout: Duration::from_secs(3),
        }
    }

    #[test]
    fn headers_are_name_equals_value() {
        assert_eq!(
            parse_header("Authorization=Bearer abc=="),
            Ok(("authorization".into(), "Bearer abc==".into()))
        );
        assert!(parse_header("no-equals").is_err());
        assert!(parse_header("=value").is_err());
    }

    #[test]
    fn http_endpoint_gets_the_traces_path_only_when_it_has_none() {
        let config = otlp_config(&settings("http://127.0.0.1:4318", &[])).unwrap();
        assert_eq!(config.endpoint, "http://127.0.0.1:4318/v1/traces");
        assert_eq!(config.timeout, Duration::from_secs(3));
        let config = otlp_config(&settings("http://h:1/custom/path", &[])).unwrap();
        assert_eq!(config.endpoint, "http://h:1/custom/path");
    }

    #[test]
    fn core_rejects_bad_values_under_the_flag_name() {
        let e = otlp_config(&settings("localhost:4318", &[])).unwrap_err();
        assert!(flag_error(&e).starts_with("invalid --endpoint \"localhost:4318\": "));
        let bad = [("bad name".to_string(), "v".to_string())];
        let e = otlp_config(&settings("http://h:1", &bad)).unwrap_err();
        assert!(flag_error(&e).starts_with("invalid --header \"bad name=v\": "));
        let bad = [("x".to_string(), "line\nbreak".to_string())];
        assert!(otlp_config(&settings("http://h:1", &bad)).is_err());
    }
}
