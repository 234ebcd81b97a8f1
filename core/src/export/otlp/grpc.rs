//! OTLP/gRPC with tonic's generated client.

use std::str::FromStr;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use tonic::codec::CompressionEncoding;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use tonic_types::StatusExt;

use crate::config::{Compression, OtlpConfig};
use crate::export::retry::{classify_grpc, wait_or_give_up};
use crate::export::{
    BoxFuture, ExportBatch, ExportContext, ExportOutcome, ExportResult, SpanExporter,
};

/// Above tonic's 4 MiB default so large batches get the receiver's own
/// answer; the worker already splits batches below the receiver's limit.
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

pub struct GrpcExporter {
    client: TraceServiceClient<Channel>,
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
        if cfg.endpoint.starts_with("https://") {
            endpoint = endpoint
                .tls_config(tonic::transport::ClientTlsConfig::new().with_native_roots())
                .map_err(|e| format!("TLS setup failed: {e}"))?;
        }
        let channel = endpoint.connect_lazy();
        let mut client =
            TraceServiceClient::new(channel.clone()).max_encoding_message_size(MAX_MESSAGE_BYTES);
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

    /// Runs `attempt` with the OTLP retry rules; it returns the number of
    /// items a partial success rejected.
    async fn with_retries<F, Fut>(&self, ctx: ExportContext, mut attempt_fn: F) -> ExportResult
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<u64, tonic::Status>>,
    {
        let mut attempt = 0u32;
        loop {
            let status = match attempt_fn().await {
                Ok(rejected) => {
                    return ExportResult {
                        outcome: ExportOutcome::Success { rejected },
                        retries: attempt,
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
        self.with_retries(ctx, || {
            let mut client = self.client.clone();
            let req = self.request(batch.request.clone());
            async move {
                let resp = client.export(req).await?;
                Ok(resp
                    .into_inner()
                    .partial_success
                    .map_or(0, |p| p.rejected_spans.max(0) as u64))
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
                    .map_or(0, |p| p.rejected_data_points.max(0) as u64))
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
