//! Typed records → OTLP protobuf spans (GenAI conventions). One module owns
//! the mapping so an alternative projection (OpenInference) can sit beside it.

pub mod gen_ai;
pub mod keys;
pub mod messages;
pub mod openinference;

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue as PKeyValue, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{Span, Status as PStatus, span, status};

use crate::config::ResourceConfig;
use crate::model::{KeyValue, SpanKind, SpanRecord, StatusCode, Value};

pub const SCOPE_NAME: &str = "tokentrace";
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

pub(crate) fn kv(key: &str, v: any_value::Value) -> PKeyValue {
    PKeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}
pub(crate) fn kv_str(key: &str, v: &str) -> PKeyValue {
    kv(key, any_value::Value::StringValue(v.to_string()))
}
/// Moves an owned string in (the content JSON is the span's largest value;
/// copying it again would cost as much as writing it).
pub(crate) fn kv_string(key: &str, v: String) -> PKeyValue {
    kv(key, any_value::Value::StringValue(v))
}
pub(crate) fn kv_i64(key: &str, v: i64) -> PKeyValue {
    kv(key, any_value::Value::IntValue(v))
}
pub(crate) fn kv_f64(key: &str, v: f64) -> PKeyValue {
    kv(key, any_value::Value::DoubleValue(v))
}
pub(crate) fn kv_bool(key: &str, v: bool) -> PKeyValue {
    kv(key, any_value::Value::BoolValue(v))
}
pub(crate) fn kv_str_array(key: &str, v: &[crate::model::Str]) -> PKeyValue {
    kv(
        key,
        any_value::Value::ArrayValue(ArrayValue {
            values: v
                .iter()
                .map(|s| AnyValue {
                    value: Some(any_value::Value::StringValue(s.to_string())),
                })
                .collect(),
        }),
    )
}

fn array<T>(v: &[T], f: impl Fn(&T) -> any_value::Value) -> any_value::Value {
    any_value::Value::ArrayValue(ArrayValue {
        values: v.iter().map(|x| AnyValue { value: Some(f(x)) }).collect(),
    })
}

/// Converts one attribute value.
pub fn any_value(v: &Value) -> any_value::Value {
    match v {
        Value::Str(s) | Value::Json(s) => any_value::Value::StringValue(s.to_string()),
        Value::Bool(b) => any_value::Value::BoolValue(*b),
        Value::Int(i) => any_value::Value::IntValue(*i),
        Value::Float(f) => any_value::Value::DoubleValue(*f),
        Value::StrArray(a) => array(a, |s| any_value::Value::StringValue(s.to_string())),
        Value::IntArray(a) => array(a, |i| any_value::Value::IntValue(*i)),
        Value::FloatArray(a) => array(a, |f| any_value::Value::DoubleValue(*f)),
        Value::BoolArray(a) => array(a, |b| any_value::Value::BoolValue(*b)),
    }
}

fn convert_attrs(attrs: &[KeyValue], out: &mut Vec<PKeyValue>) {
    for a in attrs {
        out.push(kv(&a.key, any_value(&a.value)));
    }
}

/// Which attribute conventions spans carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SemconvMode {
    /// OpenTelemetry GenAI conventions (`gen_ai.*`).
    #[default]
    GenAi,
    /// OpenInference (`llm.*`, `input.value`...) for Arize Phoenix / AX.
    OpenInference,
    /// Both sets on every span.
    Both,
}

impl SemconvMode {
    pub const ACCEPTED: &'static str = "genai, openinference, both";

    pub fn parse(s: &str) -> Result<SemconvMode, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "genai" | "gen_ai" | "otel" => Ok(SemconvMode::GenAi),
            "openinference" => Ok(SemconvMode::OpenInference),
            "both" => Ok(SemconvMode::Both),
            _ => Err(format!("expected one of {}", Self::ACCEPTED)),
        }
    }

    fn gen_ai(self) -> bool {
        self != SemconvMode::OpenInference
    }

    fn openinference(self) -> bool {
        self != SemconvMode::GenAi
    }
}

/// Options of the mapping.
#[derive(Debug, Clone, Copy)]
pub struct MapOptions {
    /// Include prompt / completion / tool text (structure is always kept).
    pub capture_content: bool,
    pub semconv: SemconvMode,
}

/// Maps one record. `dropped_attributes` comes from the limits stage.
pub fn to_proto_span(
    r: &SpanRecord,
    opts: MapOptions,
    dropped_attributes: u32,
    dropped_events: u32,
) -> Span {
    let mut attributes = Vec::with_capacity(r.attributes.len() + 24);
    let name = if r.name.is_empty() {
        r.llm.as_deref().map(gen_ai::span_name).unwrap_or_default()
    } else {
        r.name.to_string()
    };
    if let Some(call) = &r.llm {
        if opts.semconv.gen_ai() {
            gen_ai::append_attributes(call, opts.capture_content, &mut attributes);
        }
        if opts.semconv.openinference() {
            openinference::append_attributes(call, opts.capture_content, &mut attributes);
        }
    } else if opts.semconv.openinference() {
        let declared = r
            .attributes
            .iter()
            .find(|kv| kv.key.as_ref() == keys::TOKENTRACE_SPAN_KIND)
            .and_then(|kv| match &kv.value {
                Value::Str(s) => Some(s.as_ref()),
                _ => None,
            });
        attributes.push(kv_str(
            "openinference.span.kind",
            openinference::span_kind(None, declared),
        ));
    }
    if opts.semconv.openinference() {
        let cost = |k: &str| {
            r.attributes
                .iter()
                .find(|kv| kv.key.as_ref() == k)
                .and_then(|kv| match kv.value {
                    Value::Float(f) => Some(f),
                    _ => None,
                })
        };
        if let (Some(i), Some(o), Some(t)) = (
            cost(keys::TOKENTRACE_COST_INPUT_USD),
            cost(keys::TOKENTRACE_COST_OUTPUT_USD),
            cost(keys::TOKENTRACE_COST_TOTAL_USD),
        ) {
            openinference::cost_attributes(i, o, t, &mut attributes);
        }
    }
    convert_attrs(&r.attributes, &mut attributes);
    let kind = match r.kind {
        SpanKind::Internal => span::SpanKind::Internal,
        SpanKind::Client => span::SpanKind::Client,
        SpanKind::Server => span::SpanKind::Server,
        SpanKind::Producer => span::SpanKind::Producer,
        SpanKind::Consumer => span::SpanKind::Consumer,
    };
    let status = match r.status.code {
        StatusCode::Unset => None,
        StatusCode::Ok => Some(PStatus {
            message: String::new(),
            code: status::StatusCode::Ok as i32,
        }),
        StatusCode::Error => Some(PStatus {
            message: r.status.message.as_deref().unwrap_or_default().to_string(),
            code: status::StatusCode::Error as i32,
        }),
    };
    let events = r
        .events
        .iter()
        .map(|e| {
            let mut attrs = Vec::with_capacity(e.attributes.len());
            convert_attrs(&e.attributes, &mut attrs);
            span::Event {
                time_unix_nano: e.time_unix_nanos,
                name: e.name.to_string(),
                attributes: attrs,
                dropped_attributes_count: 0,
            }
        })
        .collect();
    // W3C flags: sampled, plus the "parent is (not) remote" bits of OTLP 1.x.
    let mut flags = 0x1 | 0x100;
    if r.parent_is_remote {
        flags |= 0x200;
    }
    Span {
        trace_id: r.trace_id.0.to_vec(),
        span_id: r.span_id.0.to_vec(),
        trace_state: String::new(),
        parent_span_id: r.parent_span_id.map(|p| p.0.to_vec()).unwrap_or_default(),
        flags,
        name,
        kind: kind as i32,
        start_time_unix_nano: r.start_unix_nanos,
        end_time_unix_nano: r.end_unix_nanos.max(r.start_unix_nanos),
        attributes,
        dropped_attributes_count: dropped_attributes,
        events,
        dropped_events_count: dropped_events,
        links: Vec::new(),
        dropped_links_count: 0,
        status,
    }
}

/// The resource every batch carries.
pub fn resource(cfg: &ResourceConfig, sdk_language: &str) -> Resource {
    use keys::*;
    let mut attributes = vec![kv_str(SERVICE_NAME, &cfg.service_name)];
    if let Some(v) = &cfg.service_version {
        attributes.push(kv_str(SERVICE_VERSION, v));
    }
    if let Some(v) = &cfg.environment {
        attributes.push(kv_str(DEPLOYMENT_ENVIRONMENT_NAME, v));
    }
    attributes.push(kv_str(TELEMETRY_SDK_NAME, "tokentrace"));
    attributes.push(kv_str(TELEMETRY_SDK_LANGUAGE, sdk_language));
    attributes.push(kv_str(TELEMETRY_SDK_VERSION, SDK_VERSION));
    for (k, v) in &cfg.attributes {
        attributes.push(kv_str(k, v));
    }
    Resource {
        attributes,
        dropped_attributes_count: 0,
        entity_refs: Vec::new(),
    }
}

pub fn scope() -> InstrumentationScope {
    InstrumentationScope {
        name: SCOPE_NAME.to_string(),
        version: SDK_VERSION.to_string(),
        attributes: Vec::new(),
        dropped_attributes_count: 0,
    }
}
