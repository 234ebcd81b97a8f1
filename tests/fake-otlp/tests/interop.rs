//! The reference OTLP exporter (opentelemetry-otlp over reqwest and tonic) against the fake,
//! including its retry on a scripted throttle.

use std::time::Duration;

use fake_otlp::opentelemetry_proto::tonic::common::v1::any_value::Value;
use fake_otlp::{Behavior, Code, FakeOtlp, Transport};
use opentelemetry::trace::{Tracer, TracerProvider as _};
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;

/// Exports one span named `chat` through `exporter` and shuts the provider down.
fn export_one(exporter: impl FnOnce() -> SpanExporter) {
    // In a workspace build reqwest is compiled with core's `rustls-no-provider`
    // feature, so a crypto provider must be installed before any client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // reqwest and tonic need a tokio context; the simple processor blocks on each export.
    let _guard = rt.enter();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter())
        .with_resource(Resource::builder().with_service_name("interop").build())
        .build();
    provider.tracer("interop-scope").in_span("chat", |_| {});
    provider.shutdown().unwrap();
}

fn assert_one_chat_span(fake: &FakeOtlp, transport: Transport) {
    assert!(fake.wait_for_spans(1, Duration::from_secs(10)));
    let spans = fake.spans();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].span.name, "chat");
    assert_eq!(spans[0].scope_name, "interop-scope");
    assert_eq!(
        spans[0].resource_attribute("service.name"),
        Some(&Value::StringValue("interop".into()))
    );
    assert_eq!(fake.requests()[0].transport, transport);
}

#[test]
fn http_exporter_retries_after_throttle() {
    let fake = FakeOtlp::start();
    fake.push(Behavior::HttpStatus {
        status: 503,
        retry_after: Some("0".into()),
    });
    let url = fake.traces_url();
    export_one(|| {
        SpanExporter::builder()
            .with_http()
            .with_endpoint(url)
            .build()
            .unwrap()
    });
    assert_one_chat_span(&fake, Transport::Http);
    assert_eq!(fake.attempts(), 2);
}

#[test]
fn grpc_exporter_retries_after_unavailable() {
    let fake = FakeOtlp::start();
    fake.push(Behavior::GrpcStatus {
        code: Code::Unavailable,
        retry_delay: Some(Duration::from_millis(10)),
    });
    let endpoint = fake.grpc_endpoint();
    export_one(|| {
        SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .unwrap()
    });
    assert_one_chat_span(&fake, Transport::Grpc);
    assert_eq!(fake.attempts(), 2);
}
