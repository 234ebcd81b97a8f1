//! Fake OTLP trace receiver on loopback for tokentrace's integration tests.
//!
//! It decodes every request for real (protobuf, OTLP-JSON, gzip, gRPC via the generated
//! `TraceService`), keeps what it accepted, and answers from a script so tests can drive
//! retries, throttling, partial success and hangs. The API is blocking so plain `#[test]`
//! functions can use it; the server runs its own tokio runtime on a background thread.
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
mod server;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::Duration;

pub use behavior::{Behavior, ScriptError};
pub use capture::{Received, ReceivedSpan, Transport};
pub use control::SESSION_HEADER;
/// Re-exported so tests can build and inspect requests without naming the crate versions.
pub use opentelemetry_proto;
pub use tonic::Code;

use server::Running;

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
    /// Append every accepted request to this file as one OTLP-JSON line.
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

    /// URL of OTLP/gRPC, e.g. `http://127.0.0.1:4317`.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.running.grpc_addr)
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.running.http_addr
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.running.grpc_addr
    }

    /// Accepted requests in arrival order (failed attempts are not kept).
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

    /// Every export request seen, including ones answered with an error or still hanging.
    pub fn attempts(&self) -> usize {
        self.running.shared.capture.attempts()
    }

    /// Blocks until at least `n` spans were accepted; false on timeout.
    pub fn wait_for_spans(&self, n: usize, timeout: Duration) -> bool {
        self.running
            .shared
            .capture
            .wait_until(timeout, |spans, _| spans >= n)
    }

    /// Blocks until at least `n` export requests arrived (accepted or not); false on timeout.
    pub fn wait_for_attempts(&self, n: usize, timeout: Duration) -> bool {
        self.running
            .shared
            .capture
            .wait_until(timeout, |_, attempts| attempts >= n)
    }

    /// Forgets captured requests and the attempt count; the script is kept.
    pub fn clear(&self) {
        self.running.shared.capture.clear();
    }

    /// `clear()` plus an empty script and `Accept` as default.
    pub fn reset(&self) {
        self.clear();
        self.running.shared.script.reset();
    }

    /// Appends one behaviour to the script.
    pub fn push(&self, behavior: Behavior) {
        self.running.shared.script.push([behavior]);
    }

    /// Appends behaviours to the script, consumed one per export request.
    pub fn script(&self, behaviors: impl IntoIterator<Item = Behavior>) {
        self.running.shared.script.push(behaviors);
    }

    /// What to answer once the script is used up (initially `Accept`).
    pub fn set_default(&self, behavior: Behavior) {
        self.running.shared.script.set_default(behavior);
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
