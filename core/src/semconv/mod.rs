//! Typed records → OTLP spans (GenAI conventions, optionally OpenInference).
//! The mapping is written once, against [`AttrSink`]: the protobuf and
//! OTLP-JSON encoders (`export::encode`) and the `opentelemetry_proto`
//! struct builder ([`to_proto_span`]) all run this same code.

mod escape_memo;
pub mod gen_ai;
pub mod keys;
pub mod messages;
pub mod openinference;
mod sink;

#[cfg(test)]
pub(crate) mod fixture;
#[cfg(test)]
pub(crate) mod golden;

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue as PKeyValue, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{Span, Status as PStatus, span};

use crate::config::ResourceConfig;
use crate::model::{KeyValue, SpanKind, SpanRecord, StatusCode, Value};

pub use sink::{AttrSink, value};

pub const SCOPE_NAME: &str = "tokentrace";
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

pub(crate) fn kv_str(key: &str, v: &str) -> PKeyValue {
    PKeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.to_string())),
        }),
        ..Default::default()
    }
}

/// Converts one attribute value to its `opentelemetry_proto` form.
pub fn any_value(v: &Value) -> any_value::Value {
    let mut one = Vec::with_capacity(1);
    value(&mut one, "", v);
    one.pop()
        .and_then(|kv| kv.value)
        .and_then(|v| v.value)
        .unwrap_or(any_value::Value::StringValue(String::new()))
}

/// Emits free attributes (the record's own, or an event's) in order.
pub fn attributes<S: AttrSink>(attrs: &[KeyValue], out: &mut S) {
    for a in attrs {
        match &a.value {
            Value::Str(s) => out.shared_str(&a.key, s),
            v => value(out, &a.key, v),
        }
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

/// A span's fields other than attributes and events, as OTLP carries them.
#[derive(Debug, Clone)]
pub struct SpanHeader<'a> {
    pub trace_id: &'a [u8; 16],
    pub span_id: &'a [u8; 8],
    pub parent_span_id: Option<&'a [u8; 8]>,
    /// W3C trace flags plus OTLP's "parent is (not) remote" bits.
    pub flags: u32,
    pub name: Cow<'a, str>,
    /// `opentelemetry.proto.trace.v1.Span.SpanKind`.
    pub kind: i32,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    /// `(code, message)` of `opentelemetry.proto.trace.v1.Status`; `None` when unset.
    pub status: Option<(i32, &'a str)>,
    pub dropped_attributes_count: u32,
    pub dropped_events_count: u32,
}

/// The header of `r`. The dropped counts come from the limits stage.
pub fn span_header(r: &SpanRecord, dropped_attributes: u32, dropped_events: u32) -> SpanHeader<'_> {
    let name = if r.name.is_empty() {
        r.llm
            .as_deref()
            .map(gen_ai::span_name)
            .map_or(Cow::Borrowed(""), Cow::Owned)
    } else {
        Cow::Borrowed(r.name.as_ref())
    };
    let kind = match r.kind {
        SpanKind::Internal => span::SpanKind::Internal,
        SpanKind::Client => span::SpanKind::Client,
        SpanKind::Server => span::SpanKind::Server,
        SpanKind::Producer => span::SpanKind::Producer,
        SpanKind::Consumer => span::SpanKind::Consumer,
    };
    let status = match r.status.code {
        StatusCode::Unset => None,
        StatusCode::Ok => Some((1, "")),
        StatusCode::Error => Some((2, r.status.message.as_deref().unwrap_or_default())),
    };
    // W3C flags: sampled, plus the "parent is (not) remote" bits of OTLP 1.x.
    let mut flags = 0x1 | 0x100;
    if r.parent_is_remote {
        flags |= 0x200;
    }
    SpanHeader {
        trace_id: &r.trace_id.0,
        span_id: &r.span_id.0,
        parent_span_id: r.parent_span_id.as_ref().map(|p| &p.0),
        flags,
        name,
        kind: kind as i32,
        start_time_unix_nano: r.start_unix_nanos,
        end_time_unix_nano: r.end_unix_nanos.max(r.start_unix_nanos),
        status,
        dropped_attributes_count: dropped_attributes,
        dropped_events_count: dropped_events,
    }
}

fn find<'a>(r: &'a SpanRecord, key: &str) -> Option<&'a Value> {
    r.attributes
        .iter()
        .find(|kv| kv.key.as_ref() == key)
        .map(|kv| &kv.value)
}

/// Emits the span's attributes: the conventions' projection of the typed
/// call first, then the record's own attributes.
pub fn span_attributes<S: AttrSink>(r: &SpanRecord, opts: MapOptions, out: &mut S) {
    if let Some(call) = &r.llm {
        if opts.semconv.gen_ai() {
            gen_ai::append_attributes(call, opts.capture_content, out);
        }
        if opts.semconv.openinference() {
            openinference::append_attributes(call, opts.capture_content, out);
        }
    } else if opts.semconv.openinference() {
        let declared = match find(r, keys::TOKENTRACE_SPAN_KIND) {
            Some(Value::Str(s)) => Some(s.as_ref()),
            _ => None,
        };
        out.str(
            "openinference.span.kind",
            openinference::span_kind(None, declared),
        );
    }
    // tokentrace's own cost attributes in every mode; OpenInference's too.
    if let Some(c) = r.llm.as_ref().and_then(|call| call.cost) {
        out.f64(keys::TOKENTRACE_COST_INPUT_USD, c.input_usd);
        out.f64(keys::TOKENTRACE_COST_OUTPUT_USD, c.output_usd);
        if c.tools_usd > 0.0 {
            out.f64(keys::TOKENTRACE_COST_TOOLS_USD, c.tools_usd);
        }
        out.f64(keys::TOKENTRACE_COST_TOTAL_USD, c.total_usd);
        if opts.semconv.openinference() {
            openinference::cost_attributes(c.input_usd, c.output_usd, c.total_usd, out);
        }
    }
    attributes(&r.attributes, out);
}

/// Maps one record to an `opentelemetry_proto` span (tests, tools; the
/// worker encodes directly). `dropped_*` come from the limits stage.
pub fn to_proto_span(
    r: &SpanRecord,
    opts: MapOptions,
    dropped_attributes: u32,
    dropped_events: u32,
) -> Span {
    let h = span_header(r, dropped_attributes, dropped_events);
    let mut attrs = Vec::with_capacity(r.attributes.len() + 24);
    span_attributes(r, opts, &mut attrs);
    let events = r
        .events
        .iter()
        .map(|e| {
            let mut attrs = Vec::with_capacity(e.attributes.len());
            attributes(&e.attributes, &mut attrs);
            span::Event {
                time_unix_nano: e.time_unix_nanos,
                name: e.name.to_string(),
                attributes: attrs,
                dropped_attributes_count: 0,
            }
        })
        .collect();
    Span {
        trace_id: h.trace_id.to_vec(),
        span_id: h.span_id.to_vec(),
        trace_state: String::new(),
        parent_span_id: h.parent_span_id.map(|p| p.to_vec()).unwrap_or_default(),
        flags: h.flags,
        name: h.name.into_owned(),
        kind: h.kind,
        start_time_unix_nano: h.start_time_unix_nano,
        end_time_unix_nano: h.end_time_unix_nano,
        attributes: attrs,
        dropped_attributes_count: h.dropped_attributes_count,
        events,
        dropped_events_count: h.dropped_events_count,
        links: Vec::new(),
        dropped_links_count: 0,
        status: h.status.map(|(code, message)| PStatus {
            message: message.to_string(),
            code,
        }),
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
