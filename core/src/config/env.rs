//! Every environment variable tokentrace reads, with its default, and the
//! parsing rules of the OpenTelemetry specification: empty means unset, an
//! invalid value is one warning and the default (never an error: a bad
//! deployment variable must not take the application down).

use std::collections::HashMap;
use std::time::Duration;

pub const OTEL_SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
pub const OTEL_RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
pub const OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
pub const OTEL_EXPORTER_OTLP_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
pub const OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
pub const OTEL_EXPORTER_OTLP_HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
pub const OTEL_EXPORTER_OTLP_TRACES_HEADERS: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
pub const OTEL_EXPORTER_OTLP_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
pub const OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
pub const OTEL_EXPORTER_OTLP_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
pub const OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
pub const OTEL_BSP_SCHEDULE_DELAY: &str = "OTEL_BSP_SCHEDULE_DELAY";
pub const OTEL_BSP_MAX_QUEUE_SIZE: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
pub const OTEL_BSP_MAX_EXPORT_BATCH_SIZE: &str = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";
pub const OTEL_BSP_EXPORT_TIMEOUT: &str = "OTEL_BSP_EXPORT_TIMEOUT";
pub const OTEL_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_ATTRIBUTE_COUNT_LIMIT";
pub const OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT";
pub const OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: &str = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT";
pub const OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: &str = "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT";
pub const OTEL_SPAN_EVENT_COUNT_LIMIT: &str = "OTEL_SPAN_EVENT_COUNT_LIMIT";
pub const OTEL_TRACES_SAMPLER: &str = "OTEL_TRACES_SAMPLER";
pub const OTEL_TRACES_SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
pub const TOKENTRACE_EXPORTER: &str = "TOKENTRACE_EXPORTER";
pub const TOKENTRACE_DIR: &str = "TOKENTRACE_DIR";
pub const TOKENTRACE_MAX_QUEUE_BYTES: &str = "TOKENTRACE_MAX_QUEUE_BYTES";
pub const TOKENTRACE_MAX_BATCH_BYTES: &str = "TOKENTRACE_MAX_BATCH_BYTES";
pub const TOKENTRACE_RETRY_MAX_ELAPSED: &str = "TOKENTRACE_RETRY_MAX_ELAPSED";
pub const TOKENTRACE_CAPTURE_CONTENT: &str = "TOKENTRACE_CAPTURE_CONTENT";
pub const OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: &str =
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";
pub const TOKENTRACE_PRICES: &str = "TOKENTRACE_PRICES";
pub const OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
pub const OTEL_METRICS_EXPORTER: &str = "OTEL_METRICS_EXPORTER";
pub const OTEL_METRIC_EXPORT_INTERVAL: &str = "OTEL_METRIC_EXPORT_INTERVAL";
pub const TOKENTRACE_METRICS: &str = "TOKENTRACE_METRICS";
pub const TOKENTRACE_SEMCONV: &str = "TOKENTRACE_SEMCONV";
pub const TOKENTRACE_REDACT: &str = "TOKENTRACE_REDACT";
pub const TOKENTRACE_REDACT_PRIVATE_IPS: &str = "TOKENTRACE_REDACT_PRIVATE_IPS";
pub const TOKENTRACE_MAX_TEXT_BYTES: &str = "TOKENTRACE_MAX_TEXT_BYTES";
pub const TOKENTRACE_TAIL_SAMPLING: &str = "TOKENTRACE_TAIL_SAMPLING";
pub const TOKENTRACE_TAIL_KEEP_RATIO: &str = "TOKENTRACE_TAIL_KEEP_RATIO";
pub const TOKENTRACE_STORE_MAX_FILE_BYTES: &str = "TOKENTRACE_STORE_MAX_FILE_BYTES";
pub const TOKENTRACE_STORE_MAX_TOTAL_BYTES: &str = "TOKENTRACE_STORE_MAX_TOTAL_BYTES";

pub const SERVICE_NAME_DEFAULT: &str = "unknown_service";
pub const OTLP_HTTP_ENDPOINT_DEFAULT: &str = "http://localhost:4318";
pub const OTLP_GRPC_ENDPOINT_DEFAULT: &str = "http://localhost:4317";
pub const OTLP_TIMEOUT_DEFAULT: Duration = Duration::from_millis(10_000);
pub const BSP_SCHEDULE_DELAY_DEFAULT: Duration = Duration::from_millis(1_000);
/// Far larger than the OTel default (2048): LLM apps burst, and peers that
/// kept 2048 drop spans under load. The queue allocates only as it fills, and
/// memory is bounded by the byte budget as well (`host_memory`).
pub const BSP_MAX_QUEUE_SIZE_DEFAULT: usize = 262_144;
pub const BSP_MAX_EXPORT_BATCH_SIZE_DEFAULT: usize = 512;
pub const BSP_EXPORT_TIMEOUT_DEFAULT: Duration = Duration::from_millis(30_000);
/// Below the 4 MiB default receive limit of gRPC servers and the Collector.
pub const MAX_BATCH_BYTES_DEFAULT: usize = 3 * 1024 * 1024;
pub const RETRY_MAX_ELAPSED_DEFAULT: Duration = Duration::from_secs(60);
pub const ATTRIBUTE_COUNT_LIMIT_DEFAULT: usize = 128;
/// OTel has no default; unbounded values would let one attribute hold the
/// queue hostage, so free attributes are capped (content parts have their own
/// truncation in the redaction stage).
pub const ATTRIBUTE_VALUE_LENGTH_LIMIT_DEFAULT: usize = 64 * 1024;
pub const EVENT_COUNT_LIMIT_DEFAULT: usize = 128;
pub const DIR_DEFAULT: &str = ".tokentrace";
pub const METRIC_EXPORT_INTERVAL_DEFAULT: Duration = Duration::from_millis(60_000);
pub const STORE_MAX_FILE_BYTES_DEFAULT: u64 = 16 * 1024 * 1024;
pub const STORE_MAX_TOTAL_BYTES_DEFAULT: u64 = 256 * 1024 * 1024;

/// A snapshot of the environment. Tests inject one instead of mutating the
/// process environment.
#[derive(Debug, Clone, Default)]
pub struct EnvSnapshot {
    vars: HashMap<String, String>,
}

impl EnvSnapshot {
    pub fn from_process() -> Self {
        EnvSnapshot {
            vars: std::env::vars()
                .filter(|(k, _)| k.starts_with("OTEL_") || k.starts_with("TOKENTRACE_"))
                .collect(),
        }
    }

    pub fn empty() -> Self {
        Self::default()
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        EnvSnapshot {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value, or `None` when unset or empty (empty means unset, per spec).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The signal-specific variable if set, else the generic one.
    pub fn get_either(
        &self,
        specific: &'static str,
        generic: &'static str,
    ) -> Option<(&'static str, &str)> {
        self.get(specific)
            .map(|v| (specific, v))
            .or_else(|| self.get(generic).map(|v| (generic, v)))
    }
}

/// Parses an env value with `parse`; on failure warns once and returns None
/// so the caller falls back to the default.
pub(crate) fn parse_or_warn<T>(
    key: &str,
    value: &str,
    warnings: &mut Vec<String>,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<T> {
    match parse(value) {
        Ok(v) => Some(v),
        Err(reason) => {
            let msg = format!("ignoring {key}={value:?}: {reason}; using the default");
            crate::diag::warn_once(&format!("Config.InvalidEnv:{key}"), &msg);
            warnings.push(msg);
            None
        }
    }
}

/// OTel booleans: case-insensitive `true`/`false` (other values warn).
pub(crate) fn parse_bool(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

pub(crate) fn parse_positive_usize(v: &str) -> Result<usize, String> {
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("expected a positive integer".into()),
    }
}

pub(crate) fn parse_millis(v: &str) -> Result<Duration, String> {
    match v.parse::<u64>() {
        Ok(n) if n > 0 => Ok(Duration::from_millis(n)),
        _ => Err("expected a positive number of milliseconds".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_unset_and_specific_wins() {
        let env = EnvSnapshot::from_pairs([
            (OTEL_EXPORTER_OTLP_HEADERS, "a=1"),
            (OTEL_EXPORTER_OTLP_TRACES_HEADERS, "b=2"),
            (OTEL_SERVICE_NAME, "  "),
        ]);
        assert_eq!(env.get(OTEL_SERVICE_NAME), None);
        assert_eq!(
            env.get_either(
                OTEL_EXPORTER_OTLP_TRACES_HEADERS,
                OTEL_EXPORTER_OTLP_HEADERS
            ),
            Some((OTEL_EXPORTER_OTLP_TRACES_HEADERS, "b=2"))
        );
    }

    #[test]
    fn parsers() {
        assert_eq!(parse_bool("TRUE"), Ok(true));
        assert!(parse_bool("yes").is_err());
        assert!(parse_positive_usize("0").is_err());
        assert_eq!(parse_millis("250"), Ok(Duration::from_millis(250)));
    }
}
