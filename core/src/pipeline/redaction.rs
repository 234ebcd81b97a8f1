//! Applies the redactor to every string of a record that can carry user
//! data, on the worker, before mapping: message parts, system instructions,
//! tool arguments and results, error and status messages, free attributes
//! (masked whole under secret-looking keys) and event attributes.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;

use crate::model::{KeyValue, LlmCall, Message, Part, SpanRecord, Str, Value};
use crate::redact::Redactor;

/// Texts shorter than this are scanned directly (hashing would not pay).
const CACHE_MIN_LEN: usize = 256;
const CACHE_MAX_ENTRIES: usize = 4096;
/// Bytes of redacted output the cache may hold.
const CACHE_MAX_BYTES: usize = 4 * 1024 * 1024;

/// Results of recent redactions by content: an agent resends its whole
/// conversation on every call, so most message text was already scanned.
/// Keyed by a randomly seeded 64-bit hash plus the length; bounded by entries
/// and bytes (oldest out first). Redaction counters count each distinct text once.
pub(crate) struct Cache {
    hasher: std::collections::hash_map::RandomState,
    map: HashMap<(u64, usize), Option<Str>>,
    order: VecDeque<(u64, usize)>,
    bytes: usize,
}

impl Cache {
    pub(crate) fn new() -> Self {
        Cache {
            hasher: std::collections::hash_map::RandomState::new(),
            map: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
        }
    }

    fn insert(&mut self, key: (u64, usize), out: Option<Str>) {
        let add = out.as_ref().map_or(0, |o| o.len());
        while !self.order.is_empty()
            && (self.order.len() >= CACHE_MAX_ENTRIES || self.bytes + add > CACHE_MAX_BYTES)
        {
            if let Some(old) = self.order.pop_front()
                && let Some(Some(o)) = self.map.remove(&old)
            {
                self.bytes -= o.len();
            }
        }
        if add <= CACHE_MAX_BYTES && self.map.insert(key, out).is_none() {
            self.order.push_back(key);
            self.bytes += add;
        }
    }
}

struct Ctx<'a> {
    r: &'a Redactor,
    cache: &'a mut Cache,
}

fn text(cx: &mut Ctx<'_>, s: &mut Str) {
    if s.len() < CACHE_MIN_LEN {
        if let Cow::Owned(o) = cx.r.redact_text(s) {
            *s = o.into();
        }
        return;
    }
    let key = (cx.cache.hasher.hash_one(s.as_bytes()), s.len());
    if let Some(hit) = cx.cache.map.get(&key) {
        if let Some(o) = hit {
            *s = o.clone();
        }
        return;
    }
    let out: Option<Str> = match cx.r.redact_text(s) {
        Cow::Owned(o) => Some(o.into()),
        Cow::Borrowed(_) => None,
    };
    cx.cache.insert(key, out.clone());
    if let Some(o) = out {
        *s = o;
    }
}

fn opt_text(cx: &mut Ctx<'_>, s: &mut Option<Str>) {
    if let Some(s) = s.as_mut() {
        text(cx, s);
    }
}

fn part(cx: &mut Ctx<'_>, p: &mut Part) {
    match p {
        Part::Text { content } | Part::Reasoning { content } => text(cx, content),
        Part::ToolCall { arguments, .. } => opt_text(cx, arguments),
        Part::ToolCallResponse { response, .. } => text(cx, response),
        Part::Other { json, .. } => text(cx, json),
        // Inline media: only the size cap applies (base64 holds no text PII).
        Part::Blob { content, .. } => text(cx, content),
        Part::Uri { uri, .. } => text(cx, uri),
    }
}

fn messages(cx: &mut Ctx<'_>, ms: &mut [Message]) {
    for m in ms {
        for p in m.parts.iter_mut() {
            part(cx, p);
        }
    }
}

fn call(cx: &mut Ctx<'_>, c: &mut LlmCall, content: bool) {
    if content {
        for p in c.system_instructions.iter_mut() {
            part(cx, p);
        }
        messages(cx, &mut c.input_messages);
        messages(cx, &mut c.output_messages);
        opt_text(cx, &mut c.tool_arguments);
        opt_text(cx, &mut c.tool_result);
    }
    if let Some(e) = c.error.as_mut() {
        opt_text(cx, &mut e.message);
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
pub(crate) fn apply(r: &Redactor, cache: &mut Cache, rec: &mut SpanRecord, content: bool) {
    let mut cx = Ctx { r, cache };
    if let Some(c) = rec.llm.as_deref_mut() {
        call(&mut cx, c, content);
    }
    attributes(r, &mut rec.attributes);
    for e in rec.events.iter_mut() {
        attributes(r, &mut e.attributes);
    }
    opt_text(&mut cx, &mut rec.status.message);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Message, Operation};

    #[test]
    fn cached_results_match_fresh_ones_and_memory_is_bounded() {
        let r = Redactor::new(Default::default()).unwrap();
        let mut cache = Cache::new();
        let pii = format!("{} mail me at jane@example.com", "context ".repeat(40));
        let clean = "plain words ".repeat(40);
        for _ in 0..3 {
            let mut rec = SpanRecord::new("s");
            let mut c = LlmCall::new("openai", Operation::Chat);
            c.input_messages = vec![
                Message::text("user", pii.as_str()),
                Message::text("user", clean.as_str()),
            ];
            rec.llm = Some(Box::new(c));
            apply(&r, &mut cache, &mut rec, true);
            let c = rec.llm.unwrap();
            let Part::Text { content } = &c.input_messages[0].parts[0] else {
                panic!()
            };
            assert!(content.ends_with("[REDACTED:EMAIL]"), "{content}");
            let Part::Text { content } = &c.input_messages[1].parts[0] else {
                panic!()
            };
            assert_eq!(content.as_ref(), clean);
        }
        assert_eq!(r.stats().email, 1, "the repeated text was scanned once");
        for i in 0..(CACHE_MAX_ENTRIES + 10) {
            let mut s: Str = format!("{i} {}", "x".repeat(300)).into();
            text(
                &mut Ctx {
                    r: &r,
                    cache: &mut cache,
                },
                &mut s,
            );
        }
        assert!(cache.map.len() <= CACHE_MAX_ENTRIES && cache.bytes <= CACHE_MAX_BYTES);
    }
}
