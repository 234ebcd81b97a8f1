//! OTLP/HTTP: real bodies in, decoded requests and scripted answers out.

mod common;

use std::time::Duration;

use common::{gzip, post_traces, request};
use fake_otlp::opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use fake_otlp::opentelemetry_proto::tonic::common::v1::any_value::Value;
use fake_otlp::{Behavior, Code, FakeOtlp, Options, Transport};
use prost::Message;

const PROTO: &str = "application/x-protobuf";

#[test]
fn protobuf_body_is_decoded_and_flattened() {
    let fake = FakeOtlp::start();
    let sent = request("svc-a", 3);
    let body = sent.encode_to_vec();
    let reply = post_traces(fake.http_addr(), PROTO, &[("x-session-token", "s1")], &body);

    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some(PROTO));
    let answer = ExportTraceServiceResponse::decode(reply.body.as_slice()).unwrap();
    assert_eq!(answer.partial_success, None);

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].transport, Transport::Http);
    assert_eq!(requests[0].request, sent);
    assert!(!requests[0].gzip);
    assert_eq!(requests[0].body_bytes, body.len());
    assert_eq!(requests[0].header("X-Session-Token"), Some("s1"));

    let spans = fake.spans();
    assert_eq!(fake.span_count(), 3);
    assert_eq!(spans.len(), 3);
    assert_eq!(spans[2].span.name, "chat gpt-4o #2");
    assert_eq!(spans[0].scope_name, "test-scope");
    assert_eq!(
        spans[0].resource_attribute("service.name"),
        Some(&Value::StringValue("svc-a".into()))
    );
    assert_eq!(
        spans[0].attribute("gen_ai.usage.input_tokens"),
        Some(&Value::IntValue(42))
    );
    assert_eq!(fake.attempts(), 1);
}

#[test]
fn gzip_body_is_decompressed() {
    let fake = FakeOtlp::start();
    let sent = request("svc-gz", 2);
    let body = gzip(&sent.encode_to_vec());
    let reply = post_traces(
        fake.http_addr(),
        PROTO,
        &[("Content-Encoding", "gzip")],
        &body,
    );

    assert_eq!(reply.status, 200);
    let received = &fake.requests()[0];
    assert!(received.gzip);
    assert_eq!(received.body_bytes, body.len());
    assert_eq!(received.request, sent);
}

#[test]
fn otlp_json_body_is_decoded() {
    let fake = FakeOtlp::start();
    // Shaped like what OTLP-JSON exporters send: hex ids, camelCase, int64 as strings,
    // enum as integer, default fields omitted.
    let json = r#"{"resourceSpans":[{"resource":{"attributes":[
        {"key":"service.name","value":{"stringValue":"svc-json"}}]},
      "scopeSpans":[{"scope":{"name":"js-scope"},"spans":[{
        "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
        "name":"chat","kind":3,
        "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000001000000000",
        "attributes":[{"key":"gen_ai.usage.output_tokens","value":{"intValue":"7"}}],
        "status":{"code":1}}]}]}]}"#;
    let reply = post_traces(
        fake.http_addr(),
        "application/json; charset=utf-8",
        &[],
        json.as_bytes(),
    );

    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(fake.requests()[0].transport, Transport::HttpJson);
    let spans = fake.spans();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].scope_name, "js-scope");
    assert_eq!(spans[0].span.trace_id[..2], [0x5b, 0x8e]);
    assert_eq!(spans[0].span.span_id.len(), 8);
    assert_eq!(spans[0].span.end_time_unix_nano, 1_700_000_001_000_000_000);
    assert_eq!(
        spans[0].attribute("gen_ai.usage.output_tokens"),
        Some(&Value::IntValue(7))
    );
}

#[test]
fn json_round_trip_of_a_full_request() {
    let fake = FakeOtlp::start();
    let sent = request("svc-rt", 2);
    let body = serde_json::to_vec(&sent).unwrap();
    let reply = post_traces(fake.http_addr(), "application/json", &[], &body);
    assert_eq!(reply.status, 200);
    assert_eq!(fake.requests()[0].request, sent);
}

#[test]
fn scripted_throttle_carries_retry_after_and_is_not_captured() {
    let fake = FakeOtlp::start();
    fake.script([
        Behavior::HttpStatus {
            status: 429,
            retry_after: Some("3".into()),
        },
        Behavior::GrpcStatus {
            code: Code::Unavailable,
            retry_delay: Some(Duration::from_millis(1500)),
        },
    ]);
    let body = request("svc", 1).encode_to_vec();

    let first = post_traces(fake.http_addr(), PROTO, &[], &body);
    assert_eq!(first.status, 429);
    assert_eq!(first.header("retry-after"), Some("3"));
    let status = fake_otlp_status(&first.body);
    assert_eq!(status.code, Code::ResourceExhausted as i32);

    let second = post_traces(fake.http_addr(), PROTO, &[], &body);
    assert_eq!(second.status, 503);
    assert_eq!(second.header("retry-after"), Some("2"));

    let third = post_traces(fake.http_addr(), PROTO, &[], &body);
    assert_eq!(third.status, 200, "script used up: default Accept");

    assert_eq!(fake.attempts(), 3);
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(fake.span_count(), 1);
}

fn fake_otlp_status(body: &[u8]) -> tonic_types::Status {
    tonic_types::Status::decode(body).unwrap()
}

#[test]
fn error_in_json_request_is_answered_in_json() {
    let fake = FakeOtlp::start();
    fake.set_default(Behavior::HttpStatus {
        status: 400,
        retry_after: None,
    });
    let body = serde_json::to_vec(&request("svc", 1)).unwrap();
    let reply = post_traces(fake.http_addr(), "application/json", &[], &body);
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("retry-after"), None);
    let json: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(json["code"], Code::InvalidArgument as i32);
}

#[test]
fn partial_success_keeps_data_and_reports_rejected() {
    let fake = FakeOtlp::start();
    fake.push(Behavior::PartialSuccess {
        rejected: 2,
        message: "2 spans too old".into(),
    });
    let reply = post_traces(
        fake.http_addr(),
        PROTO,
        &[],
        &request("svc", 3).encode_to_vec(),
    );
    assert_eq!(reply.status, 200);
    let partial = ExportTraceServiceResponse::decode(reply.body.as_slice())
        .unwrap()
        .partial_success
        .unwrap();
    assert_eq!(partial.rejected_spans, 2);
    assert_eq!(partial.error_message, "2 spans too old");
    assert_eq!(fake.span_count(), 3);
}

#[test]
fn oversize_body_gets_413_plain_and_gzip() {
    let fake = FakeOtlp::start_with(Options {
        max_http_body_bytes: 64 * 1024,
        ..Options::default()
    });
    let mut big = request("svc", 1);
    big.resource_spans[0].scope_spans[0].spans[0].name = "x".repeat(200 * 1024);
    let plain = big.encode_to_vec();

    let reply = post_traces(fake.http_addr(), PROTO, &[], &plain);
    assert_eq!(reply.status, 413);
    // Small on the wire, too big once inflated: still refused.
    let zipped = gzip(&plain);
    assert!(zipped.len() < 64 * 1024);
    let reply = post_traces(
        fake.http_addr(),
        PROTO,
        &[("Content-Encoding", "gzip")],
        &zipped,
    );
    assert_eq!(reply.status, 413);

    assert_eq!(fake.attempts(), 2);
    assert_eq!(fake.span_count(), 0);
    // The script was not consumed by refused bodies.
    assert_eq!(
        post_traces(
            fake.http_addr(),
            PROTO,
            &[],
            &request("s", 1).encode_to_vec()
        )
        .status,
        200
    );
}

#[test]
fn default_limit_is_4_mib() {
    let fake = FakeOtlp::start();
    let mut big = request("svc", 1);
    big.resource_spans[0].scope_spans[0].spans[0].name = "x".repeat(4 * 1024 * 1024 + 1);
    let reply = post_traces(fake.http_addr(), PROTO, &[], &big.encode_to_vec());
    assert_eq!(reply.status, 413);
}

#[test]
fn malformed_bodies_are_rejected() {
    let fake = FakeOtlp::start();
    let bad = post_traces(fake.http_addr(), PROTO, &[], b"\xff\xff\xff not protobuf");
    assert_eq!(bad.status, 400);
    let bad_json = post_traces(fake.http_addr(), "application/json", &[], b"{not json");
    assert_eq!(bad_json.status, 400);
    let bad_type = post_traces(fake.http_addr(), "text/plain", &[], b"hi");
    assert_eq!(bad_type.status, 415);
    let bad_gzip = post_traces(
        fake.http_addr(),
        PROTO,
        &[("Content-Encoding", "gzip")],
        b"nope",
    );
    assert_eq!(bad_gzip.status, 400);
    assert_eq!(fake.attempts(), 4);
    assert!(fake.requests().is_empty());
}

#[test]
fn delay_then_accept() {
    let fake = FakeOtlp::start();
    fake.push(Behavior::Delay(Duration::from_millis(50)));
    let reply = post_traces(
        fake.http_addr(),
        PROTO,
        &[],
        &request("svc", 1).encode_to_vec(),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(fake.span_count(), 1);
}

#[test]
fn clear_and_wait_for_spans() {
    let fake = FakeOtlp::start();
    post_traces(
        fake.http_addr(),
        PROTO,
        &[],
        &request("svc", 2).encode_to_vec(),
    );
    assert!(fake.wait_for_spans(2, Duration::from_secs(5)));
    assert!(!fake.wait_for_spans(3, Duration::from_millis(20)));
    fake.clear();
    assert_eq!(fake.span_count(), 0);
    assert_eq!(fake.attempts(), 0);
    assert!(fake.requests().is_empty());
}
