//! Pipeline: what reaches a receiver, how fast, and at what CPU cost on the
//! export thread — tokentrace against `opentelemetry_sdk`'s
//! `BatchSpanProcessor` + `opentelemetry-otlp` (HTTP/protobuf), same spans,
//! same loopback receiver (decodes every request with prost), same run.
//!
//! (a) throughput: 200,000 spans recorded as fast as one thread can, queues
//!     sized to hold the run (so nothing drops), delivered to OTLP/HTTP and,
//!     for tokentrace, to the local store (file exporter, temp dir).
//!     Target: >= 100,000 spans/s delivered.
//! (b) burst: the same 200,000 spans with each pipeline's DEFAULT
//!     configuration, then flush and shutdown; counts what the receiver
//!     decoded. Target: tokentrace delivers all of them (stats and receiver).
//! (c) export CPU per delivered span, from the export threads' CPU time
//!     (`/proc/self/task/<tid>/schedstat`). Target: <= 1.5 µs.
//! (d) new text per call: as (a) over OTLP/HTTP, but no two calls carry the
//!     same user message or completion, so no memo of tokentrace's worker
//!     (escaping, redaction) can serve them and the peer serialises its
//!     content JSON per call. Reported beside the targets, not judged.
//! (e) floors, once per round: the CPU a thread that encodes nothing spends
//!     sending the same request bytes per span over loopback (with cubic, as
//!     tokentrace's connections, and with the host's congestion control, as
//!     the peer's), and appending the store's bytes per span to a file. They
//!     move with the machine's state as the exporters do, and tell the
//!     exporters' own work from the kernel's.
//!
//! Every run is repeated (`TT_BENCH_ROUNDS`, default 3), the rounds
//! interleaved so that both pipelines see the same minutes of a noisy
//! machine; each round is printed, and ratios and targets use each run's
//! median round (by export CPU).
//!
//! Each pipeline first exports one span, outside the measured window: the
//! export thread's first allocations (fresh pages, slow to fault in a VM),
//! the HTTP connection and the first request are start-up, not per-span
//! cost. Both sides get the same warm-up.
//!
//! Run: `cargo bench -p tokentrace-core --bench pipeline`
//! (`TT_BENCH_SPANS=50000` for a quicker run, `TT_BENCH_ONLY=tt-http,peer-http`
//! to pick runs: tt-http, tt-file, peer-http, tt-burst, peer-burst,
//! tt-http-new, peer-http-new, floor;
//! `TT_BENCH_BATCH=N` sets tokentrace's export batch size in the tt-http
//! run, for the batch-size sweep in bench/README; `TT_BENCH_BATCH_BYTES=N`
//! its byte budget; `TT_BENCH_REDACTION=off` turns tokentrace's redaction
//! off in every run.)

/// The allocator the bindings ship with (both sides of each comparison use it).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use opentelemetry_sdk::trace::BatchConfigBuilder;
use tokentrace_core::config::env::EnvSnapshot;
use tokentrace_core::{Config, ConfigBuilder, ExporterKind, Stats, Tracer};

use common::payload::Payload;
use common::peer::{BSP_THREAD, Peer, REQWEST_THREAD};
use common::receiver::Receiver;
use common::{TempDir, cpu, ratio, thousands};

const TT_THREAD: &str = "tokentrace-expo";
/// Queue size of the throughput runs (both pipelines): holds the whole run.
const BIG_QUEUE: usize = 262_144;

struct Run {
    name: &'static str,
    config: &'static str,
    spans: u64,
    delivered: u64,
    /// Drops as the pipeline itself reports them (`None`: it cannot).
    reported_drops: Option<u64>,
    app: Duration,
    /// CPU time of the recording thread during the recording loop.
    app_cpu: Duration,
    /// First record to last delivery.
    elapsed: Duration,
    export_cpu_ns: u64,
    /// Request body bytes the receiver got, or bytes written to the store.
    wire_bytes: Option<u64>,
    threads: BTreeMap<String, u64>,
    /// User and system time by thread (10 ms resolution).
    user_sys: BTreeMap<String, (u64, u64)>,
    stats: Option<Stats>,
}

impl Run {
    fn per_s(&self) -> f64 {
        self.delivered as f64 / self.elapsed.as_secs_f64()
    }
    fn cpu_us(&self) -> f64 {
        common::ns_per(Duration::from_nanos(self.export_cpu_ns), self.delivered) / 1000.0
    }
    fn app_ns(&self) -> f64 {
        common::ns_per(self.app, self.spans)
    }
    fn app_cpu_ns(&self) -> f64 {
        common::ns_per(self.app_cpu, self.spans)
    }
}

fn main() {
    let n: u64 = std::env::var("TT_BENCH_SPANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let payload = Payload::new();
    println!(
        "pipeline bench: {} spans per run; span = chat call, {} B prompt, {} B completion, 10 attributes",
        thousands(n),
        common::payload::PROMPT_BYTES,
        common::payload::COMPLETION_BYTES
    );
    println!(
        "tokentrace record approx_bytes = {} B",
        payload.record().approx_bytes()
    );
    // The peer sends over loopback TCP with the host's congestion control;
    // tokentrace sets cubic (else reno) on its loopback sockets. BBR paces
    // even loopback sends and costs more CPU than cubic (bench/README, "The
    // host's TCP congestion control").
    if let Ok(cc) = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_congestion_control") {
        println!(
            "TCP congestion control: host {} (the peer's connections); tokentrace's loopback connections: cubic, else reno",
            cc.trim()
        );
    }

    // TT_BENCH_ONLY=a,b: run only the runs whose key is listed
    // (tt-http, tt-file, peer-http, tt-burst, peer-burst, tt-http-new,
    // peer-http-new, floor).
    let only = std::env::var("TT_BENCH_ONLY").unwrap_or_default();
    let want = |key: &str| only.is_empty() || only.split(',').any(|k| k.trim() == key);
    // TT_BENCH_ROUNDS=n: every run n times, rounds interleaved so that both
    // pipelines see the same minutes of this machine; figures and targets
    // are judged on each run's median round.
    let rounds: usize = std::env::var("TT_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|r| *r > 0)
        .unwrap_or(3);
    let batch: Option<usize> = std::env::var("TT_BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok());
    let batch_bytes: Option<usize> = std::env::var("TT_BENCH_BATCH_BYTES")
        .ok()
        .and_then(|v| v.parse().ok());
    let mut runs = Vec::new();
    let mut floors = Vec::new();
    for _ in 0..rounds {
        let round_start = runs.len();
        // (a) throughput
        if want("tt-http") {
            runs.push(tt_http(
                &payload,
                n,
                false,
                "throughput",
                "queue 262,144 / 1 GiB",
                |b| {
                    let b = b
                        .with_max_queue_size(BIG_QUEUE)
                        .with_max_queue_bytes(1usize << 30);
                    let b = match batch {
                        Some(n) => b.with_max_export_batch_size(n),
                        None => b,
                    };
                    match batch_bytes {
                        Some(n) => b.with_max_batch_bytes(n),
                        None => b,
                    }
                },
            ));
        }
        if want("tt-file") {
            runs.push(tt_file(&payload, n));
        }
        if want("peer-http") {
            runs.push(peer_http(
                &payload,
                n,
                false,
                "throughput",
                "queue 262,144",
                Some(
                    BatchConfigBuilder::default()
                        .with_max_queue_size(BIG_QUEUE)
                        .build(),
                ),
            ));
        }
        // (b) burst, defaults
        if want("tt-burst") {
            runs.push(tt_http(&payload, n, false, "burst", "defaults", |b| b));
        }
        if want("peer-burst") {
            runs.push(peer_http(&payload, n, false, "burst", "defaults", None));
        }
        // (c) as (a), but no two calls carry the same user message or
        // completion: what every span costs when no memo can serve it.
        if want("tt-http-new") {
            runs.push(tt_http(
                &payload,
                n,
                true,
                "new text per call",
                "queue 262,144 / 1 GiB",
                |b| {
                    b.with_max_queue_size(BIG_QUEUE)
                        .with_max_queue_bytes(1usize << 30)
                },
            ));
        }
        if want("peer-http-new") {
            runs.push(peer_http(
                &payload,
                n,
                true,
                "new text per call",
                "queue 262,144",
                Some(
                    BatchConfigBuilder::default()
                        .with_max_queue_size(BIG_QUEUE)
                        .build(),
                ),
            ));
        }
        if want("floor") {
            floors.push(floor(n, &runs[round_start..]));
        }
    }

    print_report(&runs, &floors);
}

/// Reads one floor of a round.
type FloorPick = fn(&Floor) -> Option<f64>;

/// One round's floors, µs per span (`common::floor`).
struct Floor {
    /// Loopback TCP with cubic (tokentrace's connections).
    cubic: f64,
    /// Loopback TCP with the host's congestion control (the peer's).
    host: f64,
    /// Appending to a file (the local store), when the round had a store run.
    file: Option<f64>,
}

/// The floors of one round, for the bytes per span that round's runs sent
/// over OTLP/HTTP (tokentrace's, else the peer's, else an estimate) and
/// wrote to the store.
fn floor(n: u64, round: &[Run]) -> Floor {
    let per_span = |r: &Run| Some(r.wire_bytes? / r.delivered.max(1));
    let otlp = |r: &&Run| r.name.contains("→ OTLP");
    let span_bytes = round
        .iter()
        .filter(|r| r.name.contains("tokentrace → OTLP"))
        .chain(round.iter().filter(otlp))
        .find_map(per_span)
        .map_or(3_400, |b| b as usize);
    let file = round
        .iter()
        .filter(|r| r.name.contains("local store"))
        .find_map(per_span)
        .map(|b| {
            let dir = TempDir::new("floor");
            common::floor::file_per_span_us(n, b as usize, &dir.0)
        });
    Floor {
        cubic: common::floor::per_span_us(n, span_bytes, Some("cubic")),
        host: common::floor::per_span_us(n, span_bytes, None),
        file,
    }
}

/// tokentrace's configuration in every run, before the run's own settings.
fn common() -> ConfigBuilder {
    // TT_BENCH_REDACTION=off: tokentrace without its redaction stage (the
    // peer has none), to tell that stage's share apart.
    let redaction = std::env::var("TT_BENCH_REDACTION").map_or(true, |v| v != "off");
    Config::builder()
        .with_env(EnvSnapshot::empty())
        .with_service_name("bench")
        .with_redaction_enabled(redaction)
}

fn base(endpoint: &str) -> ConfigBuilder {
    common().with_endpoint(endpoint.to_string())
}

/// Runs `record` `n` times on this thread: (wall time, this thread's CPU time).
fn timed(n: u64, mut record: impl FnMut()) -> (Duration, Duration) {
    let t0 = Instant::now();
    let c0 = cpu::this_thread_ns();
    for _ in 0..n {
        record();
    }
    let thread_cpu = Duration::from_nanos(cpu::this_thread_ns().saturating_sub(c0));
    (t0.elapsed(), thread_cpu)
}

fn tt_http(
    payload: &Payload,
    n: u64,
    // Every call's user message and completion new (`Payload::record_fresh`).
    fresh: bool,
    name: &'static str,
    config: &'static str,
    tune: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> Run {
    let recv = Receiver::start();
    let cfg = tune(base(&recv.base_url())).build().expect("config");
    let tracer = Tracer::new(cfg).expect("tracer");
    let mut i = 0;
    let mut record = || {
        i += 1;
        if fresh {
            payload.record_fresh(i)
        } else {
            payload.record()
        }
    };
    let warm_bytes = warm_up(&recv, || {
        tracer.record(record());
        let _ = tracer.flush(Duration::from_secs(30));
    });
    let before = cpu::snapshot();
    let t0 = Instant::now();
    let (app, app_cpu) = timed(n, || {
        tracer.record(record());
    });
    let _ = tracer.flush(Duration::from_secs(120));
    let delivered = recv.wait_for(n + 1, Duration::from_secs(2), Duration::from_secs(120)) - 1;
    let after = cpu::snapshot();
    let _ = tracer.shutdown(Duration::from_secs(30));
    let stats = tracer.stats();
    let threads = cpu::delta_by_name(&before, &after);
    let user_sys = cpu::user_sys_by_name(&before, &after);
    Run {
        name: leak(format!("{name}: tokentrace → OTLP/HTTP")),
        config,
        spans: n,
        delivered,
        reported_drops: Some(stats.dropped_total()),
        app,
        app_cpu,
        elapsed: recv.last_receipt().saturating_duration_since(t0),
        export_cpu_ns: cpu::sum_prefixed(&threads, &[TT_THREAD]),
        wire_bytes: Some(
            recv.counts
                .body_bytes
                .load(std::sync::atomic::Ordering::Relaxed)
                - warm_bytes,
        ),
        threads,
        user_sys,
        stats: Some(stats),
    }
}

/// Sends one span through a pipeline and waits until the receiver has it;
/// returns the request bytes that took.
fn warm_up(recv: &Receiver, send: impl FnOnce()) -> u64 {
    send();
    let got = recv.wait_for(1, Duration::from_secs(5), Duration::from_secs(30));
    assert_eq!(got, 1, "the warm-up span did not arrive");
    recv.counts
        .body_bytes
        .load(std::sync::atomic::Ordering::Relaxed)
}

fn tt_file(payload: &Payload, n: u64) -> Run {
    let dir = TempDir::new("store");
    let cfg = common()
        .with_exporters([ExporterKind::File])
        .with_dir(dir.0.clone())
        .with_store_max_total_bytes(8u64 << 30)
        .with_max_queue_size(BIG_QUEUE)
        .with_max_queue_bytes(1usize << 30)
        .build()
        .expect("config");
    let tracer = Tracer::new(cfg).expect("tracer");
    tracer.record(payload.record());
    let _ = tracer.flush(Duration::from_secs(30));
    let before = cpu::snapshot();
    let t0 = Instant::now();
    let (app, app_cpu) = timed(n, || {
        tracer.record(payload.record());
    });
    let _ = tracer.flush(Duration::from_secs(120));
    let elapsed = t0.elapsed();
    let after = cpu::snapshot();
    let _ = tracer.shutdown(Duration::from_secs(30));
    let stats = tracer.stats();
    // Delivered = spans read back from the store, less the warm-up's.
    let delivered = tokentrace_core::store::StoreReader::open(&dir.0)
        .map(|r| r.spans().filter(|s| s.is_ok()).count() as u64)
        .unwrap_or(0)
        .saturating_sub(1);
    // Bytes written, the warm-up's line included (one line in 200,001).
    let written: u64 = std::fs::read_dir(&dir.0)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    let threads = cpu::delta_by_name(&before, &after);
    let user_sys = cpu::user_sys_by_name(&before, &after);
    Run {
        name: "throughput: tokentrace → local store",
        config: "queue 262,144 / 1 GiB",
        spans: n,
        delivered,
        reported_drops: Some(stats.dropped_total()),
        app,
        app_cpu,
        elapsed,
        export_cpu_ns: cpu::sum_prefixed(&threads, &[TT_THREAD]),
        wire_bytes: Some(written),
        threads,
        user_sys,
        stats: Some(stats),
    }
}

fn peer_http(
    payload: &Payload,
    n: u64,
    fresh: bool,
    name: &'static str,
    config: &'static str,
    batch: Option<opentelemetry_sdk::trace::BatchConfig>,
) -> Run {
    let recv = Receiver::start();
    let peer = Peer::otlp_http(&recv.traces_url(), batch);
    let mut i = 0;
    let mut span = || {
        i += 1;
        if fresh {
            payload.peer_span_fresh(&peer.tracer, i);
        } else {
            payload.peer_span(&peer.tracer);
        }
    };
    let warm_bytes = warm_up(&recv, || {
        span();
        let _ = peer.provider.force_flush();
    });
    let before = cpu::snapshot();
    let t0 = Instant::now();
    let (app, app_cpu) = timed(n, &mut span);
    // force_flush has a fixed 5 s timeout; the receiver count is the truth.
    let _ = peer.provider.force_flush();
    let delivered = recv.wait_for(n + 1, Duration::from_secs(2), Duration::from_secs(120)) - 1;
    let after = cpu::snapshot();
    peer.shutdown(Duration::from_secs(30));
    let threads = cpu::delta_by_name(&before, &after);
    let user_sys = cpu::user_sys_by_name(&before, &after);
    Run {
        name: leak(format!("{name}: opentelemetry_sdk + otlp → OTLP/HTTP")),
        config,
        spans: n,
        delivered,
        reported_drops: None,
        app,
        app_cpu,
        elapsed: recv.last_receipt().saturating_duration_since(t0),
        export_cpu_ns: cpu::sum_prefixed(&threads, &[BSP_THREAD, REQWEST_THREAD]),
        wire_bytes: Some(
            recv.counts
                .body_bytes
                .load(std::sync::atomic::Ordering::Relaxed)
                - warm_bytes,
        ),
        threads,
        user_sys,
        stats: None,
    }
}

/// The middle of rounds sorted by export CPU.
fn median<'a>(rounds: &[&'a Run]) -> &'a Run {
    rounds[rounds.len() / 2]
}

/// The median of the rounds' delivered spans per second.
fn median_per_s(rounds: &[&Run]) -> f64 {
    let per_s: Vec<f64> = rounds.iter().map(|r| r.per_s()).collect();
    median_of(per_s).unwrap_or(f64::NAN)
}

/// The middle of `v` once sorted (`None` when empty).
fn median_of(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn print_report(runs: &[Run], floors: &[Floor]) {
    println!();
    println!(
        "| run | config | delivered / sent | dropped | app ns/span (wall / CPU) | delivered/s | export CPU µs/span | bytes/span sent or written |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for r in runs {
        let dropped = r.spans - r.delivered.min(r.spans);
        let reported = match r.reported_drops {
            Some(d) => format!("{} (stats: {})", thousands(dropped), thousands(d)),
            None => format!(
                "{} ({:.0}%, unreported)",
                thousands(dropped),
                100.0 * dropped as f64 / r.spans as f64
            ),
        };
        let wire = r
            .wire_bytes
            .map_or_else(|| "—".to_string(), |b| thousands(b / r.delivered.max(1)));
        println!(
            "| {} | {} | {} / {} | {} | {:.0} / {:.0} | {} | {:.2} | {wire} |",
            r.name,
            r.config,
            thousands(r.delivered),
            thousands(r.spans),
            reported,
            r.app_ns(),
            r.app_cpu_ns(),
            thousands(r.per_s() as u64),
            r.cpu_us()
        );
    }

    // Each run's rounds, by export CPU: the middle one is the median round
    // (the figure the target is on).
    let mut groups: Vec<(&str, Vec<&Run>)> = Vec::new();
    for r in runs {
        match groups.iter_mut().find(|(name, _)| *name == r.name) {
            Some((_, rounds)) => rounds.push(r),
            None => groups.push((r.name, vec![r])),
        }
    }
    groups.sort_by_key(|(name, _)| *name);
    for (_, rounds) in &mut groups {
        rounds.sort_by(|a, b| a.cpu_us().total_cmp(&b.cpu_us()));
    }
    println!();
    println!(
        "| median round of each run | rounds | export CPU µs/span (every round) | delivered/s (median) |"
    );
    println!("|---|---:|---|---:|");
    for (name, rounds) in &groups {
        let all: Vec<String> = rounds
            .iter()
            .map(|r| format!("{:.2}", r.cpu_us()))
            .collect();
        println!(
            "| {name} | {} | **{:.2}** ({}) | {} |",
            rounds.len(),
            median(rounds).cpu_us(),
            all.join(", "),
            thousands(median_per_s(rounds) as u64)
        );
    }
    let find = |prefix: &str| {
        groups
            .iter()
            .find(|(name, _)| name.starts_with(prefix))
            .map(|(_, rounds)| median(rounds))
    };
    // Each floor's rounds, and their median: cubic, the host's, the file.
    let floor_rows: [(&str, FloorPick); 3] = [
        ("loopback TCP, cubic (tokentrace's connections)", |f| {
            Some(f.cubic)
        }),
        (
            "loopback TCP, the host's congestion control (the peer's)",
            |f| Some(f.host),
        ),
        ("appending to a file (the local store's lines)", |f| f.file),
    ];
    let floor_rounds = floor_rows.map(|(what, pick)| {
        let v: Vec<f64> = floors.iter().filter_map(pick).collect();
        (what, median_of(v.clone()), v)
    });
    if !floors.is_empty() {
        println!();
        println!(
            "| floor: moving the same bytes per span, nothing encoded | rounds | CPU µs/span (every round) |"
        );
        println!("|---|---:|---|");
        for (what, median, v) in &floor_rounds {
            if let Some(m) = median {
                let all: Vec<String> = v.iter().map(|x| format!("{x:.2}")).collect();
                println!("| {what} | {} | **{m:.2}** ({}) |", v.len(), all.join(", "));
            }
        }
    }
    let [(_, floor_cubic, _), (_, floor_host, _), (_, floor_file, _)] = &floor_rounds;
    let (floor_cubic, floor_host) = (*floor_cubic, *floor_host);
    if let (Some(file), Some(store)) = (*floor_file, find("throughput: tokentrace → local")) {
        println!();
        println!(
            "local store: tokentrace's export CPU {:.2} µs/span, {:.2} above the file floor",
            store.cpu_us(),
            store.cpu_us() - file
        );
    }
    println!();
    let pairs = [
        (
            "throughput",
            "throughput: tokentrace → OTLP",
            "throughput: opentelemetry",
        ),
        (
            "burst (defaults)",
            "burst: tokentrace",
            "burst: opentelemetry",
        ),
        (
            "new text per call",
            "new text per call: tokentrace",
            "new text per call: opentelemetry",
        ),
    ];
    let cols: Vec<(&str, &Run, &Run)> = pairs
        .iter()
        .filter_map(|(title, a, b)| Some((*title, find(a)?, find(b)?)))
        .collect();
    if !cols.is_empty() {
        let titles: Vec<&str> = cols.iter().map(|c| c.0).collect();
        println!(
            "| ratio tokentrace / opentelemetry (same work, median rounds) | {} |",
            titles.join(" | ")
        );
        println!("|---|{}", "---:|".repeat(cols.len()));
        let row = |label: &str, f: &dyn Fn(&Run) -> f64| {
            let cells: Vec<String> = cols.iter().map(|(_, a, b)| ratio(f(a), f(b))).collect();
            println!("| {label} | {} |", cells.join(" | "));
        };
        row("delivered spans", &|r| r.delivered as f64);
        row("delivered/s", &|r| r.per_s());
        row("app-thread ns/span (wall)", &|r| r.app_ns());
        row("app-thread ns/span (CPU)", &|r| r.app_cpu_ns());
        row("export CPU per delivered span", &|r| r.cpu_us());
        // Each side less the floor of its own connections: the exporter's
        // own work and what its way of sending adds.
        if let (Some(cubic), Some(host)) = (floor_cubic, floor_host) {
            let cells: Vec<String> = cols
                .iter()
                .map(|(_, a, b)| {
                    let (a, b) = (a.cpu_us() - cubic, b.cpu_us() - host);
                    format!("{} ({a:.2} / {b:.2} µs)", ratio(a, b))
                })
                .collect();
            println!(
                "| export CPU above the loopback floor | {} |",
                cells.join(" | ")
            );
        }
    }

    println!();
    println!("targets:");
    for (prefix, what) in [
        ("throughput: tokentrace → OTLP", "OTLP/HTTP"),
        ("throughput: tokentrace → local", "local store"),
    ] {
        if let Some((_, rounds)) = groups.iter().find(|(n, _)| n.starts_with(prefix)) {
            let per_s = median_per_s(rounds);
            check(
                &format!(
                    "{what} delivered/s >= 100,000 (median of {} rounds: {})",
                    rounds.len(),
                    thousands(per_s as u64)
                ),
                per_s >= 100_000.0,
            );
        }
    }
    // Zero drops in every round, not only the median one.
    for r in runs
        .iter()
        .filter(|r| r.name.starts_with("burst: tokentrace"))
    {
        let s = r.stats.as_ref();
        let drops = s.map_or(u64::MAX, |s| s.dropped_total());
        check(
            &format!(
                "burst with defaults: zero drops (stats dropped {}, receiver {} of {})",
                thousands(drops),
                thousands(r.delivered),
                thousands(r.spans)
            ),
            drops == 0 && r.delivered == r.spans,
        );
        if let Some(s) = s {
            let by: Vec<String> = s
                .dropped
                .iter()
                .filter(|(_, v)| *v > 0)
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            if !by.is_empty() {
                println!("    drops by reason: {}", by.join(", "));
            }
        }
    }
    // The target is on the runs; the new-text runs are reported
    // beside them.
    for (name, rounds) in groups.iter().filter(|(n, _)| {
        n.contains("tokentrace → OTLP") && (n.starts_with("throughput") || n.starts_with("burst"))
    }) {
        let r = median(rounds);
        check(
            &format!(
                "{name}: export CPU <= 1.5 µs/span (median of {} rounds: {:.2})",
                rounds.len(),
                r.cpu_us()
            ),
            r.cpu_us() <= 1.5,
        );
    }

    println!();
    println!("CPU by thread (ms; user / system in 10 ms ticks) during each run:");
    for r in runs {
        let parts: Vec<String> = r
            .threads
            .iter()
            .filter(|(_, v)| **v >= 1_000_000)
            .map(|(k, v)| {
                let (u, s) = r.user_sys.get(k).copied().unwrap_or_default();
                format!(
                    "{k} {:.0} ({:.0} / {:.0})",
                    *v as f64 / 1e6,
                    u as f64 / 1e6,
                    s as f64 / 1e6
                )
            })
            .collect();
        println!("  {}: {}", r.name, parts.join(", "));
    }
}

fn check(what: &str, ok: bool) {
    println!("  [{}] {what}", if ok { "met" } else { "MISSED" });
}
