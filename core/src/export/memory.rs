//! Memory exporter: keeps exported spans (after every pipeline stage, exactly
//! as an OTLP receiver would get them) so tests in every binding can read them
//! back. Bounded: beyond `MAX_SPANS` the oldest are discarded.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::{Map, Value as Json};

use super::{BoxFuture, ExportBatch, ExportContext, ExportResult, SpanExporter};

pub const MAX_SPANS: usize = 100_000;

/// A finished span in a binding-friendly shape.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedSpan {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    /// `internal`, `client`, `server`, `producer`, `consumer`.
    pub kind: &'static str,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    /// `unset`, `ok` or `error`.
    pub status_code: &'static str,
    pub status_message: String,
    pub attributes: Map<String, Json>,
    pub events: Vec<(String, u64, Map<String, Json>)>,
    pub resource: Map<String, Json>,
    pub dropped_attributes_count: u32,
}

impl FinishedSpan {
    pub fn attr(&self, key: &str) -> Option<&Json> {
        self.attributes.get(key)
    }

    /// The span as one JSON object (what bindings hand to their languages).
    pub fn to_json(&self) -> Json {
        let events: Vec<Json> = self
            .events
            .iter()
            .map(|(n, t, a)| serde_json::json!({"name": n, "time_unix_nanos": t, "attributes": a}))
            .collect();
        serde_json::json!({
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_span_id": self.parent_span_id,
            "name": self.name,
            "kind": self.kind,
            "start_unix_nanos": self.start_unix_nanos,
            "end_unix_nanos": self.end_unix_nanos,
            "status_code": self.status_code,
            "status_message": self.status_message,
            "attributes": self.attributes,
            "events": events,
            "resource": self.resource,
            "dropped_attributes_count": self.dropped_attributes_count,
        })
    }
}

pub(crate) fn json_of(v: &AnyValue) -> Json {
    match &v.value {
        Some(any_value::Value::StringValue(s)) => Json::String(s.clone()),
        Some(any_value::Value::BoolValue(b)) => Json::Bool(*b),
        Some(any_value::Value::IntValue(i)) => Json::from(*i),
        Some(any_value::Value::DoubleValue(f)) => serde_json::Number::from_f64(*f)
            .map(Json::Number)
            .unwrap_or_else(|| Json::String(f.to_string())),
        Some(any_value::Value::ArrayValue(a)) => {
            Json::Array(a.values.iter().map(json_of).collect())
        }
        Some(any_value::Value::KvlistValue(l)) => Json::Object(map_of(&l.values)),
        Some(any_value::Value::BytesValue(b)) => {
            Json::String(b.iter().map(|x| format!("{x:02x}")).collect())
        }
        _ => Json::Null,
    }
}

pub(crate) fn map_of(kvs: &[KeyValue]) -> Map<String, Json> {
    kvs.iter()
        .map(|kv| {
            (
                kv.key.clone(),
                kv.value.as_ref().map(json_of).unwrap_or(Json::Null),
            )
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn finished(s: &Span, resource: &Map<String, Json>) -> FinishedSpan {
    FinishedSpan {
        trace_id: hex(&s.trace_id),
        span_id: hex(&s.span_id),
        parent_span_id: (!s.parent_span_id.is_empty()).then(|| hex(&s.parent_span_id)),
        name: s.name.clone(),
        kind: match s.kind {
            2 => "server",
            3 => "client",
            4 => "producer",
            5 => "consumer",
            _ => "internal",
        },
        start_unix_nanos: s.start_time_unix_nano,
        end_unix_nanos: s.end_time_unix_nano,
        status_code: match s.status.as_ref().map(|st| st.code) {
            Some(1) => "ok",
            Some(2) => "error",
            _ => "unset",
        },
        status_message: s
            .status
            .as_ref()
            .map(|st| st.message.clone())
            .unwrap_or_default(),
        attributes: map_of(&s.attributes),
        events: s
            .events
            .iter()
            .map(|e| (e.name.clone(), e.time_unix_nano, map_of(&e.attributes)))
            .collect(),
        resource: resource.clone(),
        dropped_attributes_count: s.dropped_attributes_count,
    }
}

/// The shared span store (outlives worker restarts and forks).
#[derive(Debug, Default)]
pub struct MemoryStore {
    spans: Mutex<VecDeque<FinishedSpan>>,
    /// The latest metrics export (cumulative, so the latest is complete).
    metrics: Mutex<Option<ExportMetricsServiceRequest>>,
}

impl MemoryStore {
    pub fn spans(&self) -> Vec<FinishedSpan> {
        self.spans
            .lock()
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn clear(&self) {
        if let Ok(mut s) = self.spans.lock() {
            s.clear();
        }
        if let Ok(mut m) = self.metrics.lock() {
            *m = None;
        }
    }

    pub fn metrics(&self) -> Option<ExportMetricsServiceRequest> {
        self.metrics.lock().ok().and_then(|m| m.clone())
    }

    fn push_batch(&self, batch: &ExportBatch) -> Result<(), super::DecodeError> {
        let request = batch.decode()?;
        let Ok(mut store) = self.spans.lock() else {
            return Ok(());
        };
        for rs in &request.resource_spans {
            let resource = rs
                .resource
                .as_ref()
                .map(|r| map_of(&r.attributes))
                .unwrap_or_default();
            for ss in &rs.scope_spans {
                for s in &ss.spans {
                    if store.len() >= MAX_SPANS {
                        store.pop_front();
                    }
                    store.push_back(finished(s, &resource));
                }
            }
        }
        Ok(())
    }
}

pub struct MemoryExporter {
    pub store: Arc<MemoryStore>,
}

impl SpanExporter for MemoryExporter {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn export<'a>(
        &'a self,
        batch: &'a ExportBatch,
        _ctx: ExportContext,
    ) -> BoxFuture<'a, ExportResult> {
        Box::pin(async move {
            match self.store.push_batch(batch) {
                Ok(()) => ExportResult::ok(),
                Err(e) => ExportResult::failed(e.to_string(), 0),
            }
        })
    }

    fn export_metrics<'a>(
        &'a self,
        req: &'a ExportMetricsServiceRequest,
        _ctx: ExportContext,
    ) -> Option<BoxFuture<'a, ExportResult>> {
        Some(Box::pin(async move {
            if let Ok(mut m) = self.store.metrics.lock() {
                *m = Some(req.clone());
            }
            ExportResult::ok()
        }))
    }
}
