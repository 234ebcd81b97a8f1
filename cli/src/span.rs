//! A stored span with the GenAI and tokentrace attributes the commands show, decoded once.

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use tokentrace_core::store::StoredSpan;

/// Operation names that mark a call to a model (as opposed to tools, agents, workflows).
const MODEL_OPERATIONS: &[&str] = &["chat", "text_completion", "embeddings", "generate_content"];

#[derive(Clone, Debug)]
pub struct SpanInfo {
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_id: String,
    pub name: String,
    pub start_ns: u64,
    pub end_ns: u64,
    pub service: Option<String>,
    pub operation: Option<String>,
    /// Response model (the exact snapshot that answered), else the requested one.
    pub model: Option<String>,
    /// Requested model, else the response model: what `stats` groups by, so a failed call
    /// (which has no response model) lands in the same row as its successful siblings.
    pub requested_model: Option<String>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub estimated: bool,
    pub cost_usd: Option<f64>,
    /// `error.type`, or `"error"` when only the status says so.
    pub error: Option<String>,
    pub status_message: String,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub feature: Option<String>,
    pub attributes: Vec<KeyValue>,
}

impl SpanInfo {
    pub fn new(stored: StoredSpan) -> SpanInfo {
        let span = stored.span;
        let attrs = &span.attributes;
        let status = span.status.as_ref();
        let failed = status.is_some_and(|s| s.code == StatusCode::Error as i32);
        let error = string(attrs, "error.type").or_else(|| failed.then(|| "error".to_string()));
        SpanInfo {
            trace_id: hex(&span.trace_id),
            span_id: hex(&span.span_id),
            parent_id: hex(&span.parent_span_id),
            start_ns: span.start_time_unix_nano,
            end_ns: span.end_time_unix_nano,
            service: string(&stored.resource, "service.name"),
            operation: string(attrs, "gen_ai.operation.name"),
            model: string(attrs, "gen_ai.response.model")
                .or_else(|| string(attrs, "gen_ai.request.model")),
            requested_model: string(attrs, "gen_ai.request.model")
                .or_else(|| string(attrs, "gen_ai.response.model")),
            input_tokens: int(attrs, "gen_ai.usage.input_tokens"),
            output_tokens: int(attrs, "gen_ai.usage.output_tokens"),
            estimated: bool_attr(attrs, "tokentrace.usage.estimated"),
            cost_usd: double(attrs, "tokentrace.cost.total_usd"),
            error,
            status_message: status.map(|s| s.message.clone()).unwrap_or_default(),
            user_id: string(attrs, "user.id"),
            session_id: string(attrs, "session.id"),
            feature: string(attrs, "feature.name"),
            name: span.name,
            attributes: span.attributes,
        }
    }

    pub fn is_model_call(&self) -> bool {
        self.operation
            .as_deref()
            .is_some_and(|op| MODEL_OPERATIONS.contains(&op))
    }

    pub fn duration_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }

    pub fn short_trace_id(&self) -> &str {
        short(&self.trace_id)
    }

    pub fn value_attr(&self, key: &str) -> Option<&AnyValue> {
        find(&self.attributes, key)
    }

    pub fn int_attr(&self, key: &str) -> Option<i64> {
        int(&self.attributes, key)
    }

    pub fn double_attr(&self, key: &str) -> Option<f64> {
        double(&self.attributes, key)
    }
}

/// First 8 hex digits: enough to tell traces apart on a screen; `view` accepts prefixes.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn find<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
}

fn string(attrs: &[KeyValue], key: &str) -> Option<String> {
    match find(attrs, key)?.value.as_ref()? {
        Value::StringValue(s) if !s.is_empty() => Some(s.clone()),
        Value::IntValue(i) => Some(i.to_string()),
        _ => None,
    }
}

/// Token counts are ints by convention; tolerate doubles and numeric strings from other
/// exporters.
fn int(attrs: &[KeyValue], key: &str) -> Option<i64> {
    match find(attrs, key)?.value.as_ref()? {
        Value::IntValue(i) => Some(*i),
        Value::DoubleValue(d) if d.is_finite() => Some(d.round() as i64),
        Value::StringValue(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Non-finite values are treated as unknown: a NaN cost must not poison a sum.
fn double(attrs: &[KeyValue], key: &str) -> Option<f64> {
    let d = match find(attrs, key)?.value.as_ref()? {
        Value::DoubleValue(d) => *d,
        Value::IntValue(i) => *i as f64,
        Value::StringValue(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    d.is_finite().then_some(d)
}

fn bool_attr(attrs: &[KeyValue], key: &str) -> bool {
    matches!(
        find(attrs, key).and_then(|v| v.value.as_ref()),
        Some(Value::BoolValue(true))
    )
}

/// Renders an attribute value for display: strings as-is, arrays comma-separated.
pub fn display_value(value: &AnyValue) -> String {
    match value.value.as_ref() {
        None => String::new(),
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(Value::ArrayValue(a)) => a
            .values
            .iter()
            .map(display_value)
            .collect::<Vec<_>>()
            .join(", "),
        Some(Value::KvlistValue(l)) => l
            .values
            .iter()
            .map(|kv| {
                let v = kv.value.as_ref().map(display_value).unwrap_or_default();
                format!("{}={v}", kv.key)
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(Value::BytesValue(b)) => format!("<{} bytes>", b.len()),
        Some(Value::StringValueStrindex(i)) => format!("<string #{i}>"),
    }
}
