//! OTLP/gRPC receiver: the generated `TraceService` and `MetricsService` servers from
//! opentelemetry-proto, served by tonic with gzip accepted.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    self, MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    self, TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tokio::net::TcpListener;
use tonic::body::Body;
use tonic::codec::CompressionEncoding;
use tonic::codegen::{BoxFuture, Service, http};
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::behavior::Behavior;
use crate::capture::{Received, Transport};
use crate::server::Shared;
use crate::signal::{ExportRequest, Signal};

/// tonic's own limit answers OUT_OF_RANGE (retryable in OTLP); the Collector (grpc-go)
/// answers RESOURCE_EXHAUSTED (not retryable without RetryInfo). tonic is given this
/// backstop and [`export`] enforces the configured limit the Collector's way.
const TONIC_BACKSTOP: usize = 256 * 1024 * 1024;

pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let limit = TONIC_BACKSTOP.max(shared.max_grpc_message_bytes);
    let receiver = Receiver {
        shared: Arc::clone(&shared),
    };
    let services = Services {
        traces: TraceServiceServer::new(receiver.clone())
            .accept_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(limit),
        metrics: MetricsServiceServer::new(receiver)
            .accept_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(limit),
        shared,
    };
    if let Err(e) = tonic::transport::Server::builder()
        .serve_with_incoming(services, TcpIncoming::from(listener))
        .await
    {
        eprintln!("fake-otlp: grpc server failed: {e}");
    }
}

/// Routes each call to the signal's service by path (tonic's router needs a feature the
/// workspace does not enable) and counts it as an attempt before tonic decodes it, so
/// oversize or undecodable messages (which never reach [`export`]) still show up.
#[derive(Clone)]
struct Services {
    traces: TraceServiceServer<Receiver>,
    metrics: MetricsServiceServer<Receiver>,
    shared: Arc<Shared>,
}

/// The signal whose service `path` (`/package.Service/Method`) belongs to.
fn signal_of(path: &str) -> Option<Signal> {
    let service = path.strip_prefix('/')?.split('/').next()?;
    if service == trace_service_server::SERVICE_NAME {
        Some(Signal::Traces)
    } else if service == metrics_service_server::SERVICE_NAME {
        Some(Signal::Metrics)
    } else {
        None
    }
}

impl Service<http::Request<Body>> for Services {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        ready!(Service::<http::Request<Body>>::poll_ready(
            &mut self.traces,
            cx
        ))?;
        Service::<http::Request<Body>>::poll_ready(&mut self.metrics, cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        match signal_of(req.uri().path()) {
            Some(Signal::Metrics) => {
                self.shared.capture.note_attempt(Signal::Metrics);
                self.metrics.call(req)
            }
            Some(Signal::Traces) => {
                self.shared.capture.note_attempt(Signal::Traces);
                self.traces.call(req)
            }
            // Unknown service: the generated server answers UNIMPLEMENTED.
            None => self.traces.call(req),
        }
    }
}

#[derive(Clone)]
struct Receiver {
    shared: Arc<Shared>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        export(&self.shared, request).await
    }
}

#[tonic::async_trait]
impl MetricsService for Receiver {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        export(&self.shared, request).await
    }
}

/// One export call of any signal: size limit, then the signal's script, then storage.
async fn export<R: ExportRequest>(
    shared: &Shared,
    request: Request<R>,
) -> Result<Response<R::Response>, Status> {
    let headers: Vec<(String, String)> = request
        .metadata()
        .clone()
        .into_headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let gzip = headers
        .iter()
        .any(|(k, v)| k == "grpc-encoding" && v.eq_ignore_ascii_case("gzip"));
    let request = request.into_inner();
    let size = request.encoded_len();
    if size > shared.max_grpc_message_bytes {
        return Err(Status::resource_exhausted(format!(
            "message of {size} bytes exceeds the limit of {} bytes",
            shared.max_grpc_message_bytes
        )));
    }

    let partial = match shared.script(R::SIGNAL).next() {
        Behavior::Hang => std::future::pending().await,
        Behavior::Delay(d) => {
            tokio::time::sleep(d).await;
            None
        }
        Behavior::PartialSuccess { rejected, message } => Some((rejected, message)),
        other => {
            if let Some(f) = other.failure() {
                let msg = format!("scripted failure: {:?}", f.grpc_code);
                return Err(match f.retry_delay {
                    Some(delay) => Status::with_error_details(
                        f.grpc_code,
                        msg,
                        ErrorDetails::with_retry_info(Some(delay)),
                    ),
                    None => Status::new(f.grpc_code, msg),
                });
            }
            None
        }
    };
    shared.accept(Received {
        transport: Transport::Grpc,
        headers,
        gzip,
        body_bytes: size,
        request,
    });
    Ok(Response::new(R::response(partial)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_route_to_their_signal() {
        assert_eq!(
            signal_of("/opentelemetry.proto.collector.trace.v1.TraceService/Export"),
            Some(Signal::Traces)
        );
        assert_eq!(
            signal_of("/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"),
            Some(Signal::Metrics)
        );
        assert_eq!(
            signal_of("/opentelemetry.proto.collector.logs.v1.LogsService/Export"),
            None
        );
        assert_eq!(signal_of("/"), None);
    }
}
