//! What the receiver saw: accepted requests (decoded), and a count of every attempt, per
//! signal.
//!
//! Failed attempts are counted but not stored, so `spans()` shows what a real collector
//! would have kept while `attempts()` lets a test assert how often the exporter retried.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;

use crate::signal::Signal;

/// How a request reached the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// OTLP/HTTP with a protobuf body (`application/x-protobuf`).
    Http,
    /// OTLP/HTTP with an OTLP-JSON body (`application/json`).
    HttpJson,
    /// OTLP/gRPC (`TraceService/Export` or `MetricsService/Export`).
    Grpc,
}

impl Transport {
    /// Stable lower-case name used in the control API (`http`, `http_json`, `grpc`).
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Http => "http",
            Transport::HttpJson => "http_json",
            Transport::Grpc => "grpc",
        }
    }
}

/// One accepted export request, decoded. `R` is the signal's request type: plain `Received`
/// is a trace export, [`ReceivedMetrics`] a metrics export.
#[derive(Debug, Clone, PartialEq)]
pub struct Received<R = ExportTraceServiceRequest> {
    pub transport: Transport,
    /// Request headers (gRPC: metadata) with lower-case names, in arrival order.
    pub headers: Vec<(String, String)>,
    /// Whether the body was gzip-compressed on the wire.
    pub gzip: bool,
    /// HTTP: body size on the wire (compressed if `gzip`). gRPC: encoded size of the
    /// decoded message (tonic does not expose the framed size).
    pub body_bytes: usize,
    pub request: R,
}

/// One accepted metrics export request, decoded.
pub type ReceivedMetrics = Received<ExportMetricsServiceRequest>;

impl<R> Received<R> {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Received {
    /// Number of spans in this request.
    pub fn span_count(&self) -> usize {
        count_spans(&self.request)
    }

    /// The request's spans flattened with their resource attributes and scope name.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        let mut out = Vec::with_capacity(self.span_count());
        for rs in &self.request.resource_spans {
            let resource = rs
                .resource
                .as_ref()
                .map(|r| r.attributes.clone())
                .unwrap_or_default();
            for ss in &rs.scope_spans {
                let scope_name = ss
                    .scope
                    .as_ref()
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                for span in &ss.spans {
                    out.push(ReceivedSpan {
                        resource: resource.clone(),
                        scope_name: scope_name.clone(),
                        span: span.clone(),
                    });
                }
            }
        }
        out
    }
}

/// A span with the context it arrived in.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    /// Attributes of the span's resource.
    pub resource: Vec<KeyValue>,
    /// Name of the instrumentation scope the span was reported under.
    pub scope_name: String,
    pub span: Span,
}

impl ReceivedSpan {
    /// Value of span attribute `key`.
    pub fn attribute(&self, key: &str) -> Option<&any_value::Value> {
        find_attribute(&self.span.attributes, key)
    }

    /// Value of resource attribute `key`.
    pub fn resource_attribute(&self, key: &str) -> Option<&any_value::Value> {
        find_attribute(&self.resource, key)
    }
}

pub(crate) fn find_attribute<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

pub(crate) fn count_spans(request: &ExportTraceServiceRequest) -> usize {
    request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

/// Everything captured so far; read under the [`Capture`] lock.
#[derive(Default)]
pub(crate) struct State {
    pub(crate) requests: Vec<Received>,
    pub(crate) spans: usize,
    pub(crate) attempts: usize,
    pub(crate) metric_requests: Vec<ReceivedMetrics>,
    pub(crate) metric_attempts: usize,
}

impl State {
    /// Whether any accepted metrics request carries a metric called `name`.
    pub(crate) fn has_metric(&self, name: &str) -> bool {
        self.metric_requests
            .iter()
            .flat_map(|r| &r.request.resource_metrics)
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .any(|m| m.name == name)
    }
}

/// Shared capture store; a condvar wakes the `wait_for_*` calls on every change.
#[derive(Default)]
pub(crate) struct Capture {
    state: Mutex<State>,
    changed: Condvar,
}

impl Capture {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not take the receiver down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the current state (under the lock; keep it short).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.lock())
    }

    pub(crate) fn note_attempt(&self, signal: Signal) {
        let mut state = self.lock();
        match signal {
            Signal::Traces => state.attempts += 1,
            Signal::Metrics => state.metric_attempts += 1,
        }
        drop(state);
        self.changed.notify_all();
    }

    pub(crate) fn record_traces(&self, received: Received) {
        let mut state = self.lock();
        state.spans += received.span_count();
        state.requests.push(received);
        drop(state);
        self.changed.notify_all();
    }

    pub(crate) fn record_metrics(&self, received: ReceivedMetrics) {
        self.lock().metric_requests.push(received);
        self.changed.notify_all();
    }

    pub(crate) fn requests(&self) -> Vec<Received> {
        self.lock().requests.clone()
    }

    pub(crate) fn spans(&self) -> Vec<ReceivedSpan> {
        self.lock()
            .requests
            .iter()
            .flat_map(Received::spans)
            .collect()
    }

    pub(crate) fn span_count(&self) -> usize {
        self.lock().spans
    }

    pub(crate) fn attempts(&self) -> usize {
        self.lock().attempts
    }

    pub(crate) fn metric_requests(&self) -> Vec<ReceivedMetrics> {
        self.lock().metric_requests.clone()
    }

    pub(crate) fn metric_attempts(&self) -> usize {
        self.lock().metric_attempts
    }

    /// Forgets both signals' requests and attempt counts.
    pub(crate) fn clear(&self) {
        *self.lock() = State::default();
        self.changed.notify_all();
    }

    /// Blocks until `pred` holds on the state or `timeout` passes.
    pub(crate) fn wait_until(&self, timeout: Duration, pred: impl Fn(&State) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            if pred(&state) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}
