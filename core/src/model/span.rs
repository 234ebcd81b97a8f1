//! `SpanRecord`: the owned unit that travels from the application thread
//! through the queue to the worker.

use super::exchange::Exchange;
use super::ids::{SpanId, TraceId};
use super::llm_call::LlmCall;
use super::value::{KeyValue, Str, shared_len};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpanKind {
    #[default]
    Internal,
    Client,
    Server,
    Producer,
    Consumer,
}

impl SpanKind {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "internal" => SpanKind::Internal,
            "client" => SpanKind::Client,
            "server" => SpanKind::Server,
            "producer" => SpanKind::Producer,
            "consumer" => SpanKind::Consumer,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusCode {
    #[default]
    Unset,
    Ok,
    Error,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Status {
    pub code: StatusCode,
    pub message: Option<Str>,
}

impl Status {
    pub fn error(message: impl Into<Str>) -> Self {
        Status {
            code: StatusCode::Error,
            message: Some(message.into()),
        }
    }
}

/// A span event (e.g. an exception, a first-chunk marker).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: Str,
    pub time_unix_nanos: u64,
    pub attributes: Vec<KeyValue>,
}

/// One finished span.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRecord {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// `None` for a root span.
    pub parent_span_id: Option<SpanId>,
    /// The parent lives in another process (came in through `traceparent`).
    pub parent_is_remote: bool,
    pub name: Str,
    pub kind: SpanKind,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    pub status: Status,
    pub attributes: Vec<KeyValue>,
    pub events: Vec<Event>,
    /// Set when the span is a model / tool / agent call.
    pub llm: Option<Box<LlmCall>>,
    /// A raw exchange the worker parses into `llm` (bindings' fast path).
    pub exchange: Option<Box<Exchange>>,
}

impl SpanRecord {
    /// A new span with random ids and no timing; callers set the rest.
    pub fn new(name: impl Into<Str>) -> Self {
        SpanRecord {
            trace_id: TraceId::random(),
            span_id: SpanId::random(),
            parent_span_id: None,
            parent_is_remote: false,
            name: name.into(),
            kind: SpanKind::Internal,
            start_unix_nanos: 0,
            end_unix_nanos: 0,
            status: Status::default(),
            attributes: Vec::new(),
            events: Vec::new(),
            llm: None,
            exchange: None,
        }
    }

    pub fn is_root(&self) -> bool {
        self.parent_span_id.is_none() || self.parent_is_remote
    }

    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nanos.saturating_sub(self.start_unix_nanos)
    }

    /// Approximate memory held by the record. The queue is bounded by the sum
    /// of these (prompts make records large; a count bound alone is not enough).
    /// Cheap: walks lengths only, never the text.
    pub fn approx_bytes(&self) -> usize {
        let attrs: usize = self
            .attributes
            .iter()
            .map(|kv| {
                std::mem::size_of::<KeyValue>() + shared_len(&kv.key) + kv.value.approx_bytes()
            })
            .sum();
        let events: usize = self
            .events
            .iter()
            .map(|e| {
                std::mem::size_of::<Event>()
                    + shared_len(&e.name)
                    + e.attributes
                        .iter()
                        .map(|kv| {
                            std::mem::size_of::<KeyValue>()
                                + shared_len(&kv.key)
                                + kv.value.approx_bytes()
                        })
                        .sum::<usize>()
            })
            .sum();
        std::mem::size_of::<SpanRecord>()
            + 64
            + shared_len(&self.name)
            + attrs
            + events
            + self.status.message.as_ref().map_or(0, |m| m.len())
            + self.llm.as_ref().map_or(0, |l| l.approx_bytes())
            + self
                .exchange
                .as_ref()
                .map_or(0, |e| 256 + e.request_body.len() + e.response_body.len())
    }
}

/// Current time as unix nanoseconds (0 if the clock is before 1970).
pub fn now_unix_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
