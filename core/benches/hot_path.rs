//! Hot path: building and recording one realistic LLM span on the
//! application thread (target: < 1 µs median), against the OpenTelemetry SDK
//! creating and ending the same span with its `BatchSpanProcessor`.
//!
//! Both pipelines export to a do-nothing sink, so their workers run during
//! the measurement (tokentrace's maps every record to OTLP) without a
//! receiver competing for the cores. Spans are recorded in chunks of 2,048
//! (the peer's default queue size) and each pipeline is flushed between
//! chunks, outside the timed region: nothing is dropped (checked at the
//! end), and the queue never fills, so the figure is the steady-state cost
//! of a span that is accepted.
//!
//! Each is measured twice: by wall clock (what the application sees) and by
//! the recording thread's CPU clock (the same work without the time slices
//! other processes take on a busy machine).
//!
//! Run: `cargo bench -p tokentrace-core --bench hot_path`

/// The allocator the bindings ship with (both sides of each comparison use it).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use std::hint::black_box;

use criterion::Criterion;
use tokentrace_core::config::env::EnvSnapshot;
use tokentrace_core::{Config, Tracer};

use common::payload::Payload;
use common::peer::Peer;
use common::sink::{PeerSink, tt_sink_factory};

const CHUNK: u64 = 2048;
const GROUP: &str = "hot_path";
const GROUP_CPU: &str = "hot_path_cpu";
const TT: &str = "tokentrace";
const PEER: &str = "opentelemetry_sdk";

fn main() {
    let started = std::time::SystemTime::now();
    let payload = Payload::new();

    // tokentrace: default configuration, no configured exporter, the sink.
    let tt_sunk = Arc::new(AtomicU64::new(0));
    let config = Config::builder()
        .with_env(EnvSnapshot::empty())
        .with_exporters(Vec::new())
        .build()
        .expect("config");
    let tracer = Tracer::with_exporters(config, "rust", vec![tt_sink_factory(tt_sunk.clone())])
        .expect("tracer");
    let tt_recorded = AtomicU64::new(0);

    // Peer: the SDK's default BatchConfig (queue 2048, batch 512, 5 s).
    let peer_sink = PeerSink::default();
    let peer_sunk = peer_sink.spans.clone();
    let peer = Peer::with_exporter(peer_sink, None);
    let peer_recorded = AtomicU64::new(0);

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .configure_from_args();
    for clock in [Clock::Wall, Clock::ThreadCpu] {
        let mut g = c.benchmark_group(clock.group());
        g.bench_function(TT, |b| {
            b.iter_custom(|iters| {
                chunked(
                    iters,
                    clock,
                    || {
                        black_box(tracer.record(payload.record()));
                    },
                    || {
                        let _ = tracer.flush(Duration::from_secs(30));
                    },
                    &tt_recorded,
                )
            })
        });
        g.bench_function(PEER, |b| {
            b.iter_custom(|iters| {
                chunked(
                    iters,
                    clock,
                    || payload.peer_span(&peer.tracer),
                    || {
                        let _ = peer.provider.force_flush();
                    },
                    &peer_recorded,
                )
            })
        });
        g.finish();
    }
    c.final_summary();

    let _ = tracer.flush(Duration::from_secs(30));
    let _ = peer.provider.force_flush();
    let stats = tracer.stats();
    let tt_rec = tt_recorded.load(Relaxed);
    let peer_rec = peer_recorded.load(Relaxed);
    let _ = tracer.shutdown(Duration::from_secs(5));
    peer.shutdown(Duration::from_secs(5));

    println!();
    println!(
        "hot path: build + record one LLM span (2 KB prompt, 500 B completion, 10 attributes)"
    );
    println!(
        "drops: tokentrace {} of {} recorded (stats: enqueued {}, exported {}, sink {}); \
         opentelemetry_sdk {} of {} (sink {})",
        tt_rec.saturating_sub(tt_sunk.load(Relaxed)),
        tt_rec,
        stats.enqueued,
        stats.exported,
        tt_sunk.load(Relaxed),
        peer_rec.saturating_sub(peer_sunk.load(Relaxed)),
        peer_rec,
        peer_sunk.load(Relaxed),
    );
    assert_eq!(
        stats.dropped_total(),
        0,
        "tokentrace dropped spans: {stats:?}"
    );
    print_table(started);
}

/// What a span's time is measured with.
#[derive(Clone, Copy)]
enum Clock {
    /// Elapsed time: what the application sees, including time the thread
    /// was not running (on a busy machine, other processes' time slices).
    Wall,
    /// The recording thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`): the
    /// work itself, including page faults, excluding preemption.
    ThreadCpu,
}

impl Clock {
    fn group(self) -> &'static str {
        match self {
            Clock::Wall => GROUP,
            Clock::ThreadCpu => GROUP_CPU,
        }
    }

    fn now(self) -> u64 {
        match self {
            Clock::Wall => {
                static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
                START.get_or_init(Instant::now).elapsed().as_nanos() as u64
            }
            Clock::ThreadCpu => common::cpu::this_thread_ns(),
        }
    }
}

/// Runs `iters` spans in chunks, timing only `one`; `settle` (flush) runs
/// between chunks, untimed.
fn chunked(
    iters: u64,
    clock: Clock,
    mut one: impl FnMut(),
    mut settle: impl FnMut(),
    recorded: &AtomicU64,
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK);
        let t = clock.now();
        for _ in 0..n {
            one();
        }
        total += Duration::from_nanos(clock.now().saturating_sub(t));
        recorded.fetch_add(n, Relaxed);
        settle();
        left -= n;
    }
    total
}

/// Criterion's output directory, found the way criterion finds it.
fn criterion_dir() -> Option<PathBuf> {
    if let Some(h) = std::env::var_os("CRITERION_HOME") {
        return Some(PathBuf::from(h));
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(t).join("criterion"));
    }
    // <target>/release/deps/hot_path-<hash>
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.join("criterion"))
}

/// (median, lower, upper) in ns per span from criterion's estimates.
/// Only estimates written by this run count (`--test`, `--list` or a filter
/// leave older files in place).
fn estimate(group: &str, id: &str, since: std::time::SystemTime) -> Option<(f64, f64, f64)> {
    let path = criterion_dir()?
        .join(group)
        .join(id)
        .join("new/estimates.json");
    if std::fs::metadata(&path).ok()?.modified().ok()? < since {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let m = &v["median"];
    Some((
        m["point_estimate"].as_f64()?,
        m["confidence_interval"]["lower_bound"].as_f64()?,
        m["confidence_interval"]["upper_bound"].as_f64()?,
    ))
}

fn print_table(since: std::time::SystemTime) {
    println!();
    println!(
        "| pipeline | clock | median ns/span | 95% CI | vs opentelemetry_sdk | target < 1 µs |"
    );
    println!("|---|---|---:|---|---:|---|");
    for (group, clock) in [(GROUP, "wall"), (GROUP_CPU, "thread CPU")] {
        let (Some(tt), Some(peer)) = (estimate(group, TT, since), estimate(group, PEER, since))
        else {
            println!("| (no criterion estimates for {group}: run without --test or a filter) |");
            continue;
        };
        let verdict = if tt.0 < 1000.0 { "met" } else { "MISSED" };
        println!(
            "| tokentrace (SpanRecord + LlmCall, record) | {clock} | {:.0} | {:.0}–{:.0} | {} | {verdict} |",
            tt.0,
            tt.1,
            tt.2,
            common::ratio(tt.0, peer.0)
        );
        println!(
            "| opentelemetry_sdk 0.33 (span_builder + end, BatchSpanProcessor) | {clock} | {:.0} | {:.0}–{:.0} | 1.00x | |",
            peer.0, peer.1, peer.2
        );
    }
}
