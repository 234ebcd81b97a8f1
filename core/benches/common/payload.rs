//! The realistic span of the benches: a chat model call with a 2 KB prompt
//! (system + user message), a 500 B completion and 10 attributes (operation,
//! provider, request/response model, input/output tokens, user.id,
//! session.id, feature.name, request.id).
//!
//! tokentrace gets it as a `SpanRecord` with a typed `LlmCall` whose long
//! payload strings are `Str`s sharing one `Arc<str>` across iterations (how
//! bindings hand them over); the peer gets the same span through the
//! OpenTelemetry API, with the GenAI content as JSON strings, also shared
//! (`Arc<str>`), so neither side copies the prompt per span. Per-call
//! identifiers (user, session, feature, request) are built per span on both
//! sides, as an instrumentation would (short enough to be inline `Str`s).

use std::sync::Arc;

use opentelemetry::trace::{Span as _, SpanKind as OtelSpanKind};
use opentelemetry::{KeyValue as OtelKv, StringValue, Value as OtelValue};
use tokentrace_core::{
    KeyValue, LlmCall, Message, Operation, Part, SpanKind, SpanRecord, Str, Usage, Value,
    now_unix_nanos,
};

pub const PROMPT_BYTES: usize = 2048;
pub const SYSTEM_BYTES: usize = 384;
pub const COMPLETION_BYTES: usize = 500;
pub const SPAN_NAME: &str = "chat gpt-4o";

/// Per-call values (allocated per span on both sides).
const USER_ID: &str = "user-7f3a9c21";
const SESSION_ID: &str = "sess-2b81e0d4c6";
const FEATURE: &str = "support-chat";
const REQUEST_ID: &str = "req-01HF8ZK3N4W9";

/// Text that looks like a prompt: words, punctuation, newlines and quotes (so
/// JSON escaping is exercised), exactly `len` ASCII bytes.
pub fn text(len: usize, seed: usize) -> String {
    const WORDS: &[&str] = &[
        "the",
        "customer",
        "asked",
        "about",
        "their",
        "invoice",
        "from",
        "March,",
        "and",
        "whether",
        "the",
        "\"premium\"",
        "plan",
        "includes",
        "priority",
        "support.",
        "Please",
        "answer",
        "politely;",
        "cite",
        "the",
        "policy",
        "section",
        "if",
        "relevant.\n",
        "Context:",
        "order",
        "#4821",
        "shipped",
        "on",
        "2024-03-14",
        "(tracking",
        "pending).",
    ];
    let mut s = String::with_capacity(len + 16);
    let mut i = seed;
    while s.len() < len {
        s.push_str(WORDS[i % WORDS.len()]);
        s.push(' ');
        i = i.wrapping_mul(31).wrapping_add(7);
    }
    s.truncate(len);
    s
}

/// The shared strings of the realistic span.
pub struct Payload {
    pub name: Str,
    pub provider: Str,
    pub model: Str,
    pub response_model: Str,
    pub role_system: Str,
    pub role_user: Str,
    pub role_assistant: Str,
    pub stop: Str,
    pub system: Str,
    pub user: Str,
    pub completion: Str,
    pub k_user: Str,
    pub k_session: Str,
    pub k_feature: Str,
    pub k_request: Str,
    /// The peer's `gen_ai.input.messages` / `gen_ai.output.messages`, in the
    /// conventions' parts shape, serialised once.
    pub input_json: Arc<str>,
    pub output_json: Arc<str>,
    /// The peer's model names, shared as well.
    pub peer_model: Arc<str>,
    pub peer_response_model: Arc<str>,
}

impl Payload {
    pub fn new() -> Payload {
        let system = text(SYSTEM_BYTES, 1);
        let user = text(PROMPT_BYTES - SYSTEM_BYTES, 2);
        let completion = text(COMPLETION_BYTES, 3);
        let (input_json, output_json) = content_json(&system, &user, &completion);
        Payload {
            name: SPAN_NAME.into(),
            provider: "openai".into(),
            model: "gpt-4o".into(),
            response_model: "gpt-4o-2024-08-06".into(),
            role_system: "system".into(),
            role_user: "user".into(),
            role_assistant: "assistant".into(),
            stop: "stop".into(),
            system: system.into(),
            user: user.into(),
            completion: completion.into(),
            k_user: "user.id".into(),
            k_session: "session.id".into(),
            k_feature: "feature.name".into(),
            k_request: "request.id".into(),
            input_json: input_json.into(),
            output_json: output_json.into(),
            peer_model: "gpt-4o".into(),
            peer_response_model: "gpt-4o-2024-08-06".into(),
        }
    }

    /// tokentrace: builds the record (payload shared, ids and timestamps new).
    #[inline]
    pub fn record(&self) -> SpanRecord {
        self.record_with(
            self.system.clone(),
            self.user.clone(),
            self.completion.clone(),
        )
    }

    /// tokentrace with payload text copied into new strings, as distinct
    /// calls would have (the memory bench: the queue really holds the bytes).
    pub fn record_owned(&self) -> SpanRecord {
        self.record_with(
            Str::from(&*self.system),
            Str::from(&*self.user),
            Str::from(&*self.completion),
        )
    }

    #[inline]
    fn record_with(&self, system: Str, user: Str, completion: Str) -> SpanRecord {
        let start = now_unix_nanos();
        let mut r = SpanRecord::new(self.name.clone());
        r.kind = SpanKind::Client;
        r.start_unix_nanos = start;
        let mut call = LlmCall::new(self.provider.clone(), Operation::Chat);
        call.request_model = Some(self.model.clone());
        call.response_model = Some(self.response_model.clone());
        call.input_messages = vec![
            Message::new(self.role_system.clone(), [Part::Text { content: system }]),
            Message::new(self.role_user.clone(), [Part::Text { content: user }]),
        ];
        let mut out = Message::new(
            self.role_assistant.clone(),
            [Part::Text {
                content: completion,
            }],
        );
        out.finish_reason = Some(self.stop.clone());
        call.output_messages = vec![out];
        call.usage = Usage {
            input_tokens: Some(512),
            output_tokens: Some(128),
            ..Usage::default()
        };
        r.llm = Some(Box::new(call));
        r.attributes = vec![
            kv(&self.k_user, USER_ID),
            kv(&self.k_session, SESSION_ID),
            kv(&self.k_feature, FEATURE),
            kv(&self.k_request, REQUEST_ID),
        ];
        r.end_unix_nanos = now_unix_nanos();
        r
    }

    /// The user message and completion of call `i`: the shared texts with
    /// the call's number written over their start, so that no two calls
    /// carry the same text (a new question, a new answer). The system prompt
    /// stays shared, as an application's does.
    pub fn fresh_texts(&self, i: u64) -> (String, String) {
        let stamp = |base: &str| {
            let head = format!("#{i} ");
            let mut s = String::with_capacity(base.len());
            s.push_str(&head);
            s.push_str(&base[head.len().min(base.len())..]);
            s
        };
        (stamp(&self.user), stamp(&self.completion))
    }

    /// tokentrace with the texts of call `i` (`fresh_texts`): the worker's
    /// memos (escape, redaction) cannot serve them; every text is scanned
    /// and escaped.
    pub fn record_fresh(&self, i: u64) -> SpanRecord {
        let (user, completion) = self.fresh_texts(i);
        self.record_with(self.system.clone(), user.into(), completion.into())
    }

    /// The peer with the texts of call `i`, its content JSON serialised per
    /// call on the application thread, as its GenAI instrumentations do.
    pub fn peer_span_fresh<T: opentelemetry::trace::Tracer>(&self, tracer: &T, i: u64) {
        let (user, completion) = self.fresh_texts(i);
        let (input, output) = content_json(&self.system, &user, &completion);
        self.peer_span_with(
            tracer,
            OtelValue::String(StringValue::from(input)),
            OtelValue::String(StringValue::from(output)),
        );
    }

    /// The peer: the same span through the OpenTelemetry API, started and
    /// ended on `tracer` (its processor takes it from there).
    #[inline]
    pub fn peer_span<T: opentelemetry::trace::Tracer>(&self, tracer: &T) {
        self.peer_span_with(
            tracer,
            OtelValue::String(StringValue::from(self.input_json.clone())),
            OtelValue::String(StringValue::from(self.output_json.clone())),
        );
    }

    /// The peer with the content JSON copied per span (memory bench).
    pub fn peer_span_owned<T: opentelemetry::trace::Tracer>(&self, tracer: &T) {
        self.peer_span_with(
            tracer,
            OtelValue::String(StringValue::from(self.input_json.to_string())),
            OtelValue::String(StringValue::from(self.output_json.to_string())),
        );
    }

    #[inline]
    fn peer_span_with<T: opentelemetry::trace::Tracer>(
        &self,
        tracer: &T,
        input: OtelValue,
        output: OtelValue,
    ) {
        let attrs = vec![
            OtelKv::new("gen_ai.operation.name", "chat"),
            OtelKv::new("gen_ai.provider.name", "openai"),
            OtelKv::new("gen_ai.request.model", self.peer_model.clone()),
            OtelKv::new("gen_ai.response.model", self.peer_response_model.clone()),
            OtelKv::new("gen_ai.usage.input_tokens", 512i64),
            OtelKv::new("gen_ai.usage.output_tokens", 128i64),
            OtelKv::new("user.id", USER_ID.to_string()),
            OtelKv::new("session.id", SESSION_ID.to_string()),
            OtelKv::new("feature.name", FEATURE.to_string()),
            OtelKv::new("request.id", REQUEST_ID.to_string()),
            OtelKv::new("gen_ai.input.messages", input),
            OtelKv::new("gen_ai.output.messages", output),
        ];
        let mut span = tracer
            .span_builder(SPAN_NAME)
            .with_kind(OtelSpanKind::Client)
            .with_attributes(attrs)
            .start(tracer);
        span.end();
    }
}

/// `gen_ai.input.messages` and `gen_ai.output.messages` as the peer's
/// instrumentations serialise them.
fn content_json(system: &str, user: &str, completion: &str) -> (String, String) {
    let input = serde_json::json!([
        {"role": "system", "parts": [{"type": "text", "content": system}]},
        {"role": "user", "parts": [{"type": "text", "content": user}]},
    ])
    .to_string();
    let output = serde_json::json!([
        {"role": "assistant", "parts": [{"type": "text", "content": completion}],
         "finish_reason": "stop"},
    ])
    .to_string();
    (input, output)
}

#[inline]
fn kv(key: &Str, value: &str) -> KeyValue {
    KeyValue {
        key: key.clone(),
        value: Value::Str(Str::from(value)),
    }
}
