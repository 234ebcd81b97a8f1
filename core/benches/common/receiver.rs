//! A minimal OTLP/HTTP receiver on 127.0.0.1: decodes every request body with
//! prost into an `ExportTraceServiceRequest` and counts the spans it holds,
//! so "delivered" means decoded by the receiver, not merely sent. Runs on its
//! own named thread (`bench-receiver`) with a one-thread runtime, so its CPU
//! is accounted separately.

use std::convert::Infallible;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

#[derive(Default)]
pub struct Counts {
    pub spans: AtomicU64,
    pub requests: AtomicU64,
    pub body_bytes: AtomicU64,
    pub bad_requests: AtomicU64,
    /// Nanoseconds after `Receiver::started` of the last decoded request.
    pub last_ns: AtomicU64,
}

pub struct Receiver {
    pub addr: SocketAddr,
    pub counts: Arc<Counts>,
    pub started: Instant,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let counts = Arc::new(Counts::default());
        let started = Instant::now();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let c = counts.clone();
        let thread = std::thread::Builder::new()
            .name("bench-receiver".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("receiver runtime");
                rt.block_on(serve(listener, c, started, stop_rx));
            })
            .expect("spawn receiver");
        Receiver {
            addr,
            counts,
            started,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Base URL (`http://127.0.0.1:port`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn traces_url(&self) -> String {
        format!("http://{}/v1/traces", self.addr)
    }

    pub fn spans(&self) -> u64 {
        self.counts.spans.load(Relaxed)
    }

    /// When the last request was decoded.
    pub fn last_receipt(&self) -> Instant {
        self.started + Duration::from_nanos(self.counts.last_ns.load(Relaxed))
    }

    /// Waits until `n` spans arrived, or nothing arrived for `idle`.
    pub fn wait_for(&self, n: u64, idle: Duration, max: Duration) -> u64 {
        let deadline = Instant::now() + max;
        let mut last = self.spans();
        let mut last_change = Instant::now();
        while Instant::now() < deadline {
            let now = self.spans();
            if now >= n {
                return now;
            }
            if now != last {
                last = now;
                last_change = Instant::now();
            } else if last_change.elapsed() >= idle {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.spans()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    counts: Arc<Counts>,
    started: Instant,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = &mut stop => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let c = counts.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| handle(req, c.clone(), started));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

async fn handle(
    req: Request<Incoming>,
    counts: Arc<Counts>,
    started: Instant,
) -> Result<Response<Full<Bytes>>, Infallible> {
    // Metrics (tokentrace sends its GenAI metrics beside the traces) are
    // decoded and acknowledged, but not counted with the spans.
    let metrics = req.uri().path().ends_with("/v1/metrics");
    let gzip = req
        .headers()
        .get(hyper::header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(status(StatusCode::BAD_REQUEST)),
    };
    if !metrics {
        counts.body_bytes.fetch_add(body.len() as u64, Relaxed);
    }
    let raw = if gzip {
        let mut out = Vec::new();
        if flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .is_err()
        {
            counts.bad_requests.fetch_add(1, Relaxed);
            return Ok(status(StatusCode::BAD_REQUEST));
        }
        Bytes::from(out)
    } else {
        body
    };
    if metrics {
        if ExportMetricsServiceRequest::decode(raw).is_err() {
            counts.bad_requests.fetch_add(1, Relaxed);
            return Ok(status(StatusCode::BAD_REQUEST));
        }
        return Ok(protobuf(
            ExportMetricsServiceResponse::default().encode_to_vec(),
        ));
    }
    let Ok(request) = ExportTraceServiceRequest::decode(raw) else {
        counts.bad_requests.fetch_add(1, Relaxed);
        return Ok(status(StatusCode::BAD_REQUEST));
    };
    let n: usize = request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum();
    counts.spans.fetch_add(n as u64, Relaxed);
    counts.requests.fetch_add(1, Relaxed);
    counts
        .last_ns
        .fetch_max(started.elapsed().as_nanos() as u64, Relaxed);
    Ok(protobuf(
        ExportTraceServiceResponse::default().encode_to_vec(),
    ))
}

fn protobuf(body: Vec<u8>) -> Response<Full<Bytes>> {
    Response::builder()
        .header(hyper::header::CONTENT_TYPE, "application/x-protobuf")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| status(StatusCode::INTERNAL_SERVER_ERROR))
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = code;
    r
}
