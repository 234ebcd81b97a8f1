//! Where the export worker's CPU goes, per span, on one thread with no
//! receiver or producer competing: the stages the worker runs for every
//! record (limits, GenAI mapping to an OTLP span, the GenAI content JSON,
//! protobuf encoding of a 512-span request). Complements `pipeline`, whose
//! CPU figure is measured under real concurrency. Timed by the thread's CPU
//! clock (`CLOCK_THREAD_CPUTIME_ID`), so a busy machine inflates it less.
//!
//! Run: `cargo bench -p tokentrace-core --bench worker_stages`

/// The allocator the bindings ship with (both sides of each comparison use it).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Bencher, Criterion, Throughput};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message as _;
use tokentrace_core::config::env::EnvSnapshot;
use tokentrace_core::semconv::{self, MapOptions};
use tokentrace_core::{Config, SpanRecord, limits};

use common::cpu;
use common::payload::Payload;

const BATCH: usize = 512;

fn records(p: &Payload) -> Vec<SpanRecord> {
    (0..BATCH).map(|_| p.record()).collect()
}

fn map(records: Vec<SpanRecord>, cfg: &Config) -> Vec<Span> {
    let opts = MapOptions {
        capture_content: true,
        semconv: cfg.semconv,
    };
    records
        .into_iter()
        .map(|mut r| {
            let a = limits::apply(&mut r, &cfg.limits);
            let s = semconv::to_proto_span(&r, opts, a.attributes_dropped, a.events_dropped);
            black_box(s.encoded_len());
            s
        })
        .collect()
}

fn request(spans: Vec<Span>, cfg: &Config) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(semconv::resource(&cfg.resource, "rust")),
            scope_spans: vec![ScopeSpans {
                scope: Some(semconv::scope()),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// Times `f` by this thread's CPU clock, so other load on the machine does
/// not inflate the figure; `setup` is untimed.
fn cpu_time<I, R>(b: &mut Bencher<'_>, mut setup: impl FnMut() -> I, mut f: impl FnMut(I) -> R) {
    b.iter_custom(|iters| {
        let mut total = 0;
        for _ in 0..iters {
            let input = setup();
            let t = cpu::this_thread_ns();
            black_box(f(input));
            total += cpu::this_thread_ns().saturating_sub(t);
        }
        Duration::from_nanos(total)
    })
}

fn main() {
    let p = Payload::new();
    let cfg = Config::builder()
        .with_env(EnvSnapshot::empty())
        .build()
        .expect("config");
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .configure_from_args();
    let mut g = c.benchmark_group("worker_stages");
    g.throughput(Throughput::Elements(BATCH as u64));
    let call = p.record().llm.expect("llm");
    g.bench_function("content_json", |b| {
        cpu_time(
            b,
            || (),
            |_| {
                for _ in 0..BATCH {
                    black_box(semconv::messages::messages_json(
                        &call.input_messages,
                        true,
                        false,
                    ));
                    black_box(semconv::messages::messages_json(
                        &call.output_messages,
                        true,
                        true,
                    ));
                }
            },
        )
    });
    g.bench_function("map", |b| cpu_time(b, || records(&p), |r| map(r, &cfg)));
    let req = request(map(records(&p), &cfg), &cfg);
    g.bench_function("encode", |b| cpu_time(b, || (), |_| req.encode_to_vec()));
    g.bench_function("drop_mapped", |b| {
        cpu_time(b, || map(records(&p), &cfg), drop)
    });
    g.finish();
    c.final_summary();
}
