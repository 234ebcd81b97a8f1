//! Configuration: built from code with `with_*` setters, then completed from the
//! environment, then defaults. Precedence per setting: code, `TOKENTRACE_*`,
//! signal-specific `OTEL_*_TRACES_*`, generic `OTEL_*`, default.
//!
//! Invalid values given in code make `build()` fail with a [`ConfigError`]
//! naming the field and what is accepted; invalid values in the environment
//! produce one warning each and the default.

pub mod env;
pub mod host_memory;
mod parse;

use std::path::PathBuf;
use std::time::Duration;

use crate::error::ConfigError;
use crate::sample::Sampler;
use env::*;
pub use parse::{parse_endpoint, parse_headers, parse_resource_attributes};

/// OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    HttpProtobuf,
    HttpJson,
}

impl Protocol {
    pub const ACCEPTED: &'static str = "grpc, http/protobuf, http/json";

    pub fn parse(s: &str) -> Result<Protocol, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "grpc" => Ok(Protocol::Grpc),
            "http/protobuf" | "http" => Ok(Protocol::HttpProtobuf),
            "http/json" => Ok(Protocol::HttpJson),
            _ => Err(format!("expected one of {}", Protocol::ACCEPTED)),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
            Protocol::HttpJson => "http/json",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    None,
    Gzip,
}

impl Compression {
    pub fn parse(s: &str) -> Result<Compression, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "gzip" => Ok(Compression::Gzip),
            "none" => Ok(Compression::None),
            _ => Err("expected gzip or none".into()),
        }
    }
}

/// Where spans go. Several may be active at once (e.g. local store and OTLP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExporterKind {
    Otlp,
    /// The local store (OTLP-JSON lines under `TOKENTRACE_DIR`).
    File,
    Console,
    Memory,
}

impl ExporterKind {
    pub const ACCEPTED: &'static str = "otlp, file, console, memory, none (comma-separated)";

    /// Parses a comma-separated list; `none` alone means no exporter.
    pub fn parse_list(s: &str) -> Result<Vec<ExporterKind>, String> {
        let mut out = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let k = match item.to_ascii_lowercase().as_str() {
                "otlp" => ExporterKind::Otlp,
                "file" | "local" | "store" => ExporterKind::File,
                "console" => ExporterKind::Console,
                "memory" => ExporterKind::Memory,
                "none" => continue,
                _ => {
                    return Err(format!(
                        "unknown exporter {item:?}; expected {}",
                        Self::ACCEPTED
                    ));
                }
            };
            if !out.contains(&k) {
                out.push(k);
            }
        }
        Ok(out)
    }
}

/// Resolved OTLP settings.
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpConfig {
    /// For HTTP: the full traces URL (`.../v1/traces`). For gRPC: the base URL.
    pub endpoint: String,
    /// For HTTP: the full metrics URL (`.../v1/metrics`). For gRPC: the base URL.
    pub metrics_endpoint: String,
    pub protocol: Protocol,
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    pub compression: Compression,
}

/// Batching and queue bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchConfig {
    pub schedule_delay: Duration,
    pub max_queue_size: usize,
    pub max_queue_bytes: usize,
    pub max_export_batch_size: usize,
    pub max_batch_bytes: usize,
    pub export_timeout: Duration,
    /// How long one batch is retried (with backoff) before it is given up.
    pub retry_max_elapsed: Duration,
}

/// Attribute limits (`OTEL_ATTRIBUTE_*_LIMIT`); what they drop is counted.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub attribute_count: usize,
    pub attribute_value_length: usize,
    pub event_count: usize,
}

/// The local store.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    pub dir: PathBuf,
    pub max_file_bytes: u64,
    pub max_total_bytes: u64,
}

/// Resource attributes (who is sending).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceConfig {
    pub service_name: String,
    pub service_version: Option<String>,
    pub environment: Option<String>,
    /// Everything else from `OTEL_RESOURCE_ATTRIBUTES` and code.
    pub attributes: Vec<(String, String)>,
}

/// Price overrides loaded from code or `TOKENTRACE_PRICES`; compared by identity.
#[derive(Debug, Clone)]
pub struct PriceOverrides(pub std::sync::Arc<crate::cost::PriceTable>);

impl PartialEq for PriceOverrides {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

/// The compiled redactor (built and validated once); compared by identity.
#[derive(Debug, Clone)]
pub struct RedactorHandle(pub std::sync::Arc<crate::redact::Redactor>);

impl PartialEq for RedactorHandle {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

/// A complete, validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `OTEL_SDK_DISABLED=true`: nothing is recorded or exported.
    pub disabled: bool,
    pub resource: ResourceConfig,
    pub exporters: Vec<ExporterKind>,
    pub otlp: Option<OtlpConfig>,
    pub store: StoreConfig,
    pub batch: BatchConfig,
    pub limits: Limits,
    pub sampler: Sampler,
    /// Capture prompt and completion text (on by default, with redaction).
    pub capture_content: bool,
    /// Tail sampling (opt-in).
    pub tail: Option<crate::sample::TailConfig>,
    /// Quality-signal thresholds.
    pub signals: crate::signals::SignalConfig,
    /// Prices added to / overriding the built-in table.
    pub price_overrides: Option<PriceOverrides>,
    /// GenAI client metrics over OTLP (`OTEL_METRICS_EXPORTER=none` turns them off).
    pub metrics: bool,
    /// Attribute conventions (`TOKENTRACE_SEMCONV`).
    pub semconv: crate::semconv::SemconvMode,
    /// PII and secret redaction applied before any exporter sees a span
    /// (`None` only when turned off explicitly).
    pub redactor: Option<RedactorHandle>,
    /// How often metrics are exported (`OTEL_METRIC_EXPORT_INTERVAL`).
    pub metric_export_interval: Duration,
    /// Warnings about ignored environment values, for bindings to surface.
    pub warnings: Vec<String>,
}

impl Config {
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Everything from the process environment and defaults.
    pub fn from_env() -> Config {
        // Nothing is set in code, so nothing can fail; should it ever, the
        // defaults are still a working configuration.
        ConfigBuilder::default()
            .build()
            .unwrap_or_else(|_| default_config())
    }
}

/// Builds a [`Config`]. Every setter names the environment variable it overrides.
#[derive(Debug, Clone, Default)]
pub struct ConfigBuilder {
    env: Option<EnvSnapshot>,
    disabled: Option<bool>,
    service_name: Option<String>,
    service_version: Option<String>,
    environment: Option<String>,
    resource_attributes: Vec<(String, String)>,
    exporters: Option<Vec<ExporterKind>>,
    exporters_str: Option<String>,
    endpoint: Option<String>,
    traces_endpoint: Option<String>,
    protocol: Option<String>,
    headers: Option<Vec<(String, String)>>,
    headers_str: Option<String>,
    timeout: Option<Duration>,
    compression: Option<String>,
    dir: Option<PathBuf>,
    store_max_file_bytes: Option<u64>,
    store_max_total_bytes: Option<u64>,
    schedule_delay: Option<Duration>,
    max_queue_size: Option<usize>,
    max_queue_bytes: Option<usize>,
    max_export_batch_size: Option<usize>,
    max_batch_bytes: Option<usize>,
    export_timeout: Option<Duration>,
    retry_max_elapsed: Option<Duration>,
    attribute_count_limit: Option<usize>,
    attribute_value_length_limit: Option<usize>,
    event_count_limit: Option<usize>,
    sampler: Option<(String, Option<String>)>,
    sampler_value: Option<Sampler>,
    capture_content: Option<bool>,
    tail: Option<crate::sample::TailConfig>,
    signals: Option<crate::signals::SignalConfig>,
    prices_file: Option<PathBuf>,
    price_overrides: Option<crate::cost::PriceTable>,
    metrics: Option<bool>,
    metric_export_interval: Option<Duration>,
    semconv: Option<String>,
    redaction: Option<Option<crate::redact::RedactConfig>>,
    redaction_enabled: Option<bool>,
    tail_sampling_enabled: Option<bool>,
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident, $field:ident, $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, v: impl Into<$ty>) -> Self {
            self.$field = Some(v.into());
            self
        }
    };
}

impl ConfigBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads this snapshot instead of the process environment (tests).
    pub fn with_env(mut self, env: EnvSnapshot) -> Self {
        self.env = Some(env);
        self
    }

    setter!(/// `OTEL_SDK_DISABLED`
        with_disabled, disabled, bool);
    setter!(/// `OTEL_SERVICE_NAME`
        with_service_name, service_name, String);
    setter!(/// `service.version`
        with_service_version, service_version, String);
    setter!(/// `deployment.environment.name` (also from `OTEL_RESOURCE_ATTRIBUTES`)
        with_environment, environment, String);
    setter!(/// Base OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`); HTTP appends `/v1/traces`.
        with_endpoint, endpoint, String);
    setter!(/// Full traces URL used as is (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
        with_traces_endpoint, traces_endpoint, String);
    setter!(/// `grpc`, `http/protobuf` or `http/json` (`OTEL_EXPORTER_OTLP_PROTOCOL`).
        with_protocol, protocol, String);
    setter!(/// Headers as `k=v,k2=v2` (`OTEL_EXPORTER_OTLP_HEADERS`).
        with_headers_str, headers_str, String);
    setter!(/// Per-export timeout (`OTEL_EXPORTER_OTLP_TIMEOUT`).
        with_timeout, timeout, Duration);
    setter!(/// `gzip` or `none` (`OTEL_EXPORTER_OTLP_COMPRESSION`).
        with_compression, compression, String);
    setter!(/// Local store directory (`TOKENTRACE_DIR`).
        with_dir, dir, PathBuf);
    setter!(/// `TOKENTRACE_STORE_MAX_FILE_BYTES`
        with_store_max_file_bytes, store_max_file_bytes, u64);
    setter!(/// `TOKENTRACE_STORE_MAX_TOTAL_BYTES`
        with_store_max_total_bytes, store_max_total_bytes, u64);
    setter!(/// `OTEL_BSP_SCHEDULE_DELAY`
        with_schedule_delay, schedule_delay, Duration);
    setter!(/// `OTEL_BSP_MAX_QUEUE_SIZE`
        with_max_queue_size, max_queue_size, usize);
    setter!(/// `TOKENTRACE_MAX_QUEUE_BYTES`
        with_max_queue_bytes, max_queue_bytes, usize);
    setter!(/// `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`
        with_max_export_batch_size, max_export_batch_size, usize);
    setter!(/// `TOKENTRACE_MAX_BATCH_BYTES`
        with_max_batch_bytes, max_batch_bytes, usize);
    setter!(/// `OTEL_BSP_EXPORT_TIMEOUT`
        with_export_timeout, export_timeout, Duration);
    setter!(/// `TOKENTRACE_RETRY_MAX_ELAPSED` (milliseconds in the environment)
        with_retry_max_elapsed, retry_max_elapsed, Duration);
    setter!(/// `OTEL_ATTRIBUTE_COUNT_LIMIT`
        with_attribute_count_limit, attribute_count_limit, usize);
    setter!(/// `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`
        with_attribute_value_length_limit, attribute_value_length_limit, usize);
    setter!(/// `OTEL_SPAN_EVENT_COUNT_LIMIT`
        with_event_count_limit, event_count_limit, usize);
    setter!(/// `TOKENTRACE_CAPTURE_CONTENT` / `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`
        with_capture_content, capture_content, bool);
    setter!(/// GenAI client metrics on/off (`OTEL_METRICS_EXPORTER=none`, `TOKENTRACE_METRICS`)
        with_metrics, metrics, bool);
    setter!(/// `OTEL_METRIC_EXPORT_INTERVAL`
        with_metric_export_interval, metric_export_interval, Duration);
    setter!(/// `genai`, `openinference` or `both` (`TOKENTRACE_SEMCONV`)
        with_semconv, semconv, String);

    /// Headers as pairs.
    pub fn with_headers<K: Into<String>, V: Into<String>>(
        mut self,
        headers: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.headers = Some(
            headers
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Exporters to use (`TOKENTRACE_EXPORTER`); an empty list exports nothing.
    pub fn with_exporters(mut self, kinds: impl IntoIterator<Item = ExporterKind>) -> Self {
        self.exporters = Some(kinds.into_iter().collect());
        self
    }

    /// Exporters as text, e.g. `"file,otlp"`, validated at `build()`.
    pub fn with_exporters_str(mut self, s: impl Into<String>) -> Self {
        self.exporters_str = Some(s.into());
        self
    }

    /// Adds a resource attribute.
    pub fn with_resource_attribute(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.resource_attributes.push((k.into(), v.into()));
        self
    }

    /// Sampler by name and argument (`OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`).
    pub fn with_sampler_str(mut self, name: impl Into<String>, arg: Option<String>) -> Self {
        self.sampler = Some((name.into(), arg));
        self
    }

    /// Tail sampling on or off, as `TOKENTRACE_TAIL_SAMPLING` would set it:
    /// on, its rules are the defaults refined by `TOKENTRACE_TAIL_KEEP_RATIO`.
    /// Rules given with [`Self::with_tail_sampling`] win over both.
    pub fn with_tail_sampling_enabled(mut self, on: bool) -> Self {
        self.tail_sampling_enabled = Some(on);
        self
    }

    /// Redaction on or off, as `TOKENTRACE_REDACT` would set it: on, its
    /// rules are the defaults refined by the other `TOKENTRACE_REDACT_*` /
    /// `TOKENTRACE_MAX_TEXT_BYTES` variables. Rules given with
    /// [`Self::with_redaction`] (or [`Self::without_redaction`]) win over both.
    pub fn with_redaction_enabled(mut self, on: bool) -> Self {
        self.redaction_enabled = Some(on);
        self
    }

    /// Turns tail sampling on with these rules (`TOKENTRACE_TAIL_SAMPLING=true`
    /// turns it on with the defaults).
    pub fn with_tail_sampling(mut self, cfg: crate::sample::TailConfig) -> Self {
        self.tail = Some(cfg);
        self
    }

    /// A JSON price file merged over the built-in table (`TOKENTRACE_PRICES`).
    pub fn with_prices_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.prices_file = Some(path.into());
        self
    }

    /// Prices merged over the built-in table (and over `with_prices_file`).
    pub fn with_price_overrides(mut self, table: crate::cost::PriceTable) -> Self {
        self.price_overrides = Some(table);
        self
    }

    /// Redaction rules (all built-in detectors are on by default).
    pub fn with_redaction(mut self, cfg: crate::redact::RedactConfig) -> Self {
        self.redaction = Some(Some(cfg));
        self
    }

    /// Turns redaction off (`TOKENTRACE_REDACT=false`). Secrets and PII then
    /// reach the backend as captured: only for data you know is clean.
    pub fn without_redaction(mut self) -> Self {
        self.redaction = Some(None);
        self
    }

    /// Quality-signal thresholds.
    pub fn with_signals(mut self, cfg: crate::signals::SignalConfig) -> Self {
        self.signals = Some(cfg);
        self
    }

    pub fn with_sampler(mut self, s: Sampler) -> Self {
        self.sampler_value = Some(s);
        self
    }

    /// Validates code values, fills the rest from the environment and defaults.
    pub fn build(self) -> Result<Config, ConfigError> {
        let env = self.env.clone().unwrap_or_else(EnvSnapshot::from_process);
        let mut warnings = Vec::new();
        let mut cfg = resolve(&self, &env, &mut warnings)?;
        cfg.warnings = warnings;
        Ok(cfg)
    }
}

/// The all-defaults configuration, built without parsing anything.
fn default_config() -> Config {
    Config {
        disabled: false,
        resource: ResourceConfig {
            service_name: SERVICE_NAME_DEFAULT.into(),
            service_version: None,
            environment: None,
            attributes: Vec::new(),
        },
        exporters: vec![ExporterKind::File],
        otlp: None,
        store: StoreConfig {
            dir: PathBuf::from(DIR_DEFAULT),
            max_file_bytes: STORE_MAX_FILE_BYTES_DEFAULT,
            max_total_bytes: STORE_MAX_TOTAL_BYTES_DEFAULT,
        },
        batch: BatchConfig {
            schedule_delay: BSP_SCHEDULE_DELAY_DEFAULT,
            max_queue_size: BSP_MAX_QUEUE_SIZE_DEFAULT,
            max_queue_bytes: host_memory::default_max_queue_bytes(),
            max_export_batch_size: BSP_MAX_EXPORT_BATCH_SIZE_DEFAULT,
            max_batch_bytes: MAX_BATCH_BYTES_DEFAULT,
            export_timeout: BSP_EXPORT_TIMEOUT_DEFAULT,
            retry_max_elapsed: RETRY_MAX_ELAPSED_DEFAULT,
        },
        limits: Limits {
            attribute_count: ATTRIBUTE_COUNT_LIMIT_DEFAULT,
            attribute_value_length: ATTRIBUTE_VALUE_LENGTH_LIMIT_DEFAULT,
            event_count: EVENT_COUNT_LIMIT_DEFAULT,
        },
        sampler: Sampler::default(),
        capture_content: true,
        tail: None,
        signals: crate::signals::SignalConfig::default(),
        price_overrides: None,
        metrics: true,
        metric_export_interval: METRIC_EXPORT_INTERVAL_DEFAULT,
        semconv: crate::semconv::SemconvMode::GenAi,
        redactor: crate::redact::Redactor::new(crate::redact::RedactConfig::default())
            .ok()
            .map(|r| RedactorHandle(std::sync::Arc::new(r))),
        warnings: Vec::new(),
    }
}

fn positive(field: &'static str, v: usize) -> Result<usize, ConfigError> {
    if v == 0 {
        Err(ConfigError::new(field, "0", "expected a positive integer"))
    } else {
        Ok(v)
    }
}

fn positive_duration(field: &'static str, d: Duration) -> Result<Duration, ConfigError> {
    if d.is_zero() {
        Err(ConfigError::new(
            field,
            "0s",
            "expected a positive duration",
        ))
    } else {
        Ok(d)
    }
}

/// Resolves one setting: code value (validated, errors propagate), else env
/// (invalid → warning, default), else default.
fn pick<T>(
    code: Option<Result<T, ConfigError>>,
    env_value: Option<(&str, &str)>,
    warnings: &mut Vec<String>,
    parse: impl FnOnce(&str) -> Result<T, String>,
    default: impl FnOnce() -> T,
) -> Result<T, ConfigError> {
    if let Some(c) = code {
        return c;
    }
    if let Some((key, v)) = env_value
        && let Some(parsed) = parse_or_warn(key, v, warnings, parse)
    {
        return Ok(parsed);
    }
    Ok(default())
}

fn resolve(
    b: &ConfigBuilder,
    env: &EnvSnapshot,
    w: &mut Vec<String>,
) -> Result<Config, ConfigError> {
    let e1 = |k: &'static str| env.get(k).map(|v| (k, v));

    let disabled = pick(
        b.disabled.map(Ok),
        e1(OTEL_SDK_DISABLED),
        w,
        parse_bool,
        || false,
    )?;

    // Resource: OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME over it, then code.
    let mut attrs: Vec<(String, String)> = Vec::new();
    if let Some((k, v)) = e1(OTEL_RESOURCE_ATTRIBUTES)
        && let Some(parsed) = parse_or_warn(k, v, w, parse_resource_attributes)
    {
        attrs = parsed;
    }
    let take = |attrs: &mut Vec<(String, String)>, key: &str| -> Option<String> {
        let pos = attrs.iter().position(|(k, _)| k == key)?;
        Some(attrs.remove(pos).1)
    };
    let env_service = take(&mut attrs, "service.name");
    let env_version = take(&mut attrs, "service.version");
    let env_environment = take(&mut attrs, "deployment.environment.name")
        .or_else(|| take(&mut attrs, "deployment.environment"));
    for (k, v) in b.resource_attributes.iter() {
        if k.is_empty() {
            return Err(ConfigError::new(
                "resource_attributes",
                v.clone(),
                "attribute keys must not be empty",
            ));
        }
        attrs.retain(|(ek, _)| ek != k);
        attrs.push((k.clone(), v.clone()));
    }
    if let Some(s) = &b.service_name
        && s.trim().is_empty()
    {
        return Err(ConfigError::new(
            "service_name",
            s.clone(),
            "must not be empty",
        ));
    }
    let service_name = b
        .service_name
        .clone()
        .or_else(|| env.get(OTEL_SERVICE_NAME).map(str::to_string))
        .or(env_service)
        .unwrap_or_else(|| SERVICE_NAME_DEFAULT.to_string());
    let resource = ResourceConfig {
        service_name,
        service_version: b.service_version.clone().or(env_version),
        environment: b.environment.clone().or(env_environment),
        attributes: attrs,
    };

    // OTLP.
    let protocol = pick(
        b.protocol
            .as_deref()
            .map(|p| Protocol::parse(p).map_err(|r| ConfigError::new("protocol", p, r))),
        env.get_either(
            OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
            OTEL_EXPORTER_OTLP_PROTOCOL,
        ),
        w,
        Protocol::parse,
        || Protocol::HttpProtobuf,
    )?;
    let endpoint_code = match (&b.traces_endpoint, &b.endpoint) {
        (Some(t), _) => Some(
            parse_endpoint(t, protocol, false)
                .map_err(|r| ConfigError::new("traces_endpoint", t.clone(), r))?,
        ),
        (None, Some(e)) => Some(
            parse_endpoint(e, protocol, true)
                .map_err(|r| ConfigError::new("endpoint", e.clone(), r))?,
        ),
        _ => None,
    };
    let endpoint_env = if endpoint_code.is_some() {
        None
    } else if let Some((k, v)) = e1(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
        parse_or_warn(k, v, w, |v| parse_endpoint(v, protocol, false))
    } else if let Some((k, v)) = e1(OTEL_EXPORTER_OTLP_ENDPOINT) {
        parse_or_warn(k, v, w, |v| parse_endpoint(v, protocol, true))
    } else {
        None
    };
    let endpoint_configured = endpoint_code.clone().or(endpoint_env);

    let headers = if let Some(h) = &b.headers {
        for (k, v) in h {
            parse::validate_header(k, v)
                .map_err(|r| ConfigError::new("headers", format!("{k}={v}"), r))?;
        }
        h.clone()
    } else {
        pick(
            b.headers_str
                .as_deref()
                .map(|s| parse_headers(s).map_err(|r| ConfigError::new("headers", s, r))),
            env.get_either(
                OTEL_EXPORTER_OTLP_TRACES_HEADERS,
                OTEL_EXPORTER_OTLP_HEADERS,
            ),
            w,
            parse_headers,
            Vec::new,
        )?
    };
    let timeout = pick(
        b.timeout.map(|d| positive_duration("timeout", d)),
        env.get_either(
            OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
            OTEL_EXPORTER_OTLP_TIMEOUT,
        ),
        w,
        parse_millis,
        || OTLP_TIMEOUT_DEFAULT,
    )?;
    let compression = pick(
        b.compression
            .as_deref()
            .map(|c| Compression::parse(c).map_err(|r| ConfigError::new("compression", c, r))),
        env.get_either(
            OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
            OTEL_EXPORTER_OTLP_COMPRESSION,
        ),
        w,
        Compression::parse,
        Compression::default,
    )?;

    // Exporters: explicit list, else OTLP when an endpoint is configured, else
    // the local store (the embedded default: works with no backend at all).
    let exporters = pick(
        b.exporters.clone().map(Ok).or_else(|| {
            b.exporters_str.as_deref().map(|s| {
                ExporterKind::parse_list(s).map_err(|r| ConfigError::new("exporter", s, r))
            })
        }),
        e1(TOKENTRACE_EXPORTER),
        w,
        ExporterKind::parse_list,
        || {
            if endpoint_configured.is_some() {
                vec![ExporterKind::Otlp]
            } else {
                vec![ExporterKind::File]
            }
        },
    )?;
    let traces_endpoint = endpoint_configured.clone().unwrap_or_else(|| {
        let base = if protocol == Protocol::Grpc {
            OTLP_GRPC_ENDPOINT_DEFAULT
        } else {
            OTLP_HTTP_ENDPOINT_DEFAULT
        };
        parse_endpoint(base, protocol, true).unwrap_or_else(|_| base.to_string())
    });
    // Metrics go beside traces: `/v1/metrics` next to `/v1/traces`, unless
    // OTEL_EXPORTER_OTLP_METRICS_ENDPOINT says otherwise.
    let metrics_endpoint = match e1(OTEL_EXPORTER_OTLP_METRICS_ENDPOINT)
        .and_then(|(k, v)| parse_or_warn(k, v, w, |v| parse_endpoint(v, protocol, false)))
    {
        Some(m) => m,
        None if protocol == Protocol::Grpc => traces_endpoint.clone(),
        None => match traces_endpoint.strip_suffix("/v1/traces") {
            Some(base) => format!("{base}/v1/metrics"),
            None => traces_endpoint.clone(),
        },
    };
    let otlp = exporters
        .contains(&ExporterKind::Otlp)
        .then_some(OtlpConfig {
            endpoint: traces_endpoint,
            metrics_endpoint,
            protocol,
            headers,
            timeout,
            compression,
        });

    let store = StoreConfig {
        dir: b
            .dir
            .clone()
            .or_else(|| env.get(TOKENTRACE_DIR).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DIR_DEFAULT)),
        max_file_bytes: pick(
            b.store_max_file_bytes
                .map(|v| positive("store_max_file_bytes", v as usize).map(|v| v as u64)),
            e1(TOKENTRACE_STORE_MAX_FILE_BYTES),
            w,
            |v| parse_positive_usize(v).map(|v| v as u64),
            || STORE_MAX_FILE_BYTES_DEFAULT,
        )?,
        max_total_bytes: pick(
            b.store_max_total_bytes
                .map(|v| positive("store_max_total_bytes", v as usize).map(|v| v as u64)),
            e1(TOKENTRACE_STORE_MAX_TOTAL_BYTES),
            w,
            |v| parse_positive_usize(v).map(|v| v as u64),
            || STORE_MAX_TOTAL_BYTES_DEFAULT,
        )?,
    };

    let max_queue_size = pick(
        b.max_queue_size.map(|v| positive("max_queue_size", v)),
        e1(OTEL_BSP_MAX_QUEUE_SIZE),
        w,
        parse_positive_usize,
        || BSP_MAX_QUEUE_SIZE_DEFAULT,
    )?;
    let mut max_export_batch_size = pick(
        b.max_export_batch_size
            .map(|v| positive("max_export_batch_size", v)),
        e1(OTEL_BSP_MAX_EXPORT_BATCH_SIZE),
        w,
        parse_positive_usize,
        || BSP_MAX_EXPORT_BATCH_SIZE_DEFAULT,
    )?;
    if max_export_batch_size > max_queue_size {
        if b.max_export_batch_size.is_some() && b.max_queue_size.is_some() {
            return Err(ConfigError::new(
                "max_export_batch_size",
                max_export_batch_size.to_string(),
                format!("must not exceed max_queue_size ({max_queue_size})"),
            ));
        }
        // The spec says the batch size must be <= the queue size; clamp.
        max_export_batch_size = max_queue_size;
    }
    let max_queue_bytes = pick(
        b.max_queue_bytes.map(|v| positive("max_queue_bytes", v)),
        e1(TOKENTRACE_MAX_QUEUE_BYTES),
        w,
        parse_positive_usize,
        host_memory::default_max_queue_bytes,
    )?;
    let max_batch_bytes = pick(
        b.max_batch_bytes.map(|v| positive("max_batch_bytes", v)),
        e1(TOKENTRACE_MAX_BATCH_BYTES),
        w,
        parse_positive_usize,
        || MAX_BATCH_BYTES_DEFAULT,
    )?;
    let batch = BatchConfig {
        schedule_delay: pick(
            b.schedule_delay
                .map(|d| positive_duration("schedule_delay", d)),
            e1(OTEL_BSP_SCHEDULE_DELAY),
            w,
            parse_millis,
            || BSP_SCHEDULE_DELAY_DEFAULT,
        )?,
        max_queue_size,
        max_queue_bytes,
        max_export_batch_size,
        max_batch_bytes,
        export_timeout: pick(
            b.export_timeout
                .map(|d| positive_duration("export_timeout", d)),
            e1(OTEL_BSP_EXPORT_TIMEOUT),
            w,
            parse_millis,
            || BSP_EXPORT_TIMEOUT_DEFAULT,
        )?,
        retry_max_elapsed: pick(
            b.retry_max_elapsed.map(Ok),
            e1(TOKENTRACE_RETRY_MAX_ELAPSED),
            w,
            parse_millis,
            || RETRY_MAX_ELAPSED_DEFAULT,
        )?,
    };

    let limits = Limits {
        attribute_count: pick(
            b.attribute_count_limit
                .map(|v| positive("attribute_count_limit", v)),
            env.get_either(OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, OTEL_ATTRIBUTE_COUNT_LIMIT),
            w,
            parse_positive_usize,
            || ATTRIBUTE_COUNT_LIMIT_DEFAULT,
        )?,
        attribute_value_length: pick(
            b.attribute_value_length_limit
                .map(|v| positive("attribute_value_length_limit", v)),
            env.get_either(
                OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT,
                OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT,
            ),
            w,
            parse_positive_usize,
            || ATTRIBUTE_VALUE_LENGTH_LIMIT_DEFAULT,
        )?,
        event_count: pick(
            b.event_count_limit
                .map(|v| positive("event_count_limit", v)),
            e1(OTEL_SPAN_EVENT_COUNT_LIMIT),
            w,
            parse_positive_usize,
            || EVENT_COUNT_LIMIT_DEFAULT,
        )?,
    };

    let sampler = if let Some(s) = b.sampler_value {
        if let Sampler::TraceIdRatio(r) = s {
            Sampler::ratio(r)?;
        }
        s
    } else if let Some((name, arg)) = &b.sampler {
        Sampler::parse(name, arg.as_deref())?
    } else if let Some((k, v)) = e1(OTEL_TRACES_SAMPLER) {
        let arg = env.get(OTEL_TRACES_SAMPLER_ARG);
        parse_or_warn(k, v, w, |v| {
            Sampler::parse(v, arg).map_err(|e| e.to_string())
        })
        .unwrap_or_default()
    } else {
        Sampler::default()
    };

    // Either variable set to false turns capture off (the how-to's step 4
    // needs content on by default; redaction runs before export).
    let mut capture_content = true;
    if let Some(c) = b.capture_content {
        capture_content = c;
    } else {
        for key in [
            TOKENTRACE_CAPTURE_CONTENT,
            OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
        ] {
            if let Some((k, v)) = e1(key)
                && let Some(on) = parse_or_warn(k, v, w, parse_capture)
                && !on
            {
                capture_content = false;
            }
        }
    }

    let tail = match &b.tail {
        Some(t) => {
            if !(0.0..=1.0).contains(&t.keep_ratio) {
                return Err(ConfigError::new(
                    "tail.keep_ratio",
                    t.keep_ratio.to_string(),
                    "expected a ratio between 0.0 and 1.0",
                ));
            }
            if t.max_traces == 0 || t.max_spans_per_trace == 0 {
                return Err(ConfigError::new(
                    "tail.max_traces",
                    format!("{}/{}", t.max_traces, t.max_spans_per_trace),
                    "bounds must be positive",
                ));
            }
            Some(t.clone())
        }
        None => {
            let on = b
                .tail_sampling_enabled
                .or_else(|| {
                    e1(TOKENTRACE_TAIL_SAMPLING)
                        .and_then(|(k, v)| parse_or_warn(k, v, w, parse_bool))
                })
                .unwrap_or(false);
            on.then(|| {
                let mut t = crate::sample::TailConfig::default();
                if let Some((k, v)) = e1(TOKENTRACE_TAIL_KEEP_RATIO)
                    && let Some(r) = parse_or_warn(k, v, w, |v| match v.parse::<f64>() {
                        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
                        _ => Err("expected a ratio between 0.0 and 1.0".into()),
                    })
                {
                    t.keep_ratio = r;
                }
                t
            })
        }
    };

    let mut prices: Option<crate::cost::PriceTable> = match &b.prices_file {
        Some(path) => Some(crate::cost::PriceTable::load_file(path).map_err(|e| {
            ConfigError::new("prices_file", path.display().to_string(), e.to_string())
        })?),
        None => e1(TOKENTRACE_PRICES).and_then(|(k, v)| {
            parse_or_warn(k, v, w, |v| {
                crate::cost::PriceTable::load_file(v).map_err(|e| e.to_string())
            })
        }),
    };
    if let Some(code) = &b.price_overrides {
        prices = Some(match prices {
            Some(file) => file.with_overrides(code),
            None => code.clone(),
        });
    }

    let redaction = match &b.redaction {
        Some(explicit) => explicit.clone(),
        None => {
            let on = b
                .redaction_enabled
                .or_else(|| {
                    e1(TOKENTRACE_REDACT).and_then(|(k, v)| parse_or_warn(k, v, w, parse_bool))
                })
                .unwrap_or(true);
            on.then(|| {
                let mut r = crate::redact::RedactConfig::default();
                if let Some(p) = e1(TOKENTRACE_REDACT_PRIVATE_IPS)
                    .and_then(|(k, v)| parse_or_warn(k, v, w, parse_bool))
                {
                    r.redact_private_ips = p;
                }
                if let Some(n) = e1(TOKENTRACE_MAX_TEXT_BYTES).and_then(|(k, v)| {
                    parse_or_warn(k, v, w, |v| {
                        v.parse::<usize>()
                            .ok()
                            .filter(|n| *n == 0 || *n >= 64)
                            .ok_or_else(|| {
                                "expected 0 (no cap) or a byte count of at least 64".to_string()
                            })
                    })
                }) {
                    r.max_text_bytes = n;
                }
                r
            })
        }
    };
    let redactor = match redaction {
        None => None,
        Some(cfg) => Some(RedactorHandle(std::sync::Arc::new(
            crate::redact::Redactor::new(cfg)
                .map_err(|e| ConfigError::new("redaction", "", e.to_string()))?,
        ))),
    };

    Ok(Config {
        disabled,
        resource,
        exporters,
        otlp,
        store,
        batch,
        limits,
        sampler,
        capture_content,
        tail,
        signals: b.signals.clone().unwrap_or_default(),
        price_overrides: prices.map(|p| PriceOverrides(std::sync::Arc::new(p))),
        metrics: match b.metrics {
            Some(m) => m,
            None => {
                let otel_off =
                    e1(OTEL_METRICS_EXPORTER).is_some_and(|(_, v)| v.eq_ignore_ascii_case("none"));
                let tt =
                    e1(TOKENTRACE_METRICS).and_then(|(k, v)| parse_or_warn(k, v, w, parse_bool));
                tt.unwrap_or(!otel_off)
            }
        },
        metric_export_interval: pick(
            b.metric_export_interval
                .map(|d| positive_duration("metric_export_interval", d)),
            e1(OTEL_METRIC_EXPORT_INTERVAL),
            w,
            parse_millis,
            || METRIC_EXPORT_INTERVAL_DEFAULT,
        )?,
        semconv: pick(
            b.semconv.as_deref().map(|v| {
                crate::semconv::SemconvMode::parse(v).map_err(|r| ConfigError::new("semconv", v, r))
            }),
            e1(TOKENTRACE_SEMCONV),
            w,
            crate::semconv::SemconvMode::parse,
            crate::semconv::SemconvMode::default,
        )?,
        redactor,
        warnings: Vec::new(),
    })
}

/// Booleans plus the enum form of the GenAI content variable.
fn parse_capture(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "span_only" | "span_and_event" | "event_only" => Ok(true),
        "false" | "no_content" => Ok(false),
        _ => {
            Err("expected true, false, NO_CONTENT, SPAN_ONLY, EVENT_ONLY or SPAN_AND_EVENT".into())
        }
    }
}

#[cfg(test)]
mod tests;
