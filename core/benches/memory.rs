//! Memory: RSS of a process that records 1,000,000 spans while the receiver
//! is down (its endpoint is a loopback port nobody listens on). The queue
//! must bound memory: target VmHWM < queue capacity × record size + 20 MiB.
//!
//! Each pipeline runs in a child process (this binary re-executed with
//! `TT_BENCH_MEMORY_CHILD=tokentrace|peer`) so one's heap cannot hide in the
//! other's figure. Payload text is copied per span here, as distinct calls
//! would carry distinct prompts: the queue really holds the bytes.
//!
//! Run: `cargo bench -p tokentrace-core --bench memory`

/// The allocator the bindings ship with (both sides of each comparison use it).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use tokentrace_core::config::env::EnvSnapshot;
use tokentrace_core::{Config, Tracer};

use common::payload::Payload;
use common::peer::Peer;
use common::{closed_port, cpu, thousands};

const CHILD_ENV: &str = "TT_BENCH_MEMORY_CHILD";
const SPANS: u64 = 1_000_000;
const MIB: f64 = 1024.0 * 1024.0;
/// The peer's default queue (`OTEL_BSP_MAX_QUEUE_SIZE`).
const PEER_QUEUE: u64 = 2048;

fn main() {
    match std::env::var(CHILD_ENV).as_deref() {
        Ok("tokentrace") => child_tokentrace(),
        Ok("peer") => child_peer(),
        _ => parent(),
    }
}

/// Samples VmRSS every 10,000 spans; returns the largest sample (KiB).
fn record_n(mut one: impl FnMut()) -> (u64, Duration) {
    let mut peak = 0;
    let t = Instant::now();
    for i in 0..SPANS {
        one();
        if i % 10_000 == 0 {
            peak = peak.max(cpu::rss_kib().1);
        }
    }
    (peak, t.elapsed())
}

fn report(fields: &[(&str, String)]) {
    let line: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("RESULT {}", line.join(" "));
}

fn child_tokentrace() {
    let payload = Payload::new();
    let port = closed_port();
    let cfg = Config::builder()
        .with_env(EnvSnapshot::empty())
        .with_service_name("bench")
        .with_endpoint(format!("http://127.0.0.1:{port}"))
        .build()
        .expect("config");
    let queue = cfg.batch.max_queue_size as u64;
    let queue_bytes = cfg.batch.max_queue_bytes as u64;
    let tracer = Tracer::new(cfg).expect("tracer");
    let record_bytes = payload.record_owned().approx_bytes() as u64;
    let baseline = cpu::rss_kib().1;
    let (sampled, took) = record_n(|| {
        tracer.record(payload.record_owned());
    });
    let (hwm, rss) = cpu::rss_kib();
    let s = tracer.stats();
    report(&[
        ("queue", queue.to_string()),
        ("queue_bytes", queue_bytes.to_string()),
        ("record_bytes", record_bytes.to_string()),
        ("baseline_kib", baseline.to_string()),
        ("hwm_kib", hwm.to_string()),
        ("rss_kib", rss.to_string()),
        ("sampled_kib", sampled.to_string()),
        ("enqueued", s.enqueued.to_string()),
        ("dropped", s.dropped_total().to_string()),
        ("ms", took.as_millis().to_string()),
    ]);
    // The receiver is down: don't wait for retries.
    let _ = tracer.shutdown(Duration::from_millis(500));
    std::process::exit(0);
}

fn child_peer() {
    let payload = Payload::new();
    let port = closed_port();
    let peer = Peer::otlp_http(&format!("http://127.0.0.1:{port}/v1/traces"), None);
    let baseline = cpu::rss_kib().1;
    let (sampled, took) = record_n(|| payload.peer_span_owned(&peer.tracer));
    let (hwm, rss) = cpu::rss_kib();
    // A proxy for the SDK's record size: the span's attribute payload.
    let record_bytes = (payload.input_json.len() + payload.output_json.len() + 1024) as u64;
    report(&[
        ("queue", PEER_QUEUE.to_string()),
        ("queue_bytes", "0".to_string()),
        ("record_bytes", record_bytes.to_string()),
        ("baseline_kib", baseline.to_string()),
        ("hwm_kib", hwm.to_string()),
        ("rss_kib", rss.to_string()),
        ("sampled_kib", sampled.to_string()),
        ("enqueued", "-".to_string()),
        ("dropped", "-".to_string()),
        ("ms", took.as_millis().to_string()),
    ]);
    std::process::exit(0);
}

fn run_child(mode: &str) -> Option<Vec<(String, String)>> {
    let exe = std::env::current_exe().ok()?;
    let out = Command::new(exe).env(CHILD_ENV, mode).output().ok()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find(|l| l.starts_with("RESULT "))?;
    if !out.status.success() {
        eprintln!("{mode} child: {}", String::from_utf8_lossy(&out.stderr));
    }
    Some(
        line["RESULT ".len()..]
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn parent() {
    println!(
        "memory bench: {} spans recorded against a receiver that is down (connection refused)",
        thousands(SPANS)
    );
    println!();
    println!(
        "| pipeline | queue | record size | bound: queue × record + 20 MiB | baseline RSS | VmHWM | VmRSS at end | recorded / dropped | time |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut ok = true;
    for (mode, label) in [
        ("tokentrace", "tokentrace (defaults)"),
        ("peer", "opentelemetry_sdk + otlp (defaults)"),
    ] {
        let Some(r) = run_child(mode) else {
            println!("| {label} | child failed | | | | | | | |");
            ok = false;
            continue;
        };
        let get = |k: &str| {
            r.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let num = |k: &str| get(k).parse::<u64>().unwrap_or(0);
        let bound = (num("queue") * num("record_bytes")) as f64 + 20.0 * MIB;
        let hwm = num("hwm_kib") as f64 * 1024.0;
        let mut bound_col = format!("{:.1} MiB", bound / MIB);
        if num("queue_bytes") > 0 {
            bound_col.push_str(&format!(
                " (byte budget {:.0} MiB + 20 = {:.0} MiB)",
                num("queue_bytes") as f64 / MIB,
                num("queue_bytes") as f64 / MIB + 20.0
            ));
        }
        println!(
            "| {label} | {} | {} B | {bound_col} | {:.1} MiB | {:.1} MiB | {:.1} MiB | {} / {} | {} ms |",
            thousands(num("queue")),
            num("record_bytes"),
            num("baseline_kib") as f64 / 1024.0,
            hwm / MIB,
            num("rss_kib") as f64 / 1024.0,
            get("enqueued"),
            get("dropped"),
            get("ms"),
        );
        if mode == "tokentrace" {
            ok &= hwm < bound;
        }
    }
    println!();
    println!(
        "target: tokentrace VmHWM < queue × record size + 20 MiB: {}",
        if ok { "met" } else { "MISSED" }
    );
}
