//! OTLP/HTTP receiver (`POST /v1/traces` and `POST /v1/metrics`, protobuf or JSON,
//! optionally gzip) on hyper 1, plus routing to the control endpoints.

use std::convert::Infallible;
use std::io::Read;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{
    CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER,
};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use tokio::net::TcpListener;

use crate::behavior::Behavior;
use crate::capture::{Received, Transport};
use crate::control;
use crate::server::Shared;
use crate::signal::ExportRequest;

pub(crate) type HttpResponse = Response<Full<Bytes>>;

/// Past the limit the rest of the body is still read (up to this much) before answering
/// 413, so a client that is still writing sees the status instead of a reset connection.
const DRAIN_LIMIT: usize = 256 * 1024 * 1024;

pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Typically EMFILE; back off instead of spinning.
                eprintln!("fake-otlp: http accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(route(req, &shared).await) }
            });
            // Connection errors (client went away) are the client's business.
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn route(req: Request<Incoming>, shared: &Shared) -> HttpResponse {
    let path = req.uri().path();
    if path.starts_with("/control/") {
        return control::handle(req, shared).await;
    }
    match (req.method(), path) {
        (&Method::POST, "/v1/traces") => export::<ExportTraceServiceRequest>(req, shared).await,
        (&Method::POST, "/v1/metrics") => export::<ExportMetricsServiceRequest>(req, shared).await,
        (_, "/v1/traces" | "/v1/metrics") => text(StatusCode::METHOD_NOT_ALLOWED, "use POST"),
        _ => text(StatusCode::NOT_FOUND, "not found"),
    }
}

/// Why a body could not be read.
pub(crate) enum BodyError {
    TooLarge,
    Read(String),
}

/// Reads at most `max` bytes of body; see [`DRAIN_LIMIT`] for what happens past it.
pub(crate) async fn read_body(req: Request<Incoming>, max: usize) -> Result<Bytes, BodyError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > DRAIN_LIMIT) {
        return Err(BodyError::TooLarge);
    }
    let mut body = req.into_body();
    let mut buf = BytesMut::with_capacity(declared.unwrap_or(0).min(max));
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyError::Read(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            total = total.saturating_add(data.len());
            if total <= max {
                buf.extend_from_slice(&data);
            } else if total > DRAIN_LIMIT {
                break;
            }
        }
    }
    if total > max {
        Err(BodyError::TooLarge)
    } else {
        Ok(buf.freeze())
    }
}

fn gunzip(body: &[u8], max: usize) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(body)
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| BodyError::Read(format!("invalid gzip body: {e}")))?;
    if out.len() > max {
        return Err(BodyError::TooLarge);
    }
    Ok(out)
}

pub(crate) fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

async fn export<R: ExportRequest>(req: Request<Incoming>, shared: &Shared) -> HttpResponse {
    shared.capture.note_attempt(R::SIGNAL);
    let headers = header_pairs(req.headers());
    let transport = match media_type(req.headers()).as_str() {
        "application/x-protobuf" | "application/protobuf" => Transport::Http,
        "application/json" => Transport::HttpJson,
        other => {
            return text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &format!("unsupported content-type {other:?}"),
            );
        }
    };
    let gzip = match req
        .headers()
        .get(CONTENT_ENCODING)
        .map(HeaderValue::as_bytes)
    {
        None | Some(b"identity") => false,
        Some(b"gzip") => true,
        Some(other) => {
            let msg = format!(
                "unsupported content-encoding {:?}",
                String::from_utf8_lossy(other)
            );
            return status(transport, 400, tonic::Code::InvalidArgument, &msg, None);
        }
    };
    let max = shared.max_http_body_bytes;
    let body = match read_body(req, max).await {
        Ok(body) => body,
        Err(e) => return body_error(transport, e),
    };
    let body_bytes = body.len();
    let decoded = if gzip {
        match gunzip(&body, max) {
            Ok(plain) => decode::<R>(transport, &plain),
            Err(e) => return body_error(transport, e),
        }
    } else {
        decode::<R>(transport, &body)
    };
    let request = match decoded {
        Ok(request) => request,
        Err(msg) => return status(transport, 400, tonic::Code::InvalidArgument, &msg, None),
    };

    let behavior = shared.script(R::SIGNAL).next();
    let partial = match behavior {
        Behavior::Hang => std::future::pending().await,
        Behavior::Delay(d) => {
            tokio::time::sleep(d).await;
            None
        }
        Behavior::PartialSuccess { rejected, message } => Some((rejected, message)),
        other => {
            if let Some(f) = other.failure() {
                let msg = format!("scripted failure: HTTP {}", f.http_status);
                return status(
                    transport,
                    f.http_status,
                    f.grpc_code,
                    &msg,
                    f.retry_after.as_deref(),
                );
            }
            None
        }
    };
    shared.accept(Received {
        transport,
        headers,
        gzip,
        body_bytes,
        request,
    });
    success::<R>(transport, partial)
}

fn decode<R: ExportRequest>(transport: Transport, body: &[u8]) -> Result<R, String> {
    match transport {
        Transport::HttpJson => {
            serde_json::from_slice(body).map_err(|e| format!("invalid OTLP-JSON body: {e}"))
        }
        _ => R::decode(body).map_err(|e| format!("invalid protobuf body: {e}")),
    }
}

fn body_error(transport: Transport, e: BodyError) -> HttpResponse {
    match e {
        BodyError::TooLarge => status(
            transport,
            413,
            tonic::Code::ResourceExhausted,
            "request body too large",
            None,
        ),
        BodyError::Read(msg) => status(transport, 400, tonic::Code::InvalidArgument, &msg, None),
    }
}

fn success<R: ExportRequest>(transport: Transport, partial: Option<(i64, String)>) -> HttpResponse {
    let has_partial = partial.is_some();
    let response = R::response(partial);
    match transport {
        Transport::HttpJson => {
            // An absent partial_success is written as `{}`, as the collector does.
            let body = if has_partial {
                serde_json::to_vec(&response).unwrap_or_else(|_| b"{}".to_vec())
            } else {
                b"{}".to_vec()
            };
            with_body(StatusCode::OK, "application/json", body)
        }
        _ => with_body(
            StatusCode::OK,
            "application/x-protobuf",
            response.encode_to_vec(),
        ),
    }
}

/// An error answer with a `google.rpc.Status` body in the request's encoding, as OTLP/HTTP
/// specifies.
fn status(
    transport: Transport,
    http_status: u16,
    code: tonic::Code,
    message: &str,
    retry_after: Option<&str>,
) -> HttpResponse {
    let code_num = code as i32;
    let status_code =
        StatusCode::from_u16(http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match transport {
        Transport::HttpJson => with_body(
            status_code,
            "application/json",
            serde_json::json!({ "code": code_num, "message": message }).to_string(),
        ),
        _ => with_body(
            status_code,
            "application/x-protobuf",
            tonic_types::Status {
                code: code_num,
                message: message.to_owned(),
                details: Vec::new(),
            }
            .encode_to_vec(),
        ),
    };
    if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(v).ok()) {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}

pub(crate) fn with_body(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> HttpResponse {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

pub(crate) fn text(status: StatusCode, message: &str) -> HttpResponse {
    with_body(status, "text/plain; charset=utf-8", message.to_owned())
}
