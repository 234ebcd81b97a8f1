use super::*;
use std::time::Duration;

fn env(pairs: &[(&str, &str)]) -> EnvSnapshot {
    EnvSnapshot::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

fn build(b: ConfigBuilder, pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    b.with_env(env(pairs)).build()
}

#[test]
fn defaults_use_local_store() {
    let c = build(Config::builder(), &[]).unwrap();
    assert_eq!(c.exporters, vec![ExporterKind::File]);
    assert!(c.otlp.is_none());
    assert_eq!(c.store.dir, std::path::PathBuf::from(".tokentrace"));
    assert_eq!(c.resource.service_name, "unknown_service");
    assert!(c.capture_content);
    assert!(c.warnings.is_empty());
}

#[test]
fn endpoint_in_env_selects_otlp_and_appends_path() {
    let c = build(
        Config::builder(),
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")],
    )
    .unwrap();
    assert_eq!(c.exporters, vec![ExporterKind::Otlp]);
    assert_eq!(c.otlp.unwrap().endpoint, "http://collector:4318/v1/traces");
    let c = build(
        Config::builder(),
        &[
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4318/custom"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://x:1"),
        ],
    )
    .unwrap();
    assert_eq!(c.otlp.unwrap().endpoint, "http://c:4318/custom");
}

#[test]
fn code_beats_env() {
    let c = build(
        Config::builder()
            .with_service_name("svc-code")
            .with_max_queue_size(10usize),
        &[
            ("OTEL_SERVICE_NAME", "svc-env"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "99"),
        ],
    )
    .unwrap();
    assert_eq!(c.resource.service_name, "svc-code");
    assert_eq!(c.batch.max_queue_size, 10);
    assert_eq!(
        c.batch.max_export_batch_size, 10,
        "batch clamped to queue size"
    );
}

#[test]
fn resource_attributes_from_env() {
    let c = build(
        Config::builder(),
        &[
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=a,deployment.environment.name=prod,team=ml%20ops",
            ),
            ("OTEL_SERVICE_NAME", "b"),
        ],
    )
    .unwrap();
    assert_eq!(c.resource.service_name, "b", "OTEL_SERVICE_NAME wins");
    assert_eq!(c.resource.environment.as_deref(), Some("prod"));
    assert_eq!(
        c.resource.attributes,
        vec![("team".to_string(), "ml ops".to_string())]
    );
}

#[test]
fn invalid_code_values_are_typed_errors_naming_the_field() {
    let cases: Vec<(ConfigBuilder, &str, &str)> = vec![
        (
            Config::builder().with_endpoint("localhost:4318"),
            "endpoint",
            "http://",
        ),
        (
            Config::builder().with_endpoint("ftp://x"),
            "endpoint",
            "http://",
        ),
        (
            Config::builder().with_protocol("thrift"),
            "protocol",
            "http/protobuf",
        ),
        (
            Config::builder().with_headers_str("novalue"),
            "headers",
            "k1=v1",
        ),
        (
            Config::builder().with_headers([("bad key", "v")]),
            "headers",
            "not allowed",
        ),
        (
            Config::builder().with_max_queue_size(0usize),
            "max_queue_size",
            "positive",
        ),
        (
            Config::builder().with_sampler_str("sometimes", None),
            "sampler",
            "always_on",
        ),
        (
            Config::builder().with_sampler_str("traceidratio", Some("1.5".into())),
            "sampler_arg",
            "0.0 and 1.0",
        ),
        (
            Config::builder().with_exporters_str("otlp,kafka"),
            "exporter",
            "otlp, file",
        ),
        (
            Config::builder().with_compression("brotli"),
            "compression",
            "gzip",
        ),
        (
            Config::builder().with_timeout(Duration::ZERO),
            "timeout",
            "positive",
        ),
    ];
    for (b, field, hint) in cases {
        let e = build(b, &[]).unwrap_err();
        assert_eq!(e.field, field, "{e}");
        assert!(e.to_string().contains(hint), "{e} should mention {hint}");
    }
}

#[test]
fn invalid_env_values_warn_once_and_default() {
    let c = build(
        Config::builder(),
        &[
            ("OTEL_BSP_MAX_QUEUE_SIZE", "lots"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url"),
            ("OTEL_TRACES_SAMPLER", "sometimes"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "broken"),
            ("OTEL_SDK_DISABLED", "yes"),
            ("TOKENTRACE_EXPORTER", "otlp,kafka"),
        ],
    )
    .unwrap();
    assert_eq!(c.batch.max_queue_size, env::BSP_MAX_QUEUE_SIZE_DEFAULT);
    assert_eq!(
        c.exporters,
        vec![ExporterKind::File],
        "bad exporter list and bad endpoint fall back to the store"
    );
    assert_eq!(c.sampler, Sampler::default());
    assert!(!c.disabled);
    assert_eq!(c.warnings.len(), 7, "{:#?}", c.warnings);
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("OTEL_BSP_MAX_QUEUE_SIZE"))
    );
}

#[test]
fn headers_are_percent_decoded() {
    let c = build(
        Config::builder().with_endpoint("http://c:4318"),
        &[(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "Authorization=Basic%20abc,x-tenant=t1",
        )],
    )
    .unwrap();
    assert_eq!(
        c.otlp.unwrap().headers,
        vec![
            ("authorization".into(), "Basic abc".into()),
            ("x-tenant".into(), "t1".into())
        ]
    );
}

#[test]
fn capture_content_switches() {
    let off = build(
        Config::builder(),
        &[(
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
            "false",
        )],
    )
    .unwrap();
    assert!(!off.capture_content);
    let off = build(
        Config::builder(),
        &[("TOKENTRACE_CAPTURE_CONTENT", "false")],
    )
    .unwrap();
    assert!(!off.capture_content);
    let on = build(
        Config::builder().with_capture_content(true),
        &[("TOKENTRACE_CAPTURE_CONTENT", "false")],
    )
    .unwrap();
    assert!(on.capture_content);
}

#[test]
fn endpoint_scheme_is_lower_cased() {
    // The exporters set TLS up by the `https://` prefix.
    for protocol in ["grpc", "http/protobuf"] {
        let c = build(
            Config::builder()
                .with_protocol(protocol)
                .with_endpoint("HTTPS://Collector:4318"),
            &[],
        )
        .unwrap();
        assert!(
            c.otlp
                .unwrap()
                .endpoint
                .starts_with("https://Collector:4318")
        );
    }
}

#[test]
fn grpc_endpoint_kept_as_base() {
    let c = build(
        Config::builder()
            .with_protocol("grpc")
            .with_endpoint("http://c:4317"),
        &[],
    )
    .unwrap();
    let o = c.otlp.unwrap();
    assert_eq!(o.protocol, Protocol::Grpc);
    assert_eq!(o.endpoint, "http://c:4317");
}

#[test]
fn policy_switches_from_code_win_over_the_environment_and_keep_its_refinements() {
    let tail_env = [
        ("TOKENTRACE_TAIL_SAMPLING", "true"),
        ("TOKENTRACE_TAIL_KEEP_RATIO", "0.5"),
    ];
    let c = build(
        Config::builder().with_tail_sampling_enabled(false),
        &tail_env,
    )
    .unwrap();
    assert!(
        c.tail.is_none(),
        "code's off wins over the environment's on"
    );
    let c = build(
        Config::builder().with_tail_sampling_enabled(true),
        &[("TOKENTRACE_TAIL_KEEP_RATIO", "0.5")],
    )
    .unwrap();
    assert_eq!(
        c.tail.map(|t| t.keep_ratio),
        Some(0.5),
        "on, refined by the environment"
    );

    let c = build(
        Config::builder().with_redaction_enabled(false),
        &[("TOKENTRACE_REDACT", "true")],
    )
    .unwrap();
    assert!(c.redactor.is_none());
    let c = build(
        Config::builder().with_redaction_enabled(true),
        &[("TOKENTRACE_REDACT", "false")],
    )
    .unwrap();
    assert!(c.redactor.is_some());
    // Explicit rules still win over the switch.
    let c = build(
        Config::builder()
            .with_redaction_enabled(true)
            .without_redaction(),
        &[],
    )
    .unwrap();
    assert!(c.redactor.is_none());
}
