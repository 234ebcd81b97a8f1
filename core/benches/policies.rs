//! Issue 4's two benchmarks:
//! 1. the head-sampling decision (ns per decision), tokentrace's sampler
//!    against opentelemetry_sdk's `ParentBased(TraceIdRatioBased)` on the
//!    same trace ids;
//! 2. the export worker's throughput with every policy on (redaction, tail
//!    sampling holding whole traces, cost, token signals, metrics) against
//!    the same worker with them off — target: at least half.
//!
//! Run: `cargo bench -p tokentrace-core --bench policies`

/// The allocator the bindings ship with (both sides of each comparison use it).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use common::{cpu, payload::Payload, ratio, sink::tt_sink_factory, thousands};
use opentelemetry::trace::{SpanKind, TraceId as OtelTraceId};
use opentelemetry_sdk::trace::{Sampler as OtelSampler, ShouldSample};
use tokentrace_core::config::env::EnvSnapshot;
use tokentrace_core::sample::TailConfig;
use tokentrace_core::*;

const DECISIONS: usize = 5_000_000;

fn head_sampling() {
    let ids: Vec<TraceId> = (0..4096).map(|_| TraceId::random()).collect();
    let ours = Sampler::ParentBased(sample::RootSampler::TraceIdRatio(0.1));
    let t0 = cpu::this_thread_ns();
    let mut kept = 0u64;
    for i in 0..DECISIONS {
        kept += ours.should_sample(black_box(&ids[i & 4095]), ParentSampling::None) as u64;
    }
    let ours_ns = (cpu::this_thread_ns() - t0) as f64 / DECISIONS as f64;

    let peer = OtelSampler::ParentBased(Box::new(OtelSampler::TraceIdRatioBased(0.1)));
    let peer_ids: Vec<OtelTraceId> = ids.iter().map(|t| OtelTraceId::from_bytes(t.0)).collect();
    let t0 = cpu::this_thread_ns();
    let mut peer_kept = 0u64;
    for i in 0..DECISIONS {
        let r = peer.should_sample(
            None,
            black_box(peer_ids[i & 4095]),
            "chat gpt-4o",
            &SpanKind::Client,
            &[],
            &[],
        );
        peer_kept += matches!(
            r.decision,
            opentelemetry_sdk::trace::SamplingDecision::RecordAndSample
        ) as u64;
    }
    let peer_ns = (cpu::this_thread_ns() - t0) as f64 / DECISIONS as f64;
    println!(
        "\nhead sampling: parent-based trace-id ratio 0.1, {} decisions (thread CPU)",
        thousands(DECISIONS as u64)
    );
    println!("| sampler | ns / decision | kept | vs opentelemetry_sdk |");
    println!("|---|---:|---:|---:|");
    println!(
        "| tokentrace | {ours_ns:.2} | {:.1}% | {} |",
        kept as f64 * 100.0 / DECISIONS as f64,
        ratio(ours_ns, peer_ns)
    );
    println!(
        "| opentelemetry_sdk 0.33 | {peer_ns:.2} | {:.1}% | 1.00x |",
        peer_kept as f64 * 100.0 / DECISIONS as f64
    );
}

/// Records `n` spans in traces of 4 (one root), waits for the worker, and
/// returns (spans/s delivered, worker CPU µs per span).
fn worker_run(policies: bool, n: usize, p: &Payload) -> (f64, f64, u64) {
    let sunk = Arc::new(AtomicU64::new(0));
    let mut b = Config::builder()
        .with_env(EnvSnapshot::empty())
        .with_exporters([])
        .with_max_queue_size(n + 1)
        .with_max_queue_bytes(1usize << 32);
    b = if policies {
        b.with_tail_sampling(TailConfig {
            keep_ratio: 1.0,
            ..TailConfig::default()
        })
    } else {
        b.without_redaction().with_metrics(false)
    };
    let cfg = b.build().expect("valid config");
    let t =
        Tracer::with_exporters(cfg, "rust", vec![tt_sink_factory(sunk.clone())]).expect("tracer");
    // Warm the worker (thread, runtime, tokenizer-free paths).
    t.record(p.record());
    t.flush(Duration::from_secs(30)).ok();
    let before = cpu::snapshot();
    let start = Instant::now();
    let mut i = 0;
    while i < n {
        let root = SpanRecord::new("answer_question");
        for _ in 0..3 {
            let mut r = p.record();
            r.trace_id = root.trace_id;
            r.parent_span_id = Some(root.span_id);
            t.record(r);
        }
        t.record(root);
        i += 4;
    }
    t.flush(Duration::from_secs(120)).expect("flushed");
    let elapsed = start.elapsed();
    let delta = cpu::delta_by_name(&before, &cpu::snapshot());
    let worker_ns = cpu::sum_prefixed(&delta, &["tokentrace-expo"]);
    let delivered = sunk.load(Relaxed) - 1;
    t.shutdown(Duration::from_secs(10)).ok();
    (
        delivered as f64 / elapsed.as_secs_f64(),
        worker_ns as f64 / 1e3 / delivered.max(1) as f64,
        delivered,
    )
}

fn main() {
    head_sampling();
    let p = Payload::new();
    let n = std::env::var("TT_BENCH_SPANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let (off_rate, off_cpu, off_n) = worker_run(false, n, &p);
    let (on_rate, on_cpu, on_n) = worker_run(true, n, &p);
    println!(
        "\nworker with every policy on vs off: {} spans in traces of 4, sink exporter",
        thousands(n as u64)
    );
    println!("| worker | delivered | spans/s | worker CPU µs/span |");
    println!("|---|---:|---:|---:|");
    println!(
        "| policies off (no redaction, no tail, no metrics) | {} | {} | {off_cpu:.2} |",
        thousands(off_n),
        thousands(off_rate as u64)
    );
    println!(
        "| policies on (redaction, tail sampling, cost, signals, metrics) | {} | {} | {on_cpu:.2} |",
        thousands(on_n),
        thousands(on_rate as u64)
    );
    let share = off_cpu / on_cpu;
    println!(
        "\nthroughput with policies on = {:.0}% of off by worker CPU ({}); target >= 50%: {}",
        share * 100.0,
        ratio(on_cpu, off_cpu),
        if share >= 0.5 { "met" } else { "missed" }
    );
}
