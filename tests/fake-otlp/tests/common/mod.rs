//! Helpers shared by the integration tests: hand-built requests and a tiny HTTP/1.1 client
//! (raw std sockets, so the receiver is exercised by bytes we control).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use fake_otlp::opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use fake_otlp::opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use fake_otlp::opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, any_value,
};
use fake_otlp::opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use fake_otlp::opentelemetry_proto::tonic::resource::v1::Resource;
use fake_otlp::opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

pub fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

pub fn string(s: &str) -> any_value::Value {
    any_value::Value::StringValue(s.into())
}

/// `n` spans of one trace under resource `service.name = service`, scope `test-scope`.
pub fn request(service: &str, n: usize) -> ExportTraceServiceRequest {
    let spans = (0..n)
        .map(|i| Span {
            trace_id: vec![0xab; 16],
            span_id: vec![i as u8 + 1; 8],
            name: format!("chat gpt-4o #{i}"),
            kind: 3,
            start_time_unix_nano: 1_700_000_000_000_000_000,
            end_time_unix_nano: 1_700_000_001_000_000_000,
            attributes: vec![
                kv("gen_ai.system", string("openai")),
                kv("gen_ai.usage.input_tokens", any_value::Value::IntValue(42)),
            ],
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", string(service))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "test-scope".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Token-usage histogram.
pub const TOKEN_USAGE: &str = "gen_ai.client.token.usage";
/// Cost counter (a monotonic double sum).
pub const COST: &str = "tokentrace.cost";
/// Queue-depth gauge (an int).
pub const QUEUE_DEPTH: &str = "tokentrace.queue.depth";

/// Metrics as tokentrace would export them, under resource `service.name = service`, scope
/// `test-meter`: a token-usage histogram with an input and an output series (buckets 1, 4,
/// 16), a cost sum with a double value and a queue-depth gauge with an int value.
pub fn metrics_request(service: &str) -> ExportMetricsServiceRequest {
    let series = |token_type: &str| {
        vec![
            kv("gen_ai.operation.name", string("chat")),
            kv("gen_ai.token.type", string(token_type)),
        ]
    };
    let histogram_point =
        |token_type: &str, bucket_counts: Vec<u64>, sum: f64| HistogramDataPoint {
            attributes: series(token_type),
            start_time_unix_nano: 1_700_000_000_000_000_000,
            time_unix_nano: 1_700_000_010_000_000_000,
            count: bucket_counts.iter().sum(),
            sum: Some(sum),
            bucket_counts,
            explicit_bounds: vec![1.0, 4.0, 16.0],
            min: Some(2.0),
            max: Some(100.0),
            ..Default::default()
        };
    let number_point = |value: number_data_point::Value| NumberDataPoint {
        attributes: vec![kv("gen_ai.request.model", string("gpt-4o"))],
        time_unix_nano: 1_700_000_010_000_000_000,
        value: Some(value),
        ..Default::default()
    };
    let metrics = vec![
        Metric {
            name: TOKEN_USAGE.into(),
            unit: "{token}".into(),
            data: Some(metric::Data::Histogram(Histogram {
                data_points: vec![
                    histogram_point("input", vec![0, 1, 0, 2], 142.0),
                    histogram_point("output", vec![0, 0, 1, 0], 7.0),
                ],
                aggregation_temporality: AggregationTemporality::Delta as i32,
            })),
            ..Default::default()
        },
        Metric {
            name: COST.into(),
            unit: "USD".into(),
            data: Some(metric::Data::Sum(Sum {
                data_points: vec![number_point(number_data_point::Value::AsDouble(0.0125))],
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: true,
            })),
            ..Default::default()
        },
        Metric {
            name: QUEUE_DEPTH.into(),
            data: Some(metric::Data::Gauge(Gauge {
                data_points: vec![number_point(number_data_point::Value::AsInt(3))],
            })),
            ..Default::default()
        },
    ];
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![kv("service.name", string(service))],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "test-meter".into(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request with `Connection: close`; errors if no complete answer arrives.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse(&raw).ok_or_else(|| {
        std::io::Error::other(format!("no complete HTTP reply ({} bytes)", raw.len()))
    })
}

fn parse(raw: &[u8]) -> Option<Reply> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    })
}

pub fn post_traces(
    addr: SocketAddr,
    content_type: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut headers = vec![("Content-Type", content_type)];
    headers.extend_from_slice(extra);
    http(addr, "POST", "/v1/traces", &headers, body).unwrap()
}

pub fn post_metrics(
    addr: SocketAddr,
    content_type: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut headers = vec![("Content-Type", content_type)];
    headers.extend_from_slice(extra);
    http(addr, "POST", "/v1/metrics", &headers, body).unwrap()
}

pub fn get(addr: SocketAddr, path: &str) -> Reply {
    http(addr, "GET", path, &[], b"").unwrap()
}
