//! Export through real OTLP (HTTP protobuf, HTTP JSON, gRPC) to a receiver on
//! loopback that decodes every request; faults the way collectors produce them.

mod common;

use std::time::{Duration, Instant};

use common::*;
use fake_otlp::{Behavior, Code, FakeOtlp, Options, Transport, reserve_port};
use tokentrace_core::*;

fn http_tracer(rx: &FakeOtlp) -> Tracer {
    Tracer::new(builder().with_endpoint(rx.http_endpoint()).build().unwrap()).unwrap()
}

fn grpc_tracer(rx: &FakeOtlp) -> Tracer {
    Tracer::new(
        builder()
            .with_protocol("grpc")
            .with_endpoint(rx.grpc_endpoint())
            .build()
            .unwrap(),
    )
    .unwrap()
}

fn workflow(t: &Tracer) -> (TraceId, SpanId) {
    let mut root = simple("answer_question");
    root.attributes = vec![
        KeyValue::new("user.id", "u-1"),
        KeyValue::new("session.id", "s-1"),
        KeyValue::new("request.id", "r-1"),
        KeyValue::new("feature.name", "qa"),
    ];
    assert!(t.record(full_chat_span(root.trace_id, Some(root.span_id))));
    let ids = (root.trace_id, root.span_id);
    assert!(t.record(root));
    ids
}

fn check_workflow(rx: &FakeOtlp, trace: TraceId, root: SpanId) {
    let spans = rx.spans();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let chat = spans
        .iter()
        .find(|s| s.span.name == "chat gpt-4o")
        .expect("chat span");
    assert_full_chat(chat, trace, root);
    let parent = spans
        .iter()
        .find(|s| s.span.name == "answer_question")
        .expect("root span");
    assert!(parent.span.parent_span_id.is_empty());
    for (k, v) in [
        ("user.id", "u-1"),
        ("session.id", "s-1"),
        ("request.id", "r-1"),
        ("feature.name", "qa"),
    ] {
        assert_eq!(s(parent.attribute(k)), v);
    }
}

#[test]
fn http_protobuf_every_field() {
    let rx = FakeOtlp::start();
    let t = http_tracer(&rx);
    let (trace, root) = workflow(&t);
    t.flush(Duration::from_secs(10)).unwrap();
    check_workflow(&rx, trace, root);
    let req = &rx.requests()[0];
    assert_eq!(req.transport, Transport::Http);
    assert!(req.header("user-agent").unwrap().contains("tokentrace"));
    assert_eq!(t.stats().exported, 2);
}

#[test]
fn http_json_gzip_and_headers() {
    let rx = FakeOtlp::start();
    let t = Tracer::new(
        builder()
            .with_endpoint(rx.http_endpoint())
            .with_protocol("http/json")
            .with_compression("gzip")
            .with_headers_str("x-api-key=secret%20value,x-tenant=t1")
            .build()
            .unwrap(),
    )
    .unwrap();
    let (trace, root) = workflow(&t);
    t.flush(Duration::from_secs(10)).unwrap();
    check_workflow(&rx, trace, root);
    let req = &rx.requests()[0];
    assert_eq!(req.transport, Transport::HttpJson);
    assert!(req.gzip);
    assert_eq!(req.header("x-api-key"), Some("secret value"));
    assert_eq!(req.header("x-tenant"), Some("t1"));
}

#[test]
fn grpc_every_field_with_gzip_and_metadata() {
    let rx = FakeOtlp::start();
    let t = Tracer::new(
        builder()
            .with_protocol("grpc")
            .with_endpoint(rx.grpc_endpoint())
            .with_compression("gzip")
            .with_headers([("x-tenant", "t2")])
            .build()
            .unwrap(),
    )
    .unwrap();
    let (trace, root) = workflow(&t);
    t.flush(Duration::from_secs(10)).unwrap();
    check_workflow(&rx, trace, root);
    let req = &rx.requests()[0];
    assert_eq!(req.transport, Transport::Grpc);
    assert_eq!(req.header("x-tenant"), Some("t2"));
}

#[test]
fn receiver_absent_at_start_then_present() {
    let port = reserve_port();
    let t = Tracer::new(
        builder()
            .with_endpoint(format!("http://127.0.0.1:{port}"))
            .build()
            .unwrap(),
    )
    .unwrap();
    for i in 0..300 {
        assert!(t.record(simple(&format!("early-{i}"))));
    }
    std::thread::sleep(Duration::from_millis(800));
    let rx = FakeOtlp::start_with(Options {
        http_port: Some(port),
        ..Options::default()
    });
    t.flush(Duration::from_secs(20)).unwrap();
    assert_eq!(rx.span_count(), 300);
    let st = t.stats();
    assert_eq!((st.exported, st.dropped_total()), (300, 0));
    assert!(st.retries >= 1, "{st:?}");
}

#[test]
fn http_503_then_accept_is_retried() {
    let rx = FakeOtlp::start();
    rx.push(Behavior::HttpStatus {
        status: 503,
        retry_after: None,
    });
    rx.push(Behavior::HttpStatus {
        status: 502,
        retry_after: None,
    });
    let t = http_tracer(&rx);
    t.record(simple("a"));
    t.flush(Duration::from_secs(10)).unwrap();
    assert_eq!(rx.span_count(), 1);
    assert_eq!(rx.attempts(), 3);
    assert_eq!(t.stats().retries, 2);
}

#[test]
fn http_429_retry_after_is_honoured() {
    let rx = FakeOtlp::start();
    rx.push(Behavior::HttpStatus {
        status: 429,
        retry_after: Some("1".into()),
    });
    let t = http_tracer(&rx);
    t.record(simple("a"));
    let start = Instant::now();
    t.flush(Duration::from_secs(10)).unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        start.elapsed()
    );
    assert_eq!((rx.attempts(), rx.span_count()), (2, 1));
}

#[test]
fn http_400_is_never_retried() {
    let rx = FakeOtlp::start();
    rx.set_default(Behavior::HttpStatus {
        status: 400,
        retry_after: None,
    });
    let t = http_tracer(&rx);
    for _ in 0..3 {
        t.record(simple("bad"));
    }
    t.flush(Duration::from_secs(10)).unwrap();
    assert_eq!(rx.attempts(), 1);
    let st = t.stats();
    assert_eq!((st.export_failures, st.retries, st.exported), (3, 0, 0));
    assert!(
        st.exporters[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("400")
    );
}

#[test]
fn grpc_unavailable_retried_resource_exhausted_only_with_retry_info() {
    let rx = FakeOtlp::start();
    rx.push(Behavior::GrpcStatus {
        code: Code::Unavailable,
        retry_delay: None,
    });
    rx.push(Behavior::GrpcStatus {
        code: Code::ResourceExhausted,
        retry_delay: Some(Duration::from_millis(300)),
    });
    let t = grpc_tracer(&rx);
    t.record(simple("a"));
    t.flush(Duration::from_secs(10)).unwrap();
    assert_eq!((rx.attempts(), rx.span_count()), (3, 1));

    rx.reset();
    rx.push(Behavior::GrpcStatus {
        code: Code::ResourceExhausted,
        retry_delay: None,
    });
    t.record(simple("b"));
    t.flush(Duration::from_secs(10)).unwrap();
    assert_eq!((rx.attempts(), rx.span_count()), (1, 0));
    assert_eq!(t.stats().export_failures, 1);
}

#[test]
fn partial_success_counts_rejected_spans() {
    let rx = FakeOtlp::start();
    rx.push(Behavior::PartialSuccess {
        rejected: 2,
        message: "too old".into(),
    });
    let t = http_tracer(&rx);
    for _ in 0..5 {
        t.record(simple("p"));
    }
    t.flush(Duration::from_secs(10)).unwrap();
    let st = t.stats();
    assert_eq!(st.exported, 3);
    assert_eq!(st.dropped(DropReason::Rejected), 2);
}

#[test]
fn hanging_receiver_never_slows_the_caller_and_shutdown_keeps_its_deadline() {
    let rx = FakeOtlp::start();
    rx.set_default(Behavior::Hang);
    let t = Tracer::new(
        builder()
            .with_endpoint(rx.http_endpoint())
            .with_timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
    )
    .unwrap();
    t.record(simple("first"));
    assert!(rx.wait_for_attempts(1, Duration::from_secs(10)));
    let start = Instant::now();
    for i in 0..10_000 {
        assert!(t.record(simple(&format!("s{i}"))));
    }
    let recording = start.elapsed();
    assert!(
        recording < Duration::from_secs(2),
        "recording 10k spans took {recording:?} with a hung receiver"
    );
    let start = Instant::now();
    let res = t.shutdown(Duration::from_millis(500));
    let took = start.elapsed();
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
    match res {
        Err(LifecycleError::Timeout { pending, .. }) => assert_eq!(pending, 10_001),
        other => panic!("{other:?}"),
    }
    assert!(wait_until(Duration::from_secs(5), || t
        .stats()
        .dropped(DropReason::Shutdown)
        == 10_001));
}

#[test]
fn shutdown_with_unreachable_endpoint_returns_in_time() {
    let port = reserve_port();
    let t = Tracer::new(
        builder()
            .with_endpoint(format!("http://127.0.0.1:{port}"))
            .build()
            .unwrap(),
    )
    .unwrap();
    for _ in 0..50 {
        t.record(simple("x"));
    }
    let start = Instant::now();
    let res = t.shutdown(Duration::from_millis(700));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    // Either retries ran out before the deadline (reported as failures) or
    // the deadline cut them (reported as pending): never a silent success.
    match res {
        Ok(report) => assert_eq!((report.exported, report.export_failures), (0, 50)),
        Err(LifecycleError::Timeout { pending, .. }) => assert_eq!(pending, 50),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn big_prompts_are_split_below_the_grpc_limit() {
    let rx = FakeOtlp::start();
    let t = grpc_tracer(&rx);
    let prompt: Str = "p".repeat(7 * 1024).into();
    for _ in 0..512 {
        let mut r = simple("chat");
        let mut c = LlmCall::new("openai", Operation::Chat);
        c.input_messages = vec![Message::text("user", prompt.clone())];
        r.llm = Some(Box::new(c));
        t.record(r);
    }
    t.flush(Duration::from_secs(20)).unwrap();
    assert_eq!(
        rx.span_count(),
        512,
        "every batch accepted under the 4 MiB limit"
    );
    assert!(rx.requests().len() >= 2);
    assert!(rx.requests().iter().all(|r| r.body_bytes < 4 * 1024 * 1024));
    assert_eq!(t.stats().export_failures, 0);
}

#[test]
fn local_store_and_otlp_at_once() {
    let rx = FakeOtlp::start();
    let dir = std::env::temp_dir().join(format!("tt-multi-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let t = Tracer::new(
        builder()
            .with_endpoint(rx.http_endpoint())
            .with_exporters([ExporterKind::File, ExporterKind::Otlp])
            .with_dir(dir.clone())
            .build()
            .unwrap(),
    )
    .unwrap();
    workflow(&t);
    t.shutdown(Duration::from_secs(10)).unwrap();
    assert_eq!(rx.span_count(), 2);
    let stored = tokentrace_core::store::StoreReader::open(&dir)
        .unwrap()
        .load();
    assert_eq!(stored.spans.len(), 2);
    let st = t.stats();
    assert_eq!(st.exporters.len(), 2);
    assert!(st.exporters.iter().all(|e| e.exported == 2));
    let _ = std::fs::remove_dir_all(&dir);
}

fn metrics_round_trip(rx: &FakeOtlp, t: &Tracer) {
    let mut call = full_chat_span(TraceId::random(), None);
    call.status = Status::default();
    if let Some(c) = call.llm.as_mut() {
        c.error = None;
    }
    call.attributes.push(KeyValue::new("feature.name", "qa"));
    t.record(call.clone());
    t.record(call);
    t.flush(Duration::from_secs(10)).unwrap();
    assert!(rx.wait_for_metric("gen_ai.client.token.usage", Duration::from_secs(5)));
    let points = rx.metric_points("gen_ai.client.token.usage");
    let input = points
        .iter()
        .find(|p| p.has_attribute("gen_ai.token.type", "input"))
        .expect("input series");
    assert_eq!(input.count(), Some(2));
    assert_eq!(input.sum(), Some(2400.0));
    assert!(input.has_attribute("gen_ai.request.model", "gpt-4o"));
    assert!(input.has_attribute("feature.name", "qa"));
    let duration = rx.metric_points("gen_ai.client.operation.duration");
    assert_eq!(duration[0].count(), Some(2));
    assert_eq!(duration[0].sum(), Some(3.0));
    assert!(
        !rx.metric_points("gen_ai.client.operation.time_to_first_chunk")
            .is_empty()
    );
    let cost = rx.metric_points("tokentrace.client.cost");
    assert!(cost[0].value().unwrap() > 0.0, "gpt-4o is priced");
    let m = &rx.metrics()[0];
    assert_eq!(s(m.resource_attribute("service.name")), "itest");
    assert!(t.stats().metric_exports >= 1);
}

#[test]
fn genai_metrics_over_http() {
    let rx = FakeOtlp::start();
    let t = http_tracer(&rx);
    metrics_round_trip(&rx, &t);
    assert_eq!(rx.metric_requests()[0].transport, Transport::Http);
}

#[test]
fn genai_metrics_over_grpc() {
    let rx = FakeOtlp::start();
    let t = grpc_tracer(&rx);
    metrics_round_trip(&rx, &t);
    assert_eq!(rx.metric_requests()[0].transport, Transport::Grpc);
}
