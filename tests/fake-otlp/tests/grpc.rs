//! OTLP/gRPC through tonic's generated client.

mod common;

use std::time::Duration;

use common::request;
use fake_otlp::opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use fake_otlp::opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use fake_otlp::opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use fake_otlp::{Behavior, Code, FakeOtlp, Options, Transport};
use tonic::codec::CompressionEncoding;
use tonic_types::StatusExt;

fn export(
    fake: &FakeOtlp,
    req: ExportTraceServiceRequest,
    gzip: bool,
) -> Result<ExportTraceServiceResponse, tonic::Status> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut client = TraceServiceClient::connect(fake.grpc_endpoint())
            .await
            .unwrap();
        if gzip {
            client = client.send_compressed(CompressionEncoding::Gzip);
        }
        let mut req = tonic::Request::new(req);
        req.metadata_mut()
            .insert("x-session-token", "grpc-session".parse().unwrap());
        client.export(req).await.map(tonic::Response::into_inner)
    })
}

#[test]
fn export_is_decoded_with_metadata() {
    let fake = FakeOtlp::start();
    let sent = request("svc-grpc", 2);
    let answer = export(&fake, sent.clone(), false).unwrap();
    assert_eq!(answer.partial_success, None);

    let received = &fake.requests()[0];
    assert_eq!(received.transport, Transport::Grpc);
    assert_eq!(received.request, sent);
    assert!(!received.gzip);
    assert_eq!(received.header("x-session-token"), Some("grpc-session"));
    assert_eq!(fake.span_count(), 2);
}

#[test]
fn gzip_export_is_accepted() {
    let fake = FakeOtlp::start();
    let sent = request("svc-grpc-gz", 1);
    export(&fake, sent.clone(), true).unwrap();
    let received = &fake.requests()[0];
    assert!(received.gzip);
    assert_eq!(received.request, sent);
}

#[test]
fn grpc_status_with_retry_info() {
    let fake = FakeOtlp::start();
    fake.push(Behavior::GrpcStatus {
        code: Code::Unavailable,
        retry_delay: Some(Duration::from_millis(1500)),
    });
    let status = export(&fake, request("svc", 1), false).unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    let info = status.get_details_retry_info().expect("RetryInfo attached");
    assert_eq!(info.retry_delay, Some(Duration::from_millis(1500)));
    assert_eq!(fake.attempts(), 1);
    assert_eq!(fake.span_count(), 0);
}

#[test]
fn http_statuses_map_to_grpc_codes() {
    let fake = FakeOtlp::start();
    fake.script([
        Behavior::HttpStatus {
            status: 429,
            retry_after: Some("2".into()),
        },
        Behavior::HttpStatus {
            status: 503,
            retry_after: None,
        },
        Behavior::HttpStatus {
            status: 400,
            retry_after: None,
        },
    ]);
    let throttled = export(&fake, request("svc", 1), false).unwrap_err();
    assert_eq!(throttled.code(), Code::ResourceExhausted);
    assert_eq!(
        throttled.get_details_retry_info().unwrap().retry_delay,
        Some(Duration::from_secs(2))
    );
    let unavailable = export(&fake, request("svc", 1), false).unwrap_err();
    assert_eq!(unavailable.code(), Code::Unavailable);
    assert!(unavailable.get_details_retry_info().is_none());
    let invalid = export(&fake, request("svc", 1), false).unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);

    export(&fake, request("svc", 1), false).unwrap();
    assert_eq!(fake.attempts(), 4);
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn partial_success_over_grpc() {
    let fake = FakeOtlp::start();
    fake.push(Behavior::PartialSuccess {
        rejected: 1,
        message: "one dropped".into(),
    });
    let partial = export(&fake, request("svc", 2), false)
        .unwrap()
        .partial_success
        .unwrap();
    assert_eq!(partial.rejected_spans, 1);
    assert_eq!(partial.error_message, "one dropped");
    assert_eq!(fake.span_count(), 2);
}

#[test]
fn oversize_message_is_resource_exhausted() {
    let fake = FakeOtlp::start_with(Options {
        max_grpc_message_bytes: 16 * 1024,
        ..Options::default()
    });
    let mut big = request("svc", 1);
    big.resource_spans[0].scope_spans[0].spans[0].name = "x".repeat(32 * 1024);
    let status = export(&fake, big.clone(), false).unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    // The limit applies to the decoded size, as in the Collector.
    let status = export(&fake, big, true).unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(fake.attempts(), 2);
    assert_eq!(fake.span_count(), 0);
}
