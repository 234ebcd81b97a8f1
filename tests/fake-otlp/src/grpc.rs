//! OTLP/gRPC receiver: the generated `TraceService` server from opentelemetry-proto,
//! served by tonic with gzip accepted.

use std::sync::Arc;
use std::task::{Context, Poll};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::codegen::{Service, http};
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::behavior::Behavior;
use crate::capture::{Received, Transport};
use crate::server::Shared;

/// tonic's own limit answers OUT_OF_RANGE (retryable in OTLP); the Collector (grpc-go)
/// answers RESOURCE_EXHAUSTED (not retryable without RetryInfo). tonic is given this
/// backstop and [`Receiver::export`] enforces the configured limit the Collector's way.
const TONIC_BACKSTOP: usize = 256 * 1024 * 1024;

pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let service = TraceServiceServer::new(Receiver {
        shared: Arc::clone(&shared),
    })
    .accept_compressed(CompressionEncoding::Gzip)
    .max_decoding_message_size(TONIC_BACKSTOP.max(shared.max_grpc_message_bytes));
    let counted = CountAttempts {
        inner: service,
        shared,
    };
    if let Err(e) = tonic::transport::Server::builder()
        .serve_with_incoming(counted, TcpIncoming::from(listener))
        .await
    {
        eprintln!("fake-otlp: grpc server failed: {e}");
    }
}

/// Counts every call before tonic decodes it, so oversize or undecodable messages (which
/// never reach [`Receiver::export`]) still show up in `attempts()`.
#[derive(Clone)]
struct CountAttempts<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S, B> Service<http::Request<B>> for CountAttempts<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        self.shared.capture.note_attempt();
        self.inner.call(req)
    }
}

struct Receiver {
    shared: Arc<Shared>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
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
        if size > self.shared.max_grpc_message_bytes {
            return Err(Status::resource_exhausted(format!(
                "message of {size} bytes exceeds the limit of {} bytes",
                self.shared.max_grpc_message_bytes
            )));
        }

        let partial = match self.shared.script.next() {
            Behavior::Hang => std::future::pending().await,
            Behavior::Delay(d) => {
                tokio::time::sleep(d).await;
                None
            }
            Behavior::PartialSuccess { rejected, message } => Some(ExportTracePartialSuccess {
                rejected_spans: rejected,
                error_message: message,
            }),
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
        self.shared.accept(Received {
            transport: Transport::Grpc,
            headers,
            gzip,
            body_bytes: size,
            request,
        });
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: partial,
        }))
    }
}
