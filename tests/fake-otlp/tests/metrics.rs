//! OTLP metrics over HTTP (protobuf, JSON, gzip) and gRPC: decoding, flattening to data
//! points, and a script of their own.

mod common;

use std::time::Duration;

use common::{
    COST, QUEUE_DEPTH, TOKEN_USAGE, gzip, metrics_request, post_metrics, post_traces, request,
};
use fake_otlp::opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use fake_otlp::opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use fake_otlp::opentelemetry_proto::tonic::common::v1::any_value::Value;
use fake_otlp::opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, metric};
use fake_otlp::{Behavior, Code, FakeOtlp, MetricPoint, Options, Transport};
use prost::Message;
use tonic::codec::CompressionEncoding;
use tonic_types::StatusExt;

const PROTO: &str = "application/x-protobuf";

/// What a test reads off [`metrics_request`]: both token-usage series, the cost and the
/// queue depth.
fn assert_points_of_metrics_request(fake: &FakeOtlp) {
    let usage = fake.metric_points(TOKEN_USAGE);
    assert_eq!(usage.len(), 2);
    let input = usage
        .iter()
        .find(|p| p.has_attribute("gen_ai.token.type", "input"))
        .unwrap();
    let h = input.histogram().unwrap();
    assert_eq!(h.count, 3);
    assert_eq!(h.sum, Some(142.0));
    assert_eq!(h.bucket_counts, vec![0, 1, 0, 2]);
    assert_eq!(h.explicit_bounds, vec![1.0, 4.0, 16.0]);
    assert_eq!(h.min, Some(2.0));
    assert_eq!(input.count(), Some(3));
    assert_eq!(input.sum(), Some(142.0));
    assert_eq!(
        input.attribute("gen_ai.operation.name"),
        Some(&Value::StringValue("chat".into()))
    );
    assert_eq!(input.as_double(), None, "a histogram has no single value");
    let output = usage
        .iter()
        .find(|p| p.has_attribute("gen_ai.token.type", "output"))
        .unwrap();
    assert_eq!(output.count(), Some(1));
    assert_eq!(output.histogram().unwrap().bucket_counts, vec![0, 0, 1, 0]);

    let cost = fake.metric_points(COST);
    assert_eq!(cost.len(), 1);
    assert!(matches!(cost[0], MetricPoint::Sum(_)));
    assert_eq!(cost[0].as_double(), Some(0.0125));
    assert_eq!(cost[0].as_int(), None);
    assert_eq!(cost[0].count(), None);
    assert!(cost[0].has_attribute("gen_ai.request.model", "gpt-4o"));
    assert_eq!(cost[0].time_unix_nano(), 1_700_000_010_000_000_000);

    let depth = fake.metric_points(QUEUE_DEPTH);
    assert!(matches!(depth[0], MetricPoint::Gauge(_)));
    assert_eq!(depth[0].as_int(), Some(3));
    assert_eq!(depth[0].as_double(), None);
    assert_eq!(depth[0].value(), Some(3.0));

    assert!(fake.metric_points("no.such.metric").is_empty());
}

#[test]
fn protobuf_metrics_are_decoded_and_flattened() {
    let fake = FakeOtlp::start();
    let sent = metrics_request("svc-m");
    let body = sent.encode_to_vec();
    let reply = post_metrics(fake.http_addr(), PROTO, &[("x-session-token", "m1")], &body);

    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some(PROTO));
    let answer = ExportMetricsServiceResponse::decode(reply.body.as_slice()).unwrap();
    assert_eq!(answer.partial_success, None);

    let requests = fake.metric_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].transport, Transport::Http);
    assert_eq!(requests[0].request, sent);
    assert!(!requests[0].gzip);
    assert_eq!(requests[0].body_bytes, body.len());
    assert_eq!(requests[0].header("X-Session-Token"), Some("m1"));
    assert_eq!(requests[0].metric_count(), 3);
    assert_eq!(requests[0].data_point_count(), 4);

    let metrics = fake.metrics();
    let names: Vec<&str> = metrics.iter().map(|m| m.metric.name.as_str()).collect();
    assert_eq!(names, [TOKEN_USAGE, COST, QUEUE_DEPTH]);
    assert_eq!(metrics[0].scope_name, "test-meter");
    assert_eq!(metrics[0].metric.unit, "{token}");
    assert_eq!(
        metrics[0].resource_attribute("service.name"),
        Some(&Value::StringValue("svc-m".into()))
    );
    assert_eq!(
        metrics[0].temporality(),
        Some(AggregationTemporality::Delta)
    );
    assert_eq!(
        metrics[1].temporality(),
        Some(AggregationTemporality::Cumulative)
    );
    assert_eq!(metrics[2].temporality(), None, "gauges have none");
    assert_points_of_metrics_request(&fake);

    // Metrics are their own signal: nothing shows up as traces.
    assert_eq!(fake.metric_attempts(), 1);
    assert_eq!(fake.attempts(), 0);
    assert!(fake.requests().is_empty());
}

#[test]
fn gzip_metrics_are_decompressed() {
    let fake = FakeOtlp::start();
    let sent = metrics_request("svc-gz");
    let body = gzip(&sent.encode_to_vec());
    let reply = post_metrics(
        fake.http_addr(),
        PROTO,
        &[("Content-Encoding", "gzip")],
        &body,
    );

    assert_eq!(reply.status, 200);
    let received = &fake.metric_requests()[0];
    assert!(received.gzip);
    assert_eq!(received.body_bytes, body.len());
    assert_eq!(received.request, sent);
    assert_points_of_metrics_request(&fake);
}

#[test]
fn otlp_json_metrics_are_decoded() {
    let fake = FakeOtlp::start();
    // Shaped like OTLP-JSON exporters send it: camelCase, 64-bit integers as strings, enums
    // as integers, a whole-number sum written without a fraction, default fields omitted.
    let json = r#"{"resourceMetrics":[{"resource":{"attributes":[
        {"key":"service.name","value":{"stringValue":"svc-json"}}]},
      "scopeMetrics":[{"scope":{"name":"js-meter"},"metrics":[
        {"name":"gen_ai.client.token.usage","unit":"{token}","histogram":{
          "aggregationTemporality":1,
          "dataPoints":[{"attributes":[{"key":"gen_ai.token.type","value":{"stringValue":"input"}}],
            "startTimeUnixNano":"1700000000000000000","timeUnixNano":"1700000010000000000",
            "count":"3","sum":142,"bucketCounts":["0","1","0","2"],"explicitBounds":[1,4,16]}]}},
        {"name":"tokentrace.cost","sum":{"aggregationTemporality":2,"isMonotonic":true,
          "dataPoints":[{"timeUnixNano":"1700000010000000000","asDouble":0.0125}]}},
        {"name":"tokentrace.queue.depth","gauge":{
          "dataPoints":[{"timeUnixNano":"1700000010000000000","asInt":"3"}]}}]}]}]}"#;
    let reply = post_metrics(
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
    assert_eq!(reply.body, b"{}");
    assert_eq!(fake.metric_requests()[0].transport, Transport::HttpJson);

    let metrics = fake.metrics();
    assert_eq!(metrics.len(), 3);
    assert_eq!(metrics[0].scope_name, "js-meter");
    assert_eq!(
        metrics[0].temporality(),
        Some(AggregationTemporality::Delta)
    );
    let usage = fake.metric_points(TOKEN_USAGE);
    let h = usage[0].histogram().unwrap();
    assert!(usage[0].has_attribute("gen_ai.token.type", "input"));
    assert_eq!(h.count, 3);
    assert_eq!(h.sum, Some(142.0));
    assert_eq!(h.bucket_counts, vec![0, 1, 0, 2]);
    assert_eq!(h.explicit_bounds, vec![1.0, 4.0, 16.0]);
    assert_eq!(h.time_unix_nano, 1_700_000_010_000_000_000);
    assert!(matches!(
        &metrics[1].metric.data,
        Some(metric::Data::Sum(s)) if s.is_monotonic
    ));
    assert_eq!(fake.metric_points(COST)[0].as_double(), Some(0.0125));
    assert_eq!(fake.metric_points(QUEUE_DEPTH)[0].as_int(), Some(3));
}

#[test]
fn json_round_trip_of_a_full_metrics_request() {
    let fake = FakeOtlp::start();
    let sent = metrics_request("svc-rt");
    let body = serde_json::to_vec(&sent).unwrap();
    let zipped = gzip(&body);
    let reply = post_metrics(
        fake.http_addr(),
        "application/json",
        &[("Content-Encoding", "gzip")],
        &zipped,
    );
    assert_eq!(reply.status, 200);
    let received = &fake.metric_requests()[0];
    assert_eq!(received.transport, Transport::HttpJson);
    assert!(received.gzip);
    assert_eq!(received.request, sent);
}

#[test]
fn metrics_script_is_separate_from_traces_script() {
    let fake = FakeOtlp::start();
    fake.push(Behavior::HttpStatus {
        status: 429,
        retry_after: Some("3".into()),
    });
    fake.script_for_metrics([
        Behavior::HttpStatus {
            status: 503,
            retry_after: Some("1".into()),
        },
        Behavior::PartialSuccess {
            rejected: 2,
            message: "2 points too old".into(),
        },
    ]);
    let metrics = metrics_request("svc").encode_to_vec();
    let traces = request("svc", 1).encode_to_vec();

    let refused = post_metrics(fake.http_addr(), PROTO, &[], &metrics);
    assert_eq!(refused.status, 503);
    assert_eq!(refused.header("retry-after"), Some("1"));
    let status = tonic_types::Status::decode(refused.body.as_slice()).unwrap();
    assert_eq!(status.code, Code::Unavailable as i32);

    let partial = post_metrics(fake.http_addr(), PROTO, &[], &metrics);
    assert_eq!(partial.status, 200);
    let partial = ExportMetricsServiceResponse::decode(partial.body.as_slice())
        .unwrap()
        .partial_success
        .unwrap();
    assert_eq!(partial.rejected_data_points, 2);
    assert_eq!(partial.error_message, "2 points too old");

    // The metrics exports left the traces script alone.
    assert_eq!(
        post_traces(fake.http_addr(), PROTO, &[], &traces).status,
        429
    );
    assert_eq!(
        post_traces(fake.http_addr(), PROTO, &[], &traces).status,
        200
    );

    assert_eq!(
        post_metrics(fake.http_addr(), PROTO, &[], &metrics).status,
        200
    );
    assert_eq!(fake.metric_attempts(), 3);
    assert_eq!(fake.metric_requests().len(), 2);
    assert_eq!(fake.attempts(), 2);
    assert_eq!(fake.span_count(), 1);
}

#[test]
fn metrics_default_behaviour_and_reset() {
    let fake = FakeOtlp::start();
    fake.set_default_for_metrics(Behavior::HttpStatus {
        status: 400,
        retry_after: None,
    });
    let body = serde_json::to_vec(&metrics_request("svc")).unwrap();
    let reply = post_metrics(fake.http_addr(), "application/json", &[], &body);
    assert_eq!(reply.status, 400);
    let json: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(json["code"], Code::InvalidArgument as i32);
    assert_eq!(
        post_traces(
            fake.http_addr(),
            PROTO,
            &[],
            &request("s", 1).encode_to_vec()
        )
        .status,
        200,
        "traces keep accepting"
    );

    fake.reset();
    assert_eq!(fake.metric_attempts(), 0);
    assert_eq!(fake.attempts(), 0);
    let reply = post_metrics(fake.http_addr(), "application/json", &[], &body);
    assert_eq!(reply.status, 200, "reset restores Accept for metrics");
}

#[test]
fn wait_for_metric_and_clear() {
    let fake = FakeOtlp::start();
    assert!(!fake.wait_for_metric(COST, Duration::from_millis(20)));
    let addr = fake.http_addr();
    let sender = std::thread::spawn(move || {
        post_metrics(addr, PROTO, &[], &metrics_request("svc").encode_to_vec()).status
    });
    assert!(fake.wait_for_metric(COST, Duration::from_secs(10)));
    assert_eq!(sender.join().unwrap(), 200);
    assert!(fake.wait_for_metric_attempts(1, Duration::from_secs(1)));
    assert!(!fake.wait_for_metric("no.such.metric", Duration::from_millis(20)));

    fake.clear();
    assert!(fake.metrics().is_empty());
    assert!(fake.metric_requests().is_empty());
    assert_eq!(fake.metric_attempts(), 0);
    assert!(!fake.wait_for_metric(COST, Duration::from_millis(20)));
}

#[test]
fn bad_metrics_bodies_are_refused_and_counted() {
    let fake = FakeOtlp::start_with(Options {
        max_http_body_bytes: 64 * 1024,
        ..Options::default()
    });
    let mut big = metrics_request("svc");
    big.resource_metrics[0].scope_metrics[0].metrics[0].description = "x".repeat(100 * 1024);
    let addr = fake.http_addr();
    assert_eq!(
        post_metrics(addr, PROTO, &[], &big.encode_to_vec()).status,
        413
    );
    assert_eq!(
        post_metrics(addr, PROTO, &[], b"\xff\xff not protobuf").status,
        400
    );
    assert_eq!(
        post_metrics(addr, "application/json", &[], b"{nope").status,
        400
    );
    assert_eq!(post_metrics(addr, "text/plain", &[], b"hi").status, 415);
    let get = common::http(addr, "GET", "/v1/metrics", &[], b"").unwrap();
    assert_eq!(get.status, 405);

    assert_eq!(fake.metric_attempts(), 4);
    assert!(fake.metric_requests().is_empty());
    assert_eq!(fake.attempts(), 0);
}

fn export(
    fake: &FakeOtlp,
    req: ExportMetricsServiceRequest,
    gzip: bool,
) -> Result<ExportMetricsServiceResponse, tonic::Status> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut client = MetricsServiceClient::connect(fake.grpc_endpoint())
            .await
            .unwrap();
        if gzip {
            client = client.send_compressed(CompressionEncoding::Gzip);
        }
        let mut req = tonic::Request::new(req);
        req.metadata_mut()
            .insert("x-session-token", "grpc-metrics".parse().unwrap());
        client.export(req).await.map(tonic::Response::into_inner)
    })
}

#[test]
fn grpc_metrics_are_decoded_with_metadata() {
    let fake = FakeOtlp::start();
    let sent = metrics_request("svc-grpc");
    let answer = export(&fake, sent.clone(), false).unwrap();
    assert_eq!(answer.partial_success, None);

    let received = &fake.metric_requests()[0];
    assert_eq!(received.transport, Transport::Grpc);
    assert_eq!(received.request, sent);
    assert!(!received.gzip);
    assert_eq!(received.body_bytes, sent.encoded_len());
    assert_eq!(received.header("x-session-token"), Some("grpc-metrics"));
    assert_points_of_metrics_request(&fake);
    assert_eq!(fake.metric_attempts(), 1);
    assert_eq!(fake.attempts(), 0);
}

#[test]
fn grpc_gzip_metrics_are_accepted() {
    let fake = FakeOtlp::start();
    let sent = metrics_request("svc-grpc-gz");
    export(&fake, sent.clone(), true).unwrap();
    let received = &fake.metric_requests()[0];
    assert!(received.gzip);
    assert_eq!(received.request, sent);
}

#[test]
fn grpc_metrics_follow_their_script() {
    let fake = FakeOtlp::start_with(Options {
        max_grpc_message_bytes: 16 * 1024,
        ..Options::default()
    });
    // A trace failure must not leak into metrics.
    fake.push(Behavior::HttpStatus {
        status: 503,
        retry_after: None,
    });
    fake.script_for_metrics([
        Behavior::GrpcStatus {
            code: Code::Unavailable,
            retry_delay: Some(Duration::from_millis(1500)),
        },
        Behavior::PartialSuccess {
            rejected: 1,
            message: "one dropped".into(),
        },
    ]);
    let status = export(&fake, metrics_request("svc"), false).unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    let info = status.get_details_retry_info().expect("RetryInfo attached");
    assert_eq!(info.retry_delay, Some(Duration::from_millis(1500)));

    let partial = export(&fake, metrics_request("svc"), false)
        .unwrap()
        .partial_success
        .unwrap();
    assert_eq!(partial.rejected_data_points, 1);
    assert_eq!(partial.error_message, "one dropped");

    let mut big = metrics_request("svc");
    big.resource_metrics[0].scope_metrics[0].metrics[0].description = "x".repeat(32 * 1024);
    let status = export(&fake, big, true).unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);

    assert!(export(&fake, metrics_request("svc"), false).is_ok());
    assert_eq!(fake.metric_attempts(), 4);
    assert_eq!(fake.metric_requests().len(), 2);
    assert_eq!(fake.attempts(), 0);
}
