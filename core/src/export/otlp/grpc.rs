//! OTLP/gRPC with tonic: spans as the worker's pre-encoded protobuf (a
//! bytes codec, so the request is not decoded and re-encoded), metrics with
//! the generated client.

use std::marker::PhantomData;
use std::str::FromStr;
use std::time::Duration;

use bytes::{BufMut, Bytes};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use tonic_types::StatusExt;

use super::Partial;
use crate::config::{Compression, OtlpConfig};
use crate::export::retry::{classify_grpc, wait_or_give_up};
use crate::export::{
    BoxFuture, ExportBatch, ExportContext, ExportOutcome, ExportResult, SpanExporter,
};

/// Above tonic's 4 MiB default so large batches get the receiver's own
/// answer; the worker already splits batches below the receiver's limit.
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

const TRACE_SERVICE: &str = "opentelemetry.proto.collector.trace.v1.TraceService";
const TRACE_EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// Sends an already encoded protobuf request as is; decodes the response `R`.
struct PreEncoded<R>(PhantomData<R>);

struct BytesEncoder;

struct ProstDecoder<R>(PhantomData<R>);

impl<R: prost::Message + Default + Send + 'static> Codec for PreEncoded<R> {
    type Encode = Bytes;
    type Decode = R;
    type Encoder = BytesEncoder;
    type Decoder = ProstDecoder<R>;

    fn encoder(&mut self) -> BytesEncoder {
        BytesEncoder
    }

    fn decoder(&mut self) -> ProstDecoder<R> {
        ProstDecoder(PhantomData)
    }
}

impl Encoder for BytesEncoder {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put(item);
        Ok(())
    }
}

impl<R: prost::Message + Default> Decoder for ProstDecoder<R> {
    type Item = R;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<R>, tonic::Status> {
        R::decode(src)
            .map(Some)
            .map_err(|e| tonic::Status::internal(format!("invalid response: {e}")))
    }
}

pub struct GrpcExporter {
    client: tonic::client::Grpc<Channel>,
    metrics: MetricsServiceClient<Channel>,
    metadata: MetadataMap,
    endpoint: String,
    timeout: Duration,
}

impl GrpcExporter {
    pub fn new(cfg: &OtlpConfig) -> Result<Self, String> {
        super::ensure_crypto_provider();
        let mut endpoint = Endpoint::from_str(&cfg.endpoint)
            .map_err(|e| format!("invalid gRPC endpoint {}: {e}", cfg.endpoint))?
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(5)))
            .user_agent(super::USER_AGENT)
            .map_err(|e| e.to_string())?;
        let channel = if cfg.endpoint.starts_with("https://") {
            endpoint = endpoint
                .tls_config(tonic::transport::ClientTlsConfig::new().with_native_roots())
                .map_err(|e| format!("TLS setup failed: {e}"))?;
            endpoint.connect_lazy()
        } else {
            // Plain HTTP/2: the connector that tunes loopback sockets.
            endpoint.connect_with_connector_lazy(super::transport::Connector::plain(
                cfg.timeout.min(Duration::from_secs(5)),
            ))
        };
        let mut client =
            tonic::client::Grpc::new(channel.clone()).max_encoding_message_size(MAX_MESSAGE_BYTES);
        let mut metrics =
            MetricsServiceClient::new(channel).max_encoding_message_size(MAX_MESSAGE_BYTES);
        if cfg.compression == Compression::Gzip {
            client = client.send_compressed(CompressionEncoding::Gzip);
            metrics = metrics.send_compressed(CompressionEncoding::Gzip);
        }
        let mut metadata = MetadataMap::new();
        for (k, v) in &cfg.headers {
            let key =
                MetadataKey::from_bytes(k.as_bytes()).map_err(|e| format!("header {k:?}: {e}"))?;
            let value =
                MetadataValue::try_from(v.as_str()).map_err(|e| format!("header {k:?}: {e}"))?;
            metadata.insert(key, value);
        }
        Ok(GrpcExporter {
            client,
            metrics,
            metadata,
            endpoint: cfg.endpoint.clone(),
            timeout: cfg.timeout,
        })
    }

    /// Runs `attempt` with the OTLP retry rules; it returns what a partial
    /// success rejected.
    async fn with_retries<F, Fut>(&self, ctx: ExportContext, mut attempt_fn: F) -> ExportResult
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Partial, tonic::Status>>,
    {
        let mut attempt = 0u32;
        loop {
            let status = match attempt_fn().await {
                Ok(partial) => {
                    return ExportResult {
                        outcome: ExportOutcome::Success {
                            rejected: partial.rejected,
                        },
                        retries: attempt,
                        partial_success_message: partial.message,
                    };
                }
                Err(status) => status,
            };
            let retry_info = status.get_details_retry_info().and_then(|r| r.retry_delay);
            let error = format!(
                "gRPC {:?} from {}: {}",
                status.code(),
                self.endpoint,
                status.message().chars().take(200).collect::<String>()
            );
            if let Some(fail) = wait_or_give_up(
                classify_grpc(status.code(), retry_info),
                error,
                &mut attempt,
                ctx.deadline,
            )
            .await
            {
                return fail;
            }
        }
    }

    fn request<T>(&self, msg: T) -> tonic::Request<T> {
        let mut req = tonic::Request::new(msg);
        *req.metadata_mut() = self.metadata.clone();
        req.set_timeout(self.timeout);
        req
    }

    async fn send(&self, batch: &ExportBatch, ctx: ExportContext) -> ExportResult {
        let Some(body) = batch.protobuf() else {
            return ExportResult::failed("the batch was not encoded as protobuf", 0);
        };
        self.with_retries(ctx, || {
            let mut client = self.client.clone();
            let mut req = self.request(body.clone());
            req.extensions_mut()
                .insert(tonic::GrpcMethod::new(TRACE_SERVICE, "Export"));
            async move {
                client.ready().await.map_err(|e| {
                    let e: tonic::codegen::StdError = e.into();
                    tonic::Status::unknown(format!("Service was not ready: {e}"))
                })?;
                let codec = PreEncoded::<ExportTraceServiceResponse>(PhantomData);
                let path = PathAndQuery::from_static(TRACE_EXPORT_PATH);
                let resp = client.unary(req, path, codec).await?;
                Ok(resp
                    .into_inner()
                    .partial_success
                    .map_or_else(Partial::default, |p| {
                        Partial::new(p.rejected_spans, p.error_message)
                    }))
            }
        })
        .await
    }

    async fn send_metrics(
        &self,
        msg: &ExportMetricsServiceRequest,
        ctx: ExportContext,
    ) -> ExportResult {
        self.with_retries(ctx, || {
            let mut client = self.metrics.clone();
            let req = self.request(msg.clone());
            async move {
                let resp = client.export(req).await?;
                Ok(resp
                    .into_inner()
                    .partial_success
                    .map_or_else(Partial::default, |p| {
                        Partial::new(p.rejected_data_points, p.error_message)
                    }))
            }
        })
        .await
    }
}

impl SpanExporter for GrpcExporter {
    fn name(&self) -> &'static str {
        "otlp-grpc"
    }

    fn export<'a>(
        &'a self,
        batch: &'a ExportBatch,
        ctx: ExportContext,
    ) -> BoxFuture<'a, ExportResult> {
        Box::pin(self.send(batch, ctx))
    }

    fn export_metrics<'a>(
        &'a self,
        req: &'a ExportMetricsServiceRequest,
        ctx: ExportContext,
    ) -> Option<BoxFuture<'a, ExportResult>> {
        Some(Box::pin(self.send_metrics(req, ctx)))
    }
}
