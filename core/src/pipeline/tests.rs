use super::*;
use crate::export::{BoxFuture, ExportContext, ExportResult};
use crate::model::*;
use std::sync::atomic::AtomicUsize;
use std::sync::mpsc;

fn base() -> crate::config::ConfigBuilder {
    Config::builder()
        .with_env(crate::config::env::EnvSnapshot::empty())
        .with_exporters([ExporterKind::Memory])
        .with_schedule_delay(Duration::from_millis(20))
}

fn llm_span() -> SpanRecord {
    let mut r = SpanRecord::new("");
    r.kind = SpanKind::Client;
    r.start_unix_nanos = 1_000;
    r.end_unix_nanos = 2_000_001_000;
    let mut call = LlmCall::new("openai", Operation::Chat);
    call.request_model = Some("gpt-4o-mini".into());
    call.response_model = Some("gpt-4o-mini-2024-07-18".into());
    call.params.temperature = Some(0.2);
    call.params.max_tokens = Some(256);
    call.system_instructions = [Part::text("You are terse.")].into();
    call.input_messages = vec![Message::text("user", "Weather in Paris?")];
    let mut out = Message::text("assistant", "Sunny.");
    out.finish_reason = Some("stop".into());
    call.output_messages = vec![out];
    call.finish_reasons = vec!["stop".into()];
    call.usage = Usage {
        input_tokens: Some(12),
        output_tokens: Some(3),
        cache_read_input_tokens: Some(0),
        ..Default::default()
    };
    call.time_to_first_token_ns = Some(250_000_000);
    r.llm = Some(Box::new(call));
    r
}

#[test]
fn memory_round_trip_with_genai_attributes() {
    let t = Tracer::new(
        base()
            .with_service_name("svc")
            .with_environment("test")
            .build()
            .unwrap(),
    )
    .unwrap();
    let mut root = SpanRecord::new("answer_question");
    root.attributes.push(KeyValue::new("feature.name", "qa"));
    let mut child = llm_span();
    child.trace_id = root.trace_id;
    child.parent_span_id = Some(root.span_id);
    assert!(t.record(child));
    assert!(t.record(root.clone()));
    t.flush(Duration::from_secs(5)).unwrap();
    let spans = t.memory_spans();
    assert_eq!(spans.len(), 2);
    let c = spans
        .iter()
        .find(|s| s.name == "chat gpt-4o-mini")
        .expect("named by convention");
    assert_eq!(c.kind, "client");
    assert_eq!(
        c.parent_span_id.as_deref(),
        Some(root.span_id.to_hex().as_str())
    );
    assert_eq!(c.trace_id, root.trace_id.to_hex());
    assert_eq!(c.attr("gen_ai.operation.name").unwrap(), "chat");
    assert_eq!(c.attr("gen_ai.provider.name").unwrap(), "openai");
    assert_eq!(
        c.attr("gen_ai.response.model").unwrap(),
        "gpt-4o-mini-2024-07-18"
    );
    assert_eq!(c.attr("gen_ai.usage.input_tokens").unwrap(), 12);
    assert_eq!(c.attr("gen_ai.usage.output_tokens").unwrap(), 3);
    assert_eq!(c.attr("gen_ai.request.temperature").unwrap(), 0.2);
    assert_eq!(c.attr("gen_ai.response.time_to_first_chunk").unwrap(), 0.25);
    let input: serde_json::Value =
        serde_json::from_str(c.attr("gen_ai.input.messages").unwrap().as_str().unwrap()).unwrap();
    assert_eq!(input[0]["parts"][0]["content"], "Weather in Paris?");
    assert_eq!(c.resource["service.name"], "svc");
    assert_eq!(c.resource["deployment.environment.name"], "test");
    assert_eq!(c.resource["telemetry.sdk.name"], "tokentrace");
    let s = t.stats();
    assert_eq!((s.enqueued, s.exported, s.pending), (2, 2, 0));
}

#[test]
fn capture_off_keeps_structure_drops_text() {
    let t = Tracer::new(base().with_capture_content(false).build().unwrap()).unwrap();
    t.record(llm_span());
    t.flush(Duration::from_secs(5)).unwrap();
    let s = &t.memory_spans()[0];
    let input = s.attr("gen_ai.input.messages").unwrap().as_str().unwrap();
    assert!(!input.contains("Paris"), "{input}");
    assert!(input.contains("\"role\":\"user\""));
    assert!(
        !s.attr("gen_ai.system_instructions")
            .unwrap()
            .as_str()
            .unwrap()
            .contains("terse")
    );
    assert_eq!(s.attr("gen_ai.usage.output_tokens").unwrap(), 3);
}

/// An exporter that blocks each export until the test releases it.
struct Gate {
    rx: Mutex<mpsc::Receiver<()>>,
    batches: Mutex<Vec<usize>>,
    calls: AtomicUsize,
    panic_first: bool,
}

impl SpanExporter for Gate {
    fn name(&self) -> &'static str {
        "gate"
    }
    fn export<'a>(
        &'a self,
        batch: &'a ExportBatch,
        _ctx: ExportContext,
    ) -> BoxFuture<'a, ExportResult> {
        Box::pin(async move {
            let n = self.calls.fetch_add(1, SeqCst);
            if self.panic_first && n == 0 {
                panic!("exporter bug");
            }
            // Poll the gate without blocking the runtime thread forever.
            loop {
                let got = self.rx.lock().unwrap().try_recv();
                match got {
                    Ok(()) => break,
                    Err(mpsc::TryRecvError::Disconnected) => break,
                    Err(mpsc::TryRecvError::Empty) => {
                        tokio::time::sleep(Duration::from_millis(1)).await
                    }
                }
            }
            self.batches.lock().unwrap().push(batch.span_count);
            ExportResult::ok()
        })
    }
}

fn gated(cfg: Config, panic_first: bool) -> (Tracer, mpsc::Sender<()>, Arc<Gate>) {
    let (tx, rx) = mpsc::channel();
    let gate = Arc::new(Gate {
        rx: Mutex::new(rx),
        batches: Mutex::new(Vec::new()),
        calls: AtomicUsize::new(0),
        panic_first,
    });
    let g2 = gate.clone();
    let factory: Arc<dyn ExporterFactory> =
        Arc::new(move || Ok(g2.clone() as Arc<dyn SpanExporter>));
    let t = Tracer::with_exporters(cfg, "rust", vec![factory]).unwrap();
    (t, tx, gate)
}

fn wait_for(mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < end, "condition not reached");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn queue_overflow_drop_count_is_exact() {
    let cfg = base()
        .with_exporters([])
        .with_max_queue_size(10usize)
        .with_max_export_batch_size(10usize)
        .build()
        .unwrap();
    let (t, tx, gate) = gated(cfg, false);
    assert!(t.record(SpanRecord::new("first")));
    let _ = t.flush(Duration::from_millis(1)); // wake the worker
    wait_for(|| gate.calls.load(SeqCst) == 1); // worker now blocked in export
    let accepted = (0..25)
        .filter(|i| t.record(SpanRecord::new(format!("s{i}"))))
        .count();
    assert_eq!(accepted, 10);
    let s = t.stats();
    assert_eq!(s.dropped(DropReason::QueueFull), 15);
    assert_eq!(s.enqueued, 11);
    drop(tx); // release every export
    t.flush(Duration::from_secs(5)).unwrap();
    let s = t.stats();
    assert_eq!(s.exported, 11);
    assert_eq!(s.dropped_total(), 15);
}

#[test]
fn flush_and_shutdown_respect_their_timeouts_when_the_exporter_hangs() {
    let (t, _tx, gate) = gated(base().with_exporters([]).build().unwrap(), false);
    for i in 0..5 {
        t.record(SpanRecord::new(format!("s{i}")));
    }
    let start = Instant::now();
    match t.flush(Duration::from_millis(200)) {
        Err(LifecycleError::Timeout { pending, .. }) => assert_eq!(pending, 5),
        other => panic!("{other:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(2));
    wait_for(|| gate.calls.load(SeqCst) >= 1);
    let start = Instant::now();
    match t.shutdown(Duration::from_millis(300)) {
        Err(LifecycleError::Timeout { pending, .. }) => assert_eq!(pending, 5),
        other => panic!("{other:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(2));
    wait_for(|| t.stats().dropped(DropReason::Shutdown) == 5);
    assert!(!t.record(SpanRecord::new("late")));
    assert_eq!(
        t.shutdown(Duration::from_millis(10)),
        Err(LifecycleError::AlreadyShutdown)
    );
}

#[test]
fn worker_panic_is_caught_counted_and_restarted() {
    let (t, tx, _gate) = gated(base().with_exporters([]).build().unwrap(), true);
    drop(tx);
    t.record(SpanRecord::new("lost"));
    let _ = t.flush(Duration::from_secs(2));
    wait_for(|| t.stats().worker_panics == 1);
    assert!(t.record(SpanRecord::new("after")));
    t.flush(Duration::from_secs(5)).unwrap();
    let s = t.stats();
    assert_eq!(s.dropped(DropReason::WorkerPanic), 1);
    assert_eq!(s.exported, 1);
}

#[test]
fn batches_are_split_by_bytes() {
    let cfg = base()
        .with_exporters([])
        .with_max_batch_bytes(64 * 1024usize)
        .build()
        .unwrap();
    let (t, tx, gate) = gated(cfg, false);
    drop(tx);
    for _ in 0..40 {
        let mut r = SpanRecord::new("big");
        r.attributes
            .push(KeyValue::new("payload", "x".repeat(7 * 1024)));
        t.record(r);
    }
    t.flush(Duration::from_secs(5)).unwrap();
    let batches = gate.batches.lock().unwrap().clone();
    assert_eq!(batches.iter().sum::<usize>(), 40);
    assert!(batches.len() >= 5, "{batches:?}");
    assert!(batches.iter().all(|n| *n <= 9), "{batches:?}");
}

#[test]
fn a_batch_full_by_bytes_is_sent_alone_and_without_waiting_for_the_delay() {
    // A minute's delay and 512 spans a batch: only the byte budget can make
    // 40 queued spans due.
    let cfg = base()
        .with_exporters([])
        .with_schedule_delay(Duration::from_secs(60))
        .with_max_batch_bytes(64 * 1024usize)
        .build()
        .unwrap();
    let (t, tx, gate) = gated(cfg, false);
    // One small span first, so the worker has exported and gone to sleep
    // for the delay: the producer must wake it.
    t.record(SpanRecord::new("small"));
    t.flush(Duration::from_millis(1)).ok();
    wait_for(|| gate.calls.load(SeqCst) == 1);
    tx.send(()).unwrap();
    wait_for(|| gate.batches.lock().unwrap().len() == 1);
    std::thread::sleep(Duration::from_millis(50));
    for _ in 0..40 {
        let mut r = SpanRecord::new("big");
        r.attributes
            .push(KeyValue::new("payload", "x".repeat(7 * 1024)));
        t.record(r);
    }
    wait_for(|| gate.calls.load(SeqCst) == 2);
    // While the first request is out, the rest wait in the queue: the
    // worker read one request's worth, not a whole 512-span drain to encode
    // ahead of sending.
    let queued = t.stats().queue_len;
    assert!((30..40).contains(&queued), "{queued} still queued");
    drop(tx);
    t.flush(Duration::from_secs(5)).unwrap();
    let batches = gate.batches.lock().unwrap().clone();
    assert_eq!(batches.iter().sum::<usize>(), 41);
    assert!(batches.iter().all(|n| *n <= 9), "{batches:?}");
}

#[test]
fn queue_is_bounded_by_bytes() {
    let cfg = base()
        .with_exporters([])
        .with_max_queue_bytes(100 * 1024usize)
        .build()
        .unwrap();
    let (t, _tx, gate) = gated(cfg, false);
    assert_eq!(t.stats().queue_max_bytes, 100 * 1024);
    t.record(SpanRecord::new("first"));
    let _ = t.flush(Duration::from_millis(1));
    wait_for(|| gate.calls.load(SeqCst) == 1);
    let mut accepted = 0;
    for _ in 0..100 {
        let mut r = SpanRecord::new("big");
        r.attributes
            .push(KeyValue::new("payload", "x".repeat(10 * 1024)));
        accepted += t.record(r) as u32;
    }
    assert!(accepted < 10, "{accepted}");
    assert_eq!(
        t.stats().dropped(DropReason::QueueBytes),
        100 - accepted as u64
    );
    let mut huge = SpanRecord::new("huge");
    huge.attributes
        .push(KeyValue::new("payload", "x".repeat(200 * 1024)));
    assert!(!t.record(huge));
    assert_eq!(t.stats().dropped(DropReason::Oversize), 1);
}

#[test]
fn disabled_records_nothing() {
    let t = Tracer::new(base().with_disabled(true).build().unwrap()).unwrap();
    assert!(!t.record(SpanRecord::new("x")));
    assert_eq!(t.stats().enqueued, 0);
}

#[test]
fn odd_values_never_panic() {
    let t = Tracer::new(
        base()
            .with_attribute_value_length_limit(1024usize)
            .build()
            .unwrap(),
    )
    .unwrap();
    let mut r = SpanRecord::new(str_from_bytes_lossy(b"bad \xff\xfe utf8"));
    r.attributes = vec![
        KeyValue::new("nan", f64::NAN),
        KeyValue::new("inf", f64::INFINITY),
        KeyValue::new("huge", "é".repeat(1_000_000)),
        KeyValue::new("deep", Value::Json("[".repeat(10_000).into())),
        KeyValue::new("arr", Value::StrArray(vec!["a".into(); 1000])),
    ];
    let mut call = LlmCall::new("openai", Operation::Chat);
    call.input_messages = vec![Message::new(
        "assistant",
        vec![Part::ToolCall {
            id: None,
            name: "f".into(),
            arguments: Some("[".repeat(100_000).into()),
        }],
    )];
    r.llm = Some(Box::new(call));
    assert!(t.record(r));
    t.flush(Duration::from_secs(5)).unwrap();
    let s = &t.memory_spans()[0];
    assert!(s.name.contains('\u{FFFD}'));
    assert_eq!(s.attr("huge").unwrap().as_str().unwrap().len(), 1024);
    assert_eq!(t.stats().attributes_truncated, 2);
}

#[test]
fn cost_is_attached_unknown_models_counted_and_missing_usage_estimated() {
    let t = Tracer::new(base().build().unwrap()).unwrap();
    t.record(llm_span()); // gpt-4o-mini, 12 in / 3 out
    let mut unknown = llm_span();
    if let Some(c) = unknown.llm.as_mut() {
        c.request_model = Some("my-private-model".into());
        c.response_model = None;
    }
    t.record(unknown);
    let mut no_usage = llm_span();
    if let Some(c) = no_usage.llm.as_mut() {
        c.usage = Usage::default();
    }
    t.record(no_usage);
    t.flush(Duration::from_secs(5)).unwrap();
    let spans = t.memory_spans();
    let priced = &spans[0];
    let total = priced
        .attr("tokentrace.cost.total_usd")
        .unwrap()
        .as_f64()
        .unwrap();
    // gpt-4o-mini: $0.15 / M input, $0.60 / M output.
    assert!(
        (total - (12.0 * 0.15 + 3.0 * 0.60) / 1e6).abs() < 1e-12,
        "{total}"
    );
    assert!(
        spans[1].attr("tokentrace.cost.total_usd").is_none(),
        "never a guess"
    );
    assert_eq!(t.stats().cost_unknown_model, 1);
    let est = &spans[2];
    assert_eq!(est.attr("tokentrace.usage.estimated").unwrap(), true);
    assert!(
        est.attr("gen_ai.usage.input_tokens")
            .unwrap()
            .as_i64()
            .unwrap()
            > 0
    );
    assert!(est.attr("tokentrace.cost.total_usd").is_some());
}

#[test]
fn cost_survives_user_attributes_that_fill_the_count_limit() {
    // The cost is the call's, not an attribute the limit can cut: an app
    // that sets many attributes of its own still sees what its calls cost.
    let t = Tracer::new(base().with_attribute_count_limit(4usize).build().unwrap()).unwrap();
    let mut r = llm_span();
    for i in 0..10i64 {
        r.attributes.push(KeyValue::new(format!("app.{i}"), i));
    }
    t.record(r);
    t.flush(Duration::from_secs(5)).unwrap();
    let s = &t.memory_spans()[0];
    assert!(s.attr("app.3").is_some() && s.attr("app.4").is_none());
    assert!(
        s.attr("tokentrace.cost.total_usd")
            .unwrap()
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(t.stats().attributes_dropped >= 6);
}

#[test]
fn tail_sampling_keeps_error_traces_whole_and_counts_decisions() {
    let cfg = base()
        .with_tail_sampling(crate::sample::TailConfig {
            keep_ratio: 0.0,
            ..Default::default()
        })
        .build()
        .unwrap();
    let t = Tracer::new(cfg).unwrap();
    for i in 0..20 {
        let root = SpanRecord::new(format!("root-{i}"));
        let mut child = llm_span();
        child.trace_id = root.trace_id;
        child.parent_span_id = Some(root.span_id);
        if i % 5 == 0 {
            child.status = Status::error("boom");
        }
        t.record(child);
        t.record(root);
    }
    t.flush(Duration::from_secs(5)).unwrap();
    assert_eq!(t.memory_spans().len(), 8, "4 error traces × 2 spans");
    let s = t.stats();
    assert_eq!(s.dropped(DropReason::TailSampled), 32);
    assert_eq!(s.pending, 0);
    let tail = s.tail.unwrap();
    assert!(tail.decisions.contains(&("kept_error", 4)));
    assert!(tail.decisions.contains(&("dropped", 16)));
}

#[test]
fn feedback_joins_its_trace_and_rescues_it_from_tail_sampling() {
    let cfg = base()
        .with_tail_sampling(crate::sample::TailConfig {
            keep_ratio: 0.0,
            ..Default::default()
        })
        .build()
        .unwrap();
    let t = Tracer::new(cfg).unwrap();
    let root = SpanRecord::new("answer");
    let trace = root.trace_id;
    let mut child = llm_span();
    child.trace_id = trace;
    child.parent_span_id = Some(root.span_id);
    t.record(child);
    assert!(
        t.feedback(
            trace,
            Some(root.span_id),
            0.1,
            Some("bad"),
            Some("wrong city")
        )
        .unwrap()
    );
    t.record(root);
    t.flush(Duration::from_secs(5)).unwrap();
    let spans = t.memory_spans();
    assert_eq!(spans.len(), 3);
    let fb = spans.iter().find(|s| s.name == "feedback").unwrap();
    assert_eq!(fb.trace_id, trace.to_hex());
    assert_eq!(fb.attr("gen_ai.evaluation.score.value").unwrap(), 0.1);
    assert_eq!(fb.attr("gen_ai.evaluation.score.label").unwrap(), "bad");
    assert!(t.feedback(trace, None, f64::NAN, None, None).is_err());
    assert_eq!(
        t.feedback(TraceId::INVALID, None, 1.0, None, None)
            .unwrap_err()
            .field,
        "trace_id"
    );
}

#[test]
fn genai_metrics_are_exported_on_flush() {
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    let t = Tracer::new(base().build().unwrap()).unwrap();
    let mut a = llm_span();
    a.attributes.push(KeyValue::new("feature.name", "qa"));
    t.record(a.clone());
    t.record(a);
    t.flush(Duration::from_secs(5)).unwrap();
    let req = t.memory_metrics().expect("metrics exported by flush");
    let metrics = &req.resource_metrics[0].scope_metrics[0].metrics;
    let tokens = metrics
        .iter()
        .find(|m| m.name == "gen_ai.client.token.usage")
        .unwrap();
    let Some(Data::Histogram(h)) = &tokens.data else {
        panic!()
    };
    let input = h
        .data_points
        .iter()
        .find(|p| {
            p.attributes.iter().any(|kv| {
                kv.key == "gen_ai.token.type" && format!("{:?}", kv.value).contains("input")
            })
        })
        .unwrap();
    assert_eq!((input.count, input.sum), (2, Some(24.0)));
    assert!(input.attributes.iter().any(|kv| kv.key == "feature.name"));
    assert!(
        metrics
            .iter()
            .any(|m| m.name == "gen_ai.client.operation.duration")
    );
    assert!(
        metrics
            .iter()
            .any(|m| m.name == "gen_ai.client.operation.time_to_first_chunk")
    );
    assert!(metrics.iter().any(|m| m.name == "tokentrace.client.cost"));
    assert!(t.stats().metric_exports >= 1);
    assert_eq!(
        req.resource_metrics[0]
            .resource
            .as_ref()
            .unwrap()
            .attributes[0]
            .key,
        "service.name"
    );
}
