//! Where the export worker's CPU goes, per span, on one thread with no
//! receiver or producer competing: the stages the worker runs for every
//! record after enrichment and redaction — limits, then the span written
//! straight into the batch's OTLP protobuf request (or the store's OTLP-JSON
//! line), then freeing the record — beside the GenAI content JSON alone and
//! the former path (mapping to `opentelemetry_proto` structs, prost encoding,
//! freeing the structs) for comparison. Complements `pipeline`, whose CPU
//! figure is measured under real concurrency. Timed by the thread's CPU clock
//! (`CLOCK_THREAD_CPUTIME_ID`), so a busy machine inflates it less.
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
use tokentrace_core::export::Encodings;
use tokentrace_core::export::encode::Encoders;
use tokentrace_core::semconv::{self, MapOptions};
use tokentrace_core::{Config, SpanRecord, limits};

use common::cpu;
use common::payload::Payload;

const BATCH: usize = 512;

fn records(p: &Payload) -> Vec<SpanRecord> {
    (0..BATCH).map(|_| p.record()).collect()
}

fn opts(cfg: &Config) -> MapOptions {
    MapOptions {
        capture_content: true,
        semconv: cfg.semconv,
    }
}

/// Limits, then each span written into the batch's request bodies.
fn encode(records: &mut [SpanRecord], cfg: &Config, enc: &mut Encoders) -> usize {
    let opts = opts(cfg);
    let mut b = enc.batches(cfg.batch.max_batch_bytes, 0);
    for r in records.iter_mut() {
        let a = limits::apply(r, &cfg.limits);
        let h = semconv::span_header(r, a.attributes_dropped, a.events_dropped);
        b.push(r, opts, &h);
    }
    b.finish().iter().map(|b| b.span_count).sum()
}

/// The former path: limits, struct mapping and `encoded_len` per span.
fn map(records: Vec<SpanRecord>, cfg: &Config) -> Vec<Span> {
    let opts = opts(cfg);
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
/// not inflate the figure; `setup` and dropping `f`'s result are untimed
/// (freeing is a stage of its own).
fn cpu_time<I, R>(b: &mut Bencher<'_>, mut setup: impl FnMut() -> I, mut f: impl FnMut(I) -> R) {
    b.iter_custom(|iters| {
        let mut total = 0;
        for _ in 0..iters {
            let input = setup();
            let t = cpu::this_thread_ns();
            let out = black_box(f(input));
            total += cpu::this_thread_ns().saturating_sub(t);
            drop(out);
        }
        Duration::from_nanos(total)
    })
}

fn encoders(cfg: &Config, want: Encodings) -> Encoders {
    Encoders::new(
        &semconv::resource(&cfg.resource, "rust"),
        &semconv::scope(),
        want,
    )
    .expect("encoders")
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
    let mut proto = encoders(&cfg, Encodings::PROTOBUF);
    g.bench_function("encode_protobuf", |b| {
        cpu_time(
            b,
            || records(&p),
            |mut r| {
                let n = encode(&mut r, &cfg, &mut proto);
                (n, r)
            },
        )
    });
    let mut json = encoders(&cfg, Encodings::JSON);
    g.bench_function("encode_json", |b| {
        cpu_time(
            b,
            || records(&p),
            |mut r| {
                let n = encode(&mut r, &cfg, &mut json);
                (n, r)
            },
        )
    });
    g.bench_function("drop_records", |b| cpu_time(b, || records(&p), drop));
    g.bench_function("former_map", |b| {
        cpu_time(b, || records(&p), |r| map(r, &cfg))
    });
    let req = request(map(records(&p), &cfg), &cfg);
    g.bench_function("former_encode", |b| {
        cpu_time(b, || (), |_| req.encode_to_vec())
    });
    g.bench_function("former_drop_mapped", |b| {
        cpu_time(b, || map(records(&p), &cfg), drop)
    });
    g.finish();
    c.final_summary();
}
