//! What the OTLP exporters tell their caller about one export (used directly by tools
//! such as `tokentrace replay`): the receiver's partial-success reason, and the cause of a
//! transport failure.

use std::time::Duration;

use fake_otlp::opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use fake_otlp::opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use fake_otlp::{Behavior, FakeOtlp, reserve_port};
use tokentrace_core::config::env::EnvSnapshot;
use tokentrace_core::export::{ExportBatch, ExportContext, ExportOutcome, ExportResult};
use tokentrace_core::{Config, ExporterKind};

fn request(spans: usize) -> ExportTraceServiceRequest {
    let span = |i: usize| Span {
        trace_id: vec![1; 16],
        span_id: vec![i as u8 + 1; 8],
        name: format!("s{i}"),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: (0..spans).map(span).collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Builds the exporter for `protocol` at `endpoint` and sends one request of 3 spans.
fn export(protocol: &str, endpoint: &str, timeout: Duration) -> ExportResult {
    let cfg = Config::builder()
        .with_env(EnvSnapshot::empty())
        .with_exporters([ExporterKind::Otlp])
        .with_protocol(protocol)
        .with_endpoint(endpoint)
        .with_timeout(timeout)
        .build()
        .unwrap()
        .otlp
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _entered = runtime.enter();
    let exporter = tokentrace_core::export::otlp::build(&cfg).unwrap();
    let batch = ExportBatch::from_request(&request(3), exporter.encodings()).unwrap();
    let ctx = ExportContext {
        deadline: tokio::time::Instant::now() + timeout,
    };
    runtime.block_on(exporter.export(&batch, ctx))
}

#[test]
fn partial_success_reason_reaches_the_caller_over_http_json_and_grpc() {
    let rx = FakeOtlp::start();
    for (protocol, endpoint) in [
        ("http/protobuf", rx.http_endpoint()),
        ("http/json", rx.http_endpoint()),
        ("grpc", rx.grpc_endpoint()),
    ] {
        rx.push(Behavior::PartialSuccess {
            rejected: 2,
            message: "span too large".into(),
        });
        let result = export(protocol, &endpoint, Duration::from_secs(5));
        assert_eq!(
            result.outcome,
            ExportOutcome::Success { rejected: 2 },
            "{protocol}"
        );
        assert_eq!(
            result.partial_success_message.as_deref(),
            Some("span too large"),
            "{protocol}"
        );
        // A plain success has no reason to report.
        let result = export(protocol, &endpoint, Duration::from_secs(5));
        assert_eq!(result, ExportResult::ok(), "{protocol}");
    }
}

#[test]
fn a_refused_connection_names_its_cause() {
    let endpoint = format!("http://127.0.0.1:{}", reserve_port());
    let result = export("http/protobuf", &endpoint, Duration::from_millis(500));
    let ExportOutcome::Failed { error } = result.outcome else {
        panic!("{result:?}");
    };
    assert!(
        error.to_lowercase().contains("connection refused"),
        "{error}"
    );
}
