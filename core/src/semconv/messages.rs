//! JSON of the content attributes in the GenAI conventions' parts shape:
//! `[{"role":"user","parts":[{"type":"text","content":"..."}]}]`. With content
//! capture off, the structure stays (roles, part types, tool names and ids,
//! finish reasons) and the text goes.
//!
//! Written by hand rather than through serde: this runs on the export worker
//! for every span, the prompt text is most of the span's bytes, and
//! serde_json's byte-at-a-time escaping was the largest single cost of the
//! worker (see bench/README.md). Strings are escaped exactly as serde_json
//! escapes them (tests compare the two).

use serde_json::value::RawValue;

use crate::export::encode::room;
use crate::model::{Message, Part, Str, ToolDefinition};
use crate::redact::scan::V;

/// Bytes added per part / message for keys and punctuation (pre-sizing).
const PART_OVERHEAD: usize = 48;
const MESSAGE_OVERHEAD: usize = 48;

/// A buffer JSON text is appended to: a `String`, or a request body (the
/// protobuf writer's content JSON, the OTLP-JSON line).
pub(crate) trait JsonBuf {
    fn push_text(&mut self, s: &str);
    /// `b` must be ASCII.
    fn push_ascii(&mut self, b: u8);
    fn reserve_bytes(&mut self, n: usize);
    /// Whether content is sized before it is written (see
    /// [`ContentOut::reserve`]).
    fn sized_ahead(&self) -> bool {
        true
    }
    /// `"key":` for an ASCII key that needs no escaping.
    #[inline]
    fn push_key(&mut self, key: &str) {
        self.push_ascii(b'"');
        self.push_text(key);
        self.push_text("\":");
    }
}

impl JsonBuf for String {
    #[inline]
    fn push_text(&mut self, s: &str) {
        self.push_str(s);
    }
    #[inline]
    fn push_ascii(&mut self, b: u8) {
        self.push(b as char);
    }
    #[inline]
    fn reserve_bytes(&mut self, n: usize) {
        self.reserve(n);
    }
}

impl JsonBuf for Vec<u8> {
    #[inline]
    fn sized_ahead(&self) -> bool {
        false
    }
    #[inline]
    fn push_text(&mut self, s: &str) {
        room::push_bytes(self, s.as_bytes());
    }
    #[inline]
    fn push_key(&mut self, key: &str) {
        room::append(self, key.len() + 3, |r| {
            r.byte(b'"');
            r.bytes(key.as_bytes());
            r.byte(b'"');
            r.byte(b':');
        });
    }
    #[inline]
    fn push_ascii(&mut self, b: u8) {
        self.push(b);
    }
    #[inline]
    fn reserve_bytes(&mut self, n: usize) {
        self.reserve(n);
    }
}

/// Appends `s` as a JSON string literal.
pub(crate) fn push_json_str<B: JsonBuf>(out: &mut B, s: &str) {
    out.reserve_bytes(s.len() + 2);
    out.push_ascii(b'"');
    push_json_body(out, s);
    out.push_ascii(b'"');
}

/// Appends `s` escaped as the inside of a JSON string literal. Escaping is
/// byte by byte, so the body of a concatenation is the concatenation of the
/// bodies (what [`Embedded`] relies on).
pub(crate) fn push_json_body<B: JsonBuf>(out: &mut B, s: &str) {
    let bytes = s.as_bytes();
    // Keys and short values, most often clean: one scan, one copy.
    if bytes.len() < 32 && is_clean(bytes) {
        out.push_text(s);
        return;
    }
    out.reserve_bytes(s.len());
    // `start..` is the pending run of bytes that need no escaping.
    let mut start = 0;
    let mut i = 0;
    // Sixteen bytes at a time (one vector compare yields every byte to
    // escape in the block), then eight: text rarely needs escaping, so most
    // of it is copied in long runs.
    for (k, block) in bytes.chunks_exact(16).enumerate() {
        let Ok(block) = <&[u8; 16]>::try_from(block) else {
            break;
        };
        let v = V::load(block);
        let mut m = v.within(0, 0x1f).or(v.eq(b'"')).or(v.eq(b'\\')).mask();
        while m != 0 {
            let j = k * 16 + m.trailing_zeros() as usize;
            out.push_text(&s[start..j]);
            push_escape(out, bytes[j]);
            start = j + 1;
            m &= m - 1;
        }
        i += 16;
    }
    while i + 8 <= bytes.len() {
        let mask = special_bytes(word_at(bytes, i));
        if mask == 0 {
            i += 8;
            continue;
        }
        // The lowest flagged byte is always a real match (see `special_bytes`).
        let j = i + (mask.trailing_zeros() / 8) as usize;
        out.push_text(&s[start..j]);
        push_escape(out, bytes[j]);
        i = j + 1;
        start = i;
    }
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x20 || b == b'"' || b == b'\\' {
            out.push_text(&s[start..i]);
            push_escape(out, b);
            start = i + 1;
        }
        i += 1;
    }
    out.push_text(&s[start..]);
}

/// Whether no byte of `bytes` needs escaping: eight at a time, then one by one.
#[inline]
fn is_clean(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i + 8 <= bytes.len() {
        if special_bytes(word_at(bytes, i)) != 0 {
            return false;
        }
        i += 8;
    }
    !bytes[i..].iter().copied().any(needs_escape)
}

/// Whether JSON escapes `b` (serde_json's set: control bytes, `"`, `\`).
#[inline]
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

#[inline]
fn word_at(bytes: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[i..i + 8]);
    u64::from_le_bytes(w)
}

/// High bit set in every byte of `w` that is a control character, `"` or
/// `\`. Borrows can also flag bytes *above* a real match, never below one,
/// so the lowest flagged byte is exact. Bytes >= 0x80 (UTF-8 continuation
/// and lead bytes) are never flagged.
#[inline]
fn special_bytes(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let control = w.wrapping_sub(ONES * 0x20) & !w;
    let quote = w ^ (ONES * b'"' as u64);
    let quote = quote.wrapping_sub(ONES) & !quote;
    let backslash = w ^ (ONES * b'\\' as u64);
    let backslash = backslash.wrapping_sub(ONES) & !backslash;
    (control | quote | backslash) & HIGH
}

/// The escape serde_json writes for `b`.
fn push_escape<B: JsonBuf>(out: &mut B, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.push_text("\\\""),
        b'\\' => out.push_text("\\\\"),
        b'\n' => out.push_text("\\n"),
        b'\r' => out.push_text("\\r"),
        b'\t' => out.push_text("\\t"),
        0x08 => out.push_text("\\b"),
        0x0c => out.push_text("\\f"),
        _ => {
            out.push_text("\\u00");
            out.push_ascii(HEX[(b >> 4) as usize]);
            out.push_ascii(HEX[(b & 0xf) as usize]);
        }
    }
}

/// Where content JSON is written: a `String` as is ([`Content::write`]
/// into a `String`), or [`Embedded`] in the OTLP-JSON line, where the
/// content JSON is itself a string value and so goes in escaped a second
/// time. Each method writes one piece of the plain JSON; `Embedded` writes
/// the piece's escaped body, so the whole is the plain JSON's body.
pub(crate) trait ContentOut {
    /// Room for about `n()` more bytes. Request bodies skip it: they are
    /// reused from batch to batch, and sizing the content walks every part.
    fn reserve(&mut self, n: impl FnOnce() -> usize);
    /// One of `{}[],`: the same in both forms.
    fn punct(&mut self, b: u8);
    /// `"key":`, for fixed ASCII key names that need no escaping.
    fn key(&mut self, key: &str);
    /// JSON text given as is (a parsed object passed through).
    fn raw(&mut self, json: &str);
    /// `v` as a JSON string literal.
    fn string(&mut self, v: &str);
    /// A message text as a JSON string literal; long texts seen before are
    /// not escaped again (`escape_memo`).
    fn text(&mut self, v: &Str);
    /// A fixed `"key":"value"` pair, in the form this output holds it.
    fn lit(&mut self, pair: &Lit);
    /// The whole object of a message of one text part and no name, the
    /// common case, in a few writes; `false` (nothing written) when this
    /// output has no such shortcut, or the role or finish reason is long or
    /// needs escaping.
    fn text_message(&mut self, _role: &str, _text: Option<&Str>, _finish: Option<&str>) -> bool {
        false
    }
}

/// A fixed `"key":"value"` pair of ASCII names (part types), in both forms
/// (see [`lit!`]): written in one copy, not scanned for escapes.
pub(crate) struct Lit {
    plain: &'static str,
    embedded: &'static str,
}

/// `lit!("type", "text")`: the pair `"type":"text"`, plain and escaped once
/// more, both built at compile time.
macro_rules! lit {
    ($k:literal, $v:literal) => {
        &Lit {
            plain: concat!("\"", $k, "\":\"", $v, "\""),
            embedded: concat!("\\\"", $k, "\\\":\\\"", $v, "\\\""),
        }
    };
}

/// Plain JSON into a `String` or a byte buffer (the protobuf request).
impl<B: JsonBuf> ContentOut for B {
    #[inline]
    fn reserve(&mut self, n: impl FnOnce() -> usize) {
        if self.sized_ahead() {
            self.reserve_bytes(n());
        }
    }
    #[inline]
    fn punct(&mut self, b: u8) {
        self.push_ascii(b);
    }
    #[inline]
    fn key(&mut self, key: &str) {
        self.push_key(key);
    }
    #[inline]
    fn raw(&mut self, json: &str) {
        self.push_text(json);
    }
    #[inline]
    fn string(&mut self, v: &str) {
        push_json_str(self, v);
    }
    #[inline]
    fn text(&mut self, v: &Str) {
        super::escape_memo::push_text_json(self, v);
    }
    #[inline]
    fn lit(&mut self, pair: &Lit) {
        self.push_text(pair.plain);
    }
    /// What `write_messages`' general path writes for the same message.
    fn text_message(&mut self, role: &str, text: Option<&Str>, finish: Option<&str>) -> bool {
        let short_clean = |s: &str| s.len() < 32 && is_clean(s.as_bytes());
        if !short_clean(role) || !finish.is_none_or(short_clean) {
            return false;
        }
        self.push_text("{\"role\":\"");
        self.push_text(role);
        self.push_text("\",\"parts\":[{\"type\":\"text\"");
        if let Some(t) = text {
            self.push_text(",\"content\":");
            super::escape_memo::push_text_json(self, t);
        }
        self.push_text("}]");
        if let Some(f) = finish {
            self.push_text(",\"finish_reason\":\"");
            self.push_text(f);
            self.push_ascii(b'"');
        }
        self.push_ascii(b'}');
        true
    }
}

/// Content JSON written escaped into a byte buffer, inside a JSON string
/// (the OTLP-JSON `stringValue`): the same bytes as escaping the plain JSON
/// afterwards, without building it first. Message texts, the bulk of it,
/// come from a memo of their twice-escaped form.
pub(crate) struct Embedded<'a>(pub &'a mut Vec<u8>);

impl ContentOut for Embedded<'_> {
    #[inline]
    fn reserve(&mut self, _: impl FnOnce() -> usize) {}
    #[inline]
    fn punct(&mut self, b: u8) {
        self.0.push(b);
    }
    #[inline]
    fn key(&mut self, key: &str) {
        self.0.extend_from_slice(b"\\\"");
        self.0.extend_from_slice(key.as_bytes());
        self.0.extend_from_slice(b"\\\":");
    }
    #[inline]
    fn raw(&mut self, json: &str) {
        push_json_body(self.0, json);
    }
    #[inline]
    fn string(&mut self, v: &str) {
        push_json_str_embedded(self.0, v);
    }
    #[inline]
    fn text(&mut self, v: &Str) {
        super::escape_memo::push_text_json_embedded(self.0, v);
    }
    #[inline]
    fn lit(&mut self, pair: &Lit) {
        self.0.extend_from_slice(pair.embedded.as_bytes());
    }
}

/// The escaped body of `v`'s JSON string literal.
pub(crate) fn push_json_str_embedded(out: &mut Vec<u8>, v: &str) {
    // Roles, part types, finish reasons: nothing to escape, so the
    // literal's body is the text between escaped quotes.
    if v.len() < 64 && is_clean(v.as_bytes()) {
        out.extend_from_slice(b"\\\"");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\\\"");
        return;
    }
    let mut once = String::with_capacity(v.len() + 2);
    push_json_str(&mut once, v);
    push_json_body(out, &once);
}

/// One content attribute's JSON, written by [`Content::write`] into either
/// form (see [`ContentOut`]).
#[derive(Clone, Copy)]
pub enum Content<'a> {
    /// `gen_ai.input.messages` / `gen_ai.output.messages` (`output`: true).
    Messages {
        messages: &'a [Message],
        content: bool,
        output: bool,
    },
    /// `gen_ai.system_instructions`.
    Parts { parts: &'a [Part], content: bool },
    /// `gen_ai.tool.definitions`.
    Tools {
        defs: &'a [ToolDefinition],
        content: bool,
    },
}

impl Content<'_> {
    pub(crate) fn write<O: ContentOut>(self, out: &mut O) {
        match self {
            Content::Messages {
                messages,
                content,
                output,
            } => write_messages(out, messages, content, output),
            Content::Parts { parts, content } => {
                out.reserve(|| 2 + parts_capacity(parts, content));
                push_parts(out, parts, content);
            }
            Content::Tools { defs, content } => write_tool_definitions(out, defs, content),
        }
    }

    /// The plain JSON text.
    pub fn to_json(self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }
}

/// A JSON object under construction: `{"k":v,...}`.
struct Obj<'a, O: ContentOut> {
    out: &'a mut O,
    first: bool,
}

impl<'a, O: ContentOut> Obj<'a, O> {
    fn new(out: &'a mut O) -> Self {
        out.punct(b'{');
        Obj { out, first: true }
    }

    /// The output, after the comma a member other than the first needs.
    fn next(&mut self) -> &mut O {
        if !self.first {
            self.out.punct(b',');
        }
        self.first = false;
        self.out
    }

    /// Writes `"key":`.
    fn key(&mut self, key: &str) -> &mut O {
        let out = self.next();
        out.key(key);
        out
    }

    fn str(&mut self, key: &str, v: &str) {
        self.key(key).string(v);
    }

    fn lit(&mut self, pair: &Lit) {
        self.next().lit(pair);
    }

    fn opt_str(&mut self, key: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.str(key, v);
        }
    }

    /// Message text: long texts seen before are not escaped again.
    fn opt_text(&mut self, key: &str, v: Option<&Str>) {
        if let Some(v) = v {
            self.key(key).text(v);
        }
    }

    /// A JSON object or array given as text is embedded as is when it
    /// parses (tool arguments are "an object when parseable"), else as a
    /// string.
    fn json_or_text(&mut self, key: &str, v: &str) {
        let t = v.trim_start();
        if (t.starts_with('{') || t.starts_with('['))
            && let Ok(raw) = serde_json::from_str::<&RawValue>(v)
        {
            self.key(key).raw(raw.get());
        } else {
            self.str(key, v);
        }
    }

    fn end(self) {
        self.out.punct(b'}');
    }
}

fn content_of(s: &Str, content: bool) -> Option<&Str> {
    content.then_some(s)
}

fn push_part<O: ContentOut>(out: &mut O, p: &Part, content: bool) {
    if let Part::Other { part_type, json } = p {
        // Unknown parts pass through as their own JSON object.
        if content && let Ok(raw) = serde_json::from_str::<&RawValue>(json) {
            out.raw(raw.get());
            return;
        }
        let mut o = Obj::new(out);
        o.str("type", part_type);
        o.end();
        return;
    }
    let mut o = Obj::new(out);
    match p {
        Part::Text { content: t } => {
            o.lit(lit!("type", "text"));
            o.opt_text("content", content_of(t, content));
        }
        Part::ToolCall {
            id,
            name,
            arguments,
        } => {
            o.lit(lit!("type", "tool_call"));
            o.opt_str("id", id.as_deref());
            o.str("name", name);
            if let Some(a) = arguments.as_deref().filter(|_| content) {
                o.json_or_text("arguments", a);
            }
        }
        Part::ToolCallResponse { id, response } => {
            o.lit(lit!("type", "tool_call_response"));
            o.opt_str("id", id.as_deref());
            if content {
                o.json_or_text("response", response);
            }
        }
        Part::ServerToolCall { id, name, call } => {
            o.lit(lit!("type", "server_tool_call"));
            o.opt_str("id", id.as_deref());
            o.str("name", name);
            typed_details(&mut o, "server_tool_call", call, content, name);
        }
        Part::ServerToolCallResponse {
            id,
            tool_type,
            response,
        } => {
            o.lit(lit!("type", "server_tool_call_response"));
            o.opt_str("id", id.as_deref());
            typed_details(
                &mut o,
                "server_tool_call_response",
                response,
                content,
                tool_type,
            );
        }
        Part::Reasoning { content: t } => {
            o.lit(lit!("type", "reasoning"));
            o.opt_text("content", content_of(t, content));
        }
        Part::Uri {
            modality,
            mime_type,
            uri,
        } => {
            o.lit(lit!("type", "uri"));
            o.str("modality", modality);
            o.opt_str("mime_type", mime_type.as_deref());
            o.opt_text("uri", content_of(uri, content));
        }
        Part::Blob {
            modality,
            mime_type,
            content: data,
        } => {
            o.lit(lit!("type", "blob"));
            o.str("modality", modality);
            o.opt_str("mime_type", mime_type.as_deref());
            o.opt_text("content", content_of(data, content));
        }
        Part::Other { .. } => {}
    }
    o.end();
}

/// The `server_tool_call` / `server_tool_call_response` object: the
/// provider's details when content is captured (and they are an object),
/// else only the `type` the conventions require: the details' own, or
/// `fallback_type` when they do not parse.
fn typed_details<O: ContentOut>(
    o: &mut Obj<'_, O>,
    key: &str,
    json: &str,
    content: bool,
    fallback_type: &str,
) {
    #[derive(serde::Deserialize)]
    struct Typed<'a> {
        #[serde(rename = "type", borrow)]
        kind: std::borrow::Cow<'a, str>,
    }
    let parsed = json
        .trim_start()
        .starts_with('{')
        .then(|| serde_json::from_str::<&RawValue>(json).ok())
        .flatten();
    if content && let Some(raw) = parsed {
        o.key(key).raw(raw.get());
        return;
    }
    let kind = parsed.and_then(|r| serde_json::from_str::<Typed>(r.get()).ok());
    let mut inner = Obj::new(o.key(key));
    inner.str("type", kind.as_ref().map_or(fallback_type, |t| &t.kind));
    inner.end();
}

fn push_parts<O: ContentOut>(out: &mut O, parts: &[Part], content: bool) {
    out.punct(b'[');
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.punct(b',');
        }
        push_part(out, p, content);
    }
    out.punct(b']');
}

fn parts_capacity(parts: &[Part], content: bool) -> usize {
    parts
        .iter()
        .map(|p| PART_OVERHEAD + if content { p.approx_bytes() } else { 0 })
        .sum()
}

/// `gen_ai.input.messages` / `gen_ai.output.messages`.
pub fn messages_json(messages: &[Message], content: bool, output: bool) -> String {
    Content::Messages {
        messages,
        content,
        output,
    }
    .to_json()
}

fn write_messages<O: ContentOut>(out: &mut O, messages: &[Message], content: bool, output: bool) {
    out.reserve(|| {
        2 + messages
            .iter()
            .map(|m| MESSAGE_OVERHEAD + m.role.len() + parts_capacity(&m.parts, content))
            .sum::<usize>()
    });
    out.punct(b'[');
    for (i, m) in messages.iter().enumerate() {
        if i > 0 {
            out.punct(b',');
        }
        let name = m.name.as_deref().filter(|_| content);
        // Output messages require a finish reason in the schema.
        let finish = m
            .finish_reason
            .as_deref()
            .or(if output { Some("stop") } else { None });
        if let [Part::Text { content: text }] = &m.parts[..]
            && name.is_none()
            && out.text_message(&m.role, content.then_some(text), finish)
        {
            continue;
        }
        let mut o = Obj::new(out);
        o.str("role", &m.role);
        push_parts(o.key("parts"), &m.parts, content);
        o.opt_str("name", name);
        o.opt_str("finish_reason", finish);
        o.end();
    }
    out.punct(b']');
}

/// `gen_ai.system_instructions`: an array of parts.
pub fn parts_json(parts: &[Part], content: bool) -> String {
    Content::Parts { parts, content }.to_json()
}

/// `gen_ai.tool.definitions`.
pub fn tool_definitions_json(defs: &[ToolDefinition], content: bool) -> String {
    Content::Tools { defs, content }.to_json()
}

fn write_tool_definitions<O: ContentOut>(out: &mut O, defs: &[ToolDefinition], content: bool) {
    out.reserve(|| 2 + defs.len() * 128);
    out.punct(b'[');
    for (i, d) in defs.iter().enumerate() {
        if i > 0 {
            out.punct(b',');
        }
        let mut o = Obj::new(out);
        o.str("type", &d.tool_type);
        o.str("name", &d.name);
        o.opt_str("description", d.description.as_deref().filter(|_| content));
        if let Some(p) = d.parameters.as_deref().filter(|_| content) {
            o.json_or_text("parameters", p);
        }
        o.end();
    }
    out.punct(b']');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat() -> Vec<Message> {
        vec![
            Message::text("user", "What's the weather in Paris?"),
            Message::new(
                "assistant",
                vec![Part::ToolCall {
                    id: Some("call_1".into()),
                    name: "get_weather".into(),
                    arguments: Some(r#"{"city":"Paris"}"#.into()),
                }],
            ),
            Message::new(
                "tool",
                vec![Part::ToolCallResponse {
                    id: Some("call_1".into()),
                    response: "sunny".into(),
                }],
            ),
        ]
    }

    #[test]
    fn embedded_form_is_the_plain_json_escaped_once_more() {
        let long: Str = format!("{} \"quoted\"\n\ttab \\ é \u{1}", "word ".repeat(80)).into();
        let mut messages = chat();
        messages.push(Message::new(
            "user",
            vec![
                Part::Text {
                    content: long.clone(),
                },
                Part::Text {
                    content: "short \"q\" \\ \n".into(),
                },
                Part::Other {
                    part_type: "x".into(),
                    json: r#"{"type":"x","v":"a\"b"}"#.into(),
                },
            ],
        ));
        let defs = [ToolDefinition {
            tool_type: "function".into(),
            name: "get_weather".into(),
            description: Some("Weather \"now\"".into()),
            parameters: Some(r#"{"type":"object"}"#.into()),
        }];
        let cases = [
            Content::Messages {
                messages: &messages,
                content: true,
                output: false,
            },
            Content::Messages {
                messages: &messages,
                content: false,
                output: true,
            },
            Content::Parts {
                parts: &messages[3].parts,
                content: true,
            },
            Content::Tools {
                defs: &defs,
                content: true,
            },
        ];
        // Twice each: the second time the long text comes from the memos.
        for c in cases.iter().chain(cases.iter()) {
            let mut want = Vec::new();
            push_json_body(&mut want, &c.to_json());
            let mut got = Vec::new();
            c.write(&mut Embedded(&mut got));
            assert_eq!(
                String::from_utf8(got).unwrap(),
                String::from_utf8(want).unwrap()
            );
        }
    }

    #[test]
    fn parts_shape_matches_the_conventions() {
        let v: serde_json::Value =
            serde_json::from_str(&messages_json(&chat(), true, false)).unwrap();
        assert_eq!(
            v,
            serde_json::json!([
                {"role":"user","parts":[{"type":"text","content":"What's the weather in Paris?"}]},
                {"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"get_weather","arguments":{"city":"Paris"}}]},
                {"role":"tool","parts":[{"type":"tool_call_response","id":"call_1","response":"sunny"}]}
            ])
        );
    }

    #[test]
    fn without_content_keeps_structure_only() {
        let s = messages_json(&chat(), false, false);
        assert!(!s.contains("Paris"), "{s}");
        assert!(!s.contains("sunny"));
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v[1]["parts"][0]["name"], "get_weather");
        assert_eq!(v[0]["role"], "user");
    }

    #[test]
    fn invalid_json_arguments_stay_text_and_output_has_finish_reason() {
        let mut m = Message::new(
            "assistant",
            vec![Part::ToolCall {
                id: None,
                name: "f".into(),
                arguments: Some("{not json".into()),
            }],
        );
        m.finish_reason = Some("tool_call".into());
        let v: serde_json::Value = serde_json::from_str(&messages_json(&[m], true, true)).unwrap();
        assert_eq!(v[0]["parts"][0]["arguments"], "{not json");
        assert_eq!(v[0]["finish_reason"], "tool_call");
    }

    #[test]
    fn escaping_matches_serde_json() {
        let mut samples: Vec<String> = vec![
            String::new(),
            "plain ascii text that is longer than eight bytes".into(),
            "quote \" backslash \\ slash / del \u{7f}".into(),
            "tabs\tnew\nlines\rand \u{8} \u{c} \u{0} \u{1f}".into(),
            "héllo wörld — 日本語 🎉 and \"quoted\" ünïcödé\n".into(),
            "\"\"\"\"\"\"\"\"\"\"".into(),
            "\\\\\\\\\\\\\\\\\\".into(),
        ];
        // Every ASCII byte at every offset within a 16-byte block.
        for b in 0u8..0x80 {
            for pad in 0..33 {
                let mut s = "x".repeat(pad);
                s.push(b as char);
                s.push_str("tail after the byte");
                samples.push(s);
            }
        }
        for s in &samples {
            let mut out = String::new();
            push_json_str(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn every_part_shape_round_trips() {
        let parts = vec![
            Part::Reasoning {
                content: "think".into(),
            },
            Part::Uri {
                modality: "image".into(),
                mime_type: Some("image/png".into()),
                uri: "https://x/y.png".into(),
            },
            Part::Blob {
                modality: "audio".into(),
                mime_type: None,
                content: "AAAA".into(),
            },
            Part::Other {
                part_type: "custom".into(),
                json: r#"{"type":"custom","x":1}"#.into(),
            },
            Part::ToolCallResponse {
                id: None,
                response: r#"[1,2]"#.into(),
            },
            Part::ServerToolCall {
                id: Some("ws_1".into()),
                name: "web_search".into(),
                call: r#"{"type":"web_search","action":{"query":"Oslo"}}"#.into(),
            },
            Part::ServerToolCallResponse {
                id: Some("ws_1".into()),
                tool_type: "web_search".into(),
                response: r#"{"type":"web_search","status":"completed"}"#.into(),
            },
            Part::ServerToolCall {
                id: None,
                name: "get_issue".into(),
                call: r#"{"type":"mcp","server_label":"tracker"}"#.into(),
            },
            // Details that are not an object (a cut value) keep the shape.
            Part::ServerToolCallResponse {
                id: None,
                tool_type: "code_interpreter".into(),
                response: r#"{"type":"code_interpreter","outp"#.into(),
            },
        ];
        let v: serde_json::Value = serde_json::from_str(&parts_json(&parts, true)).unwrap();
        assert_eq!(
            v,
            serde_json::json!([
                {"type":"reasoning","content":"think"},
                {"type":"uri","modality":"image","mime_type":"image/png","uri":"https://x/y.png"},
                {"type":"blob","modality":"audio","content":"AAAA"},
                {"type":"custom","x":1},
                {"type":"tool_call_response","response":[1,2]},
                {"type":"server_tool_call","id":"ws_1","name":"web_search",
                 "server_tool_call":{"type":"web_search","action":{"query":"Oslo"}}},
                {"type":"server_tool_call_response","id":"ws_1",
                 "server_tool_call_response":{"type":"web_search","status":"completed"}},
                {"type":"server_tool_call","name":"get_issue",
                 "server_tool_call":{"type":"mcp","server_label":"tracker"}},
                {"type":"server_tool_call_response",
                 "server_tool_call_response":{"type":"code_interpreter"}}
            ])
        );
        let v: serde_json::Value = serde_json::from_str(&parts_json(&parts, false)).unwrap();
        assert_eq!(
            v,
            serde_json::json!([
                {"type":"reasoning"},
                {"type":"uri","modality":"image","mime_type":"image/png"},
                {"type":"blob","modality":"audio"},
                {"type":"custom"},
                {"type":"tool_call_response"},
                // Without content: the tool's name and type, not what it was asked or found.
                {"type":"server_tool_call","id":"ws_1","name":"web_search",
                 "server_tool_call":{"type":"web_search"}},
                {"type":"server_tool_call_response","id":"ws_1",
                 "server_tool_call_response":{"type":"web_search"}},
                {"type":"server_tool_call","name":"get_issue","server_tool_call":{"type":"mcp"}},
                {"type":"server_tool_call_response",
                 "server_tool_call_response":{"type":"code_interpreter"}}
            ])
        );
        let defs = vec![ToolDefinition {
            tool_type: "function".into(),
            name: "get_weather".into(),
            description: Some("Weather \"now\"".into()),
            parameters: Some(r#"{"type":"object"}"#.into()),
        }];
        let v: serde_json::Value =
            serde_json::from_str(&tool_definitions_json(&defs, true)).unwrap();
        assert_eq!(
            v,
            serde_json::json!([{"type":"function","name":"get_weather",
                "description":"Weather \"now\"","parameters":{"type":"object"}}])
        );
    }
}
