//! OTLP/HTTP: protobuf (or JSON) POSTs with retries.

use std::io::Write;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use reqwest::header::{
    CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, USER_AGENT,
};

use super::Partial;
use super::transport::{Answer, Client};
use crate::config::{Compression, OtlpConfig, Protocol};
use crate::export::retry::{Retry, classify_http, wait_or_give_up};
use crate::export::{
    BoxFuture, Encodings, ExportBatch, ExportContext, ExportOutcome, ExportResult, SpanExporter,
};

pub struct HttpExporter {
    client: Client,
    url: String,
    metrics_url: String,
    json: bool,
    gzip: bool,
}

impl HttpExporter {
    pub fn new(cfg: &OtlpConfig) -> Result<Self, String> {
        super::ensure_crypto_provider();
        let mut headers = HeaderMap::new();
        for (k, v) in &cfg.headers {
            let name =
                HeaderName::from_bytes(k.as_bytes()).map_err(|e| format!("header {k:?}: {e}"))?;
            let value = HeaderValue::from_str(v).map_err(|e| format!("header {k:?}: {e}"))?;
            headers.insert(name, value);
        }
        headers.insert(USER_AGENT, HeaderValue::from_static(super::USER_AGENT));
        let json = cfg.protocol == Protocol::HttpJson;
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(if json {
                "application/json"
            } else {
                "application/x-protobuf"
            }),
        );
        let gzip = cfg.compression == Compression::Gzip;
        if gzip {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        let client = Client::new(
            [cfg.endpoint.as_str(), cfg.metrics_endpoint.as_str()],
            headers,
            cfg.timeout,
        )?;
        Ok(HttpExporter {
            client,
            url: cfg.endpoint.clone(),
            metrics_url: cfg.metrics_endpoint.clone(),
            json,
            gzip,
        })
    }

    /// The metrics request in this exporter's encoding.
    fn metrics_body(&self, msg: &ExportMetricsServiceRequest) -> Result<Bytes, String> {
        if self.json {
            serde_json::to_vec(msg)
                .map(Bytes::from)
                .map_err(|e| format!("JSON encoding failed: {e}"))
        } else {
            Ok(Bytes::from(msg.encode_to_vec()))
        }
    }

    /// The span batch's request body in this exporter's encoding.
    fn spans_body(&self, batch: &ExportBatch) -> Result<Bytes, String> {
        let raw = if self.json {
            batch.json()
        } else {
            batch.protobuf().cloned()
        };
        raw.ok_or_else(|| format!("the batch was not encoded for {}", self.name()))
    }

    /// Compresses when configured.
    fn compress(&self, raw: Bytes) -> Result<Bytes, String> {
        if !self.gzip {
            return Ok(raw);
        }
        let mut enc = flate2::write::GzEncoder::new(
            Vec::with_capacity(raw.len() / 4),
            flate2::Compression::fast(),
        );
        enc.write_all(&raw).map_err(|e| e.to_string())?;
        enc.finish().map(Bytes::from).map_err(|e| e.to_string())
    }

    /// POSTs `body` to `url` with retries; `partial` reads a partial success answer.
    async fn send(
        &self,
        url: &str,
        body: Result<Bytes, String>,
        partial: fn(&[u8], bool) -> Partial,
        ctx: ExportContext,
    ) -> ExportResult {
        let body = match body.and_then(|b| self.compress(b)) {
            Ok(b) => b,
            Err(e) => return ExportResult::failed(e, 0),
        };
        let mut attempt = 0u32;
        loop {
            let (retry, error) = match self.client.post(url, body.clone()).await {
                Ok(Answer { status, body, .. }) if (200..300).contains(&status) => {
                    let partial = partial(&body, self.json);
                    return ExportResult {
                        outcome: ExportOutcome::Success {
                            rejected: partial.rejected,
                        },
                        retries: attempt,
                        partial_success_message: partial.message,
                    };
                }
                Ok(Answer {
                    status,
                    retry_after,
                    body,
                }) => {
                    let text: String = String::from_utf8_lossy(&body).chars().take(200).collect();
                    (
                        classify_http(status, retry_after.as_deref()),
                        format!("HTTP {status} from {url}: {text}"),
                    )
                }
                // Connection refused / reset / timeout: retryable per spec.
                Err(e) => (Retry::After(None), format!("sending to {url} failed: {e}")),
            };
            if let Some(fail) = wait_or_give_up(retry, error, &mut attempt, ctx.deadline).await {
                return fail;
            }
        }
    }
}

/// Partial success of a metrics export: data points refused.
fn rejected_points(body: &[u8], json: bool) -> Partial {
    if body.is_empty() {
        return Partial::default();
    }
    let resp = if json {
        serde_json::from_slice::<ExportMetricsServiceResponse>(body).ok()
    } else {
        ExportMetricsServiceResponse::decode(body).ok()
    };
    resp.and_then(|r| r.partial_success)
        .map_or_else(Partial::default, |p| {
            Partial::new(p.rejected_data_points, p.error_message)
        })
}

/// Partial success: spans the receiver refused although it answered 2xx.
fn rejected_spans(body: &[u8], json: bool) -> Partial {
    if body.is_empty() {
        return Partial::default();
    }
    let resp = if json {
        serde_json::from_slice::<ExportTraceServiceResponse>(body).ok()
    } else {
        ExportTraceServiceResponse::decode(body).ok()
    };
    resp.and_then(|r| r.partial_success)
        .map_or_else(Partial::default, |p| {
            Partial::new(p.rejected_spans, p.error_message)
        })
}

impl SpanExporter for HttpExporter {
    fn name(&self) -> &'static str {
        if self.json {
            "otlp-http-json"
        } else {
            "otlp-http"
        }
    }

    fn encodings(&self) -> Encodings {
        if self.json {
            Encodings::JSON
        } else {
            Encodings::PROTOBUF
        }
    }

    fn export<'a>(
        &'a self,
        batch: &'a ExportBatch,
        ctx: ExportContext,
    ) -> BoxFuture<'a, ExportResult> {
        Box::pin(self.send(&self.url, self.spans_body(batch), rejected_spans, ctx))
    }

    fn export_metrics<'a>(
        &'a self,
        req: &'a ExportMetricsServiceRequest,
        ctx: ExportContext,
    ) -> Option<BoxFuture<'a, ExportResult>> {
        Some(Box::pin(self.send(
            &self.metrics_url,
            self.metrics_body(req),
            rejected_points,
            ctx,
        )))
    }
}
