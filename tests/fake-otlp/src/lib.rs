//! Fake OTLP trace and metrics receiver on loopback for tokentrace's integration tests.
//!
//! It decodes every request for real (protobuf, OTLP-JSON, gzip, gRPC via the generated
//! `TraceService` and `MetricsService`), keeps what it accepted, and answers from a script so
//! tests can drive retries, throttling, partial success and hangs. The API is blocking so
//! plain `#[test]` functions can use it; the server runs its own tokio runtime on a
//! background thread.
//!
//! Traces and metrics are kept apart: each signal has its own store, attempt count and
//! script, so a metrics export from a periodic reader never consumes a failure scripted
//! for traces. The plain methods (`push`, `attempts`, `spans`, ...) are about traces; the
//! metrics ones say so in their name.
//!
//! ```no_run
//! use fake_otlp::{Behavior, FakeOtlp};
//! use std::time::Duration;
//!
//! let fake = FakeOtlp::start();
//! fake.push(Behavior::HttpStatus { status: 503, retry_after: Some("1".into()) });
//! // ... point an exporter at fake.http_endpoint() ...
//! assert!(fake.wait_for_spans(1, Duration::from_secs(5)));
//! assert_eq!(fake.attempts(), 2);
//!
//! // ... point a metrics exporter at fake.metrics_url() ...
//! assert!(fake.wait_for_metric("gen_ai.client.token.usage", Duration::from_secs(5)));
//! let point = &fake.metric_points("gen_ai.client.token.usage")[0];
//! assert_eq!(point.histogram().map(|h| h.count), Some(1));
//! ```
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod behavior;
mod capture;
mod control;
mod grpc;
mod http;
mod metrics;
mod server;
mod signal;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::Duration;

pub use behavior::{Behavior, ScriptError};
pub use capture::{Received, ReceivedMetrics, ReceivedSpan, Transport};
pub use control::SESSION_HEADER;
pub use metrics::{MetricPoint, ReceivedMetric};
/// Re-exported so tests can build and inspect requests without naming the crate versions.
pub use opentelemetry_proto;
pub use tonic::Code;

use server::Running;
use signal::Signal;

/// Default message/body limit: 4 MiB, what tonic and the Collector use.
pub const DEFAULT_MAX_BYTES: usize = 4 * 1024 * 1024;

/// Start-up options. `None` ports mean "pick a free one".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub http_port: Option<u16>,
    pub grpc_port: Option<u16>,
    /// Largest decoded gRPC message; bigger ones get RESOURCE_EXHAUSTED from tonic.
    pub max_grpc_message_bytes: usize,
    /// Largest HTTP body (on the wire and after gunzip); bigger ones get 413.
    pub max_http_body_bytes: usize,
    /// Append every accepted request to this file as one OTLP-JSON line; a trace request
    /// has `resourceSpans`, a metrics request `resourceMetrics` (as the Collector's file
    /// exporter writes them).
    pub out_file: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            http_port: None,
            grpc_port: None,
            max_grpc_message_bytes: DEFAULT_MAX_BYTES,
            max_http_body_bytes: DEFAULT_MAX_BYTES,
            out_file: None,
        }
    }
}

/// Why the receiver could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot open output file {}: {source}", path.display())]
    OutFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start receiver: {0}")]
    Io(std::io::Error),
}

/// A free loopback port right now: bind :0, read the port, close. Lets a test point an
/// exporter at a port where nothing listens yet and start the receiver there later.
pub fn reserve_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// A running receiver. Dropping it stops it.
pub struct FakeOtlp {
    running: Running,
}

impl FakeOtlp {
    /// Starts on free ports. Panics if it cannot (test helper).
    pub fn start() -> FakeOtlp {
        FakeOtlp::start_with(Options::default())
    }

    /// Starts with `options`. Panics if it cannot (test helper); see [`FakeOtlp::try_start_with`].
    #[allow(clippy::panic)]
    pub fn start_with(options: Options) -> FakeOtlp {
        match FakeOtlp::try_start_with(options) {
            Ok(fake) => fake,
            Err(e) => panic!("fake-otlp: {e}"),
        }
    }

    pub fn try_start_with(options: Options) -> Result<FakeOtlp, Error> {
        Ok(FakeOtlp {
            running: Running::start(options)?,
        })
    }

    /// Base URL of OTLP/HTTP, e.g. `http://127.0.0.1:4318`; traces go to `/v1/traces`.
    pub fn http_endpoint(&self) -> String {
        format!("http://{}", self.running.http_addr)
    }

    /// Full OTLP/HTTP traces URL (`http_endpoint()` + `/v1/traces`).
    pub fn traces_url(&self) -> String {
        format!("{}/v1/traces", self.http_endpoint())
    }

    /// Full OTLP/HTTP metrics URL (`http_endpoint()` + `/v1/metrics`).
    pub fn metrics_url(&self) -> String {
        format!("{}/v1/metrics", self.http_endpoint())
    }

    /// URL of OTLP/gRPC (traces and metrics), e.g. `http://127.0.0.1:4317`.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.running.grpc_addr)
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.running.http_addr
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.running.grpc_addr
    }

    /// Accepted trace requests in arrival order (failed attempts are not kept).
    pub fn requests(&self) -> Vec<Received> {
        self.running.shared.capture.requests()
    }

    /// Spans of accepted requests, flattened in arrival order.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.running.shared.capture.spans()
    }

    pub fn span_count(&self) -> usize {
        self.running.shared.capture.span_count()
    }

    /// Every trace export request seen, including ones answered with an error or still
    /// hanging.
    pub fn attempts(&self) -> usize {
        self.running.shared.capture.attempts()
    }

    /// Blocks until at least `n` spans were accepted; false on timeout.
    pub fn wait_for_spans(&self, n: usize, timeout: Duration) -> bool {
        self.running
            .shared
            .capture
            .wait_until(timeout, |s| s.spans >= n)
    }

    /// Blocks until at least `n` trace export requests arrived (accepted or not); false on
    /// timeout.
    pub fn wait_for_attempts(&self, n: usize, timeout: Duration) -> bool {
        self.running
            .shared
            .capture
            .wait_until(timeout, |s| s.attempts >= n)
    }

    /// Accepted metrics requests in arrival order (failed attempts are not kept).
    pub fn metric_requests(&self) -> Vec<ReceivedMetrics> {
        self.running.shared.capture.metric_requests()
    }

    /// Metrics of accepted requests, flattened in arrival order. A metric exported several
    /// times (e.g. cumulative, every interval) appears once per export.
    pub fn metrics(&self) -> Vec<ReceivedMetric> {
        self.metric_requests()
            .iter()
            .flat_map(ReceivedMetrics::metrics)
            .collect()
    }

    /// Data points of every accepted metric called `name`, in arrival order.
    pub fn metric_points(&self, name: &str) -> Vec<MetricPoint> {
        self.metrics()
            .iter()
            .filter(|m| m.metric.name == name)
            .flat_map(ReceivedMetric::points)
            .collect()
    }

    /// Every metrics export request seen, including ones answered with an error or still
    /// hanging.
    pub fn metric_attempts(&self) -> usize {
        self.running.shared.capture.metric_attempts()
    }

    /// Blocks until an accepted metrics request carries a metric called `name`; false on
    /// timeout.
    pub fn wait_for_metric(&self, name: &str, timeout: Duration) -> bool {
        self.running
            .shared
            .capture
            .wait_until(timeout, |s| s.has_metric(name))
    }

    /// Blocks until at least `n` metrics export requests arrived (accepted or not); false
    /// on timeout.
    pub fn wait_for_metric_attempts(&self, n: usize, timeout: Duration) -> bool {
        self.running
            .shared
            .capture
            .wait_until(timeout, |s| s.metric_attempts >= n)
    }

    /// Forgets captured requests and attempt counts of both signals; the scripts are kept.
    pub fn clear(&self) {
        self.running.shared.capture.clear();
    }

    /// `clear()` plus empty scripts and `Accept` as default, for both signals.
    pub fn reset(&self) {
        self.clear();
        self.running.shared.script(Signal::Traces).reset();
        self.running.shared.script(Signal::Metrics).reset();
    }

    /// Appends one behaviour to the traces script.
    pub fn push(&self, behavior: Behavior) {
        self.running.shared.script(Signal::Traces).push([behavior]);
    }

    /// Appends behaviours to the traces script, consumed one per trace export request.
    pub fn script(&self, behaviors: impl IntoIterator<Item = Behavior>) {
        self.running.shared.script(Signal::Traces).push(behaviors);
    }

    /// What to answer trace exports once their script is used up (initially `Accept`).
    pub fn set_default(&self, behavior: Behavior) {
        self.running
            .shared
            .script(Signal::Traces)
            .set_default(behavior);
    }

    /// Appends one behaviour to the metrics script.
    pub fn push_for_metrics(&self, behavior: Behavior) {
        self.running.shared.script(Signal::Metrics).push([behavior]);
    }

    /// Appends behaviours to the metrics script, consumed one per metrics export request.
    pub fn script_for_metrics(&self, behaviors: impl IntoIterator<Item = Behavior>) {
        self.running.shared.script(Signal::Metrics).push(behaviors);
    }

    /// What to answer metrics exports once their script is used up (initially `Accept`).
    pub fn set_default_for_metrics(&self, behavior: Behavior) {
        self.running
            .shared
            .script(Signal::Metrics)
            .set_default(behavior);
    }

    /// Stops serving and closes both ports, dropping requests in flight (hanging ones
    /// included). Idempotent; captured data stays readable.
    pub fn stop(&self) {
        self.running.stop();
    }
}

impl Drop for FakeOtlp {
    fn drop(&mut self) {
        self.running.stop();
    }
}

impl std::fmt::Debug for FakeOtlp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeOtlp")
            .field("http", &self.running.http_addr)
            .field("grpc", &self.running.grpc_addr)
            .finish()
    }
}
