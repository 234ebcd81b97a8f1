//! Applies the redactor to every string of a record that can carry user
//! data, on the worker, before mapping: message parts, system instructions,
//! tool arguments and results, error and status messages, free attributes
//! (masked whole under secret-looking keys) and event attributes.

use std::borrow::Cow;

use crate::model::{KeyValue, LlmCall, Message, Part, SpanRecord, Str, Value};
use crate::redact::Redactor;

fn text(r: &Redactor, s: &mut Str) {
    if let Cow::Owned(o) = r.redact_text(s) {
        *s = o.into();
    }
}

fn opt_text(r: &Redactor, s: &mut Option<Str>) {
    if let Some(s) = s.as_mut() {
        text(r, s);
    }
}

fn part(r: &Redactor, p: &mut Part) {
    match p {
        Part::Text { content } | Part::Reasoning { content } => text(r, content),
        Part::ToolCall { arguments, .. } => opt_text(r, arguments),
        Part::ToolCallResponse { response, .. } => text(r, response),
        Part::Other { json, .. } => text(r, json),
        // Inline media: only the size cap applies (base64 holds no text PII).
        Part::Blob { content, .. } => text(r, content),
        Part::Uri { uri, .. } => text(r, uri),
    }
}

fn messages(r: &Redactor, ms: &mut [Message]) {
    for m in ms {
        for p in m.parts.iter_mut() {
            part(r, p);
        }
    }
}

fn call(r: &Redactor, c: &mut LlmCall, content: bool) {
    if content {
        for p in c.system_instructions.iter_mut() {
            part(r, p);
        }
        messages(r, &mut c.input_messages);
        messages(r, &mut c.output_messages);
        opt_text(r, &mut c.tool_arguments);
        opt_text(r, &mut c.tool_result);
    }
    if let Some(e) = c.error.as_mut() {
        opt_text(r, &mut e.message);
    }
}

/// A masked value comes back borrowed from a constant, not from the input:
/// replace whenever the result is not the input itself.
fn keyed(r: &Redactor, key: &str, s: &mut Str) {
    let replacement = match r.redact_value_for_key(key, s) {
        Cow::Owned(o) => Some(o),
        Cow::Borrowed(b) if !std::ptr::eq(b, &**s) => Some(b.to_string()),
        Cow::Borrowed(_) => None,
    };
    if let Some(o) = replacement {
        *s = o.into();
    }
}

fn attributes(r: &Redactor, attrs: &mut [KeyValue]) {
    for kv in attrs.iter_mut() {
        match &mut kv.value {
            Value::Str(s) | Value::Json(s) => keyed(r, &kv.key, s),
            Value::StrArray(items) => {
                for s in items.iter_mut() {
                    keyed(r, &kv.key, s);
                }
            }
            _ => {}
        }
    }
}

/// Redacts `rec` in place. With content capture off, message text is not
/// exported at all, so it is not scanned either.
pub(crate) fn apply(r: &Redactor, rec: &mut SpanRecord, content: bool) {
    if let Some(c) = rec.llm.as_deref_mut() {
        call(r, c, content);
    }
    attributes(r, &mut rec.attributes);
    for e in rec.events.iter_mut() {
        attributes(r, &mut e.attributes);
    }
    opt_text(r, &mut rec.status.message);
}
