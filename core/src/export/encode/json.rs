//! OTLP-JSON written straight from `SpanRecord`s: the same text serde writes
//! for `opentelemetry_proto`'s `with-serde` types (camelCase keys, hex ids,
//! 64-bit integers as strings, every field present), with non-finite doubles
//! spelled as proto3 JSON strings (`"NaN"`, `"Infinity"`, `"-Infinity"`) as
//! the store has always written them. A test compares the two.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};

use crate::model::{Event, SpanRecord, Str};
use crate::semconv::messages::{Content, Embedded, push_json_str};
use crate::semconv::{self, AttrSink, MapOptions, SpanHeader};

const SPANS_KEY: &str = "\"spans\":[";

fn push_hex(buf: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        buf.push(HEX[(b >> 4) as usize]);
        buf.push(HEX[(b & 0xf) as usize]);
    }
}

/// Decimal digits of `v` (timestamps and counts: six per span).
fn push_u64(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

fn push_i64(buf: &mut Vec<u8>, v: i64) {
    if v < 0 {
        buf.push(b'-');
    }
    push_u64(buf, v.unsigned_abs());
}

/// A 64-bit integer as proto3 JSON writes it: a quoted decimal.
fn push_quoted_u64(buf: &mut Vec<u8>, v: u64) {
    buf.push(b'"');
    push_u64(buf, v);
    buf.push(b'"');
}

/// A double: serde_json's shortest form, or a proto3 JSON name when not finite.
fn push_f64(buf: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        buf.extend_from_slice(b"\"NaN\"");
    } else if v.is_infinite() {
        buf.extend_from_slice(if v > 0.0 {
            b"\"Infinity\""
        } else {
            b"\"-Infinity\""
        });
    } else if serde_json::to_writer(&mut *buf, &v).is_err() {
        // Writing a finite double to memory does not fail; keep JSON valid anyway.
        buf.push(b'0');
    }
}

fn push_any_str(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(b"{\"stringValue\":");
    push_json_str(buf, s);
    buf.push(b'}');
}
fn push_any_i64(buf: &mut Vec<u8>, v: i64) {
    buf.extend_from_slice(b"{\"intValue\":\"");
    push_i64(buf, v);
    buf.extend_from_slice(b"\"}");
}
fn push_any_f64(buf: &mut Vec<u8>, v: f64) {
    buf.extend_from_slice(b"{\"doubleValue\":");
    push_f64(buf, v);
    buf.push(b'}');
}
fn push_any_bool(buf: &mut Vec<u8>, v: bool) {
    buf.extend_from_slice(if v {
        b"{\"boolValue\":true}"
    } else {
        b"{\"boolValue\":false}"
    });
}

/// Writes the elements of a `"attributes":[...]` array.
struct Attrs<'a> {
    buf: &'a mut Vec<u8>,
    first: bool,
}

impl Attrs<'_> {
    fn kv(&mut self, key: &str, value: impl FnOnce(&mut Vec<u8>)) {
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
        self.buf.extend_from_slice(b"{\"key\":");
        push_json_str(self.buf, key);
        self.buf.extend_from_slice(b",\"value\":");
        value(self.buf);
        self.buf.push(b'}');
    }

    fn array<T>(&mut self, key: &str, items: &[T], put: impl Fn(&mut Vec<u8>, &T)) {
        self.kv(key, |buf| {
            buf.extend_from_slice(b"{\"arrayValue\":{\"values\":[");
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                put(buf, x);
            }
            buf.extend_from_slice(b"]}}");
        });
    }
}

impl AttrSink for Attrs<'_> {
    fn str(&mut self, key: &str, v: &str) {
        self.kv(key, |b| push_any_str(b, v));
    }
    fn i64(&mut self, key: &str, v: i64) {
        self.kv(key, |b| push_any_i64(b, v));
    }
    fn f64(&mut self, key: &str, v: f64) {
        self.kv(key, |b| push_any_f64(b, v));
    }
    fn bool(&mut self, key: &str, v: bool) {
        self.kv(key, |b| push_any_bool(b, v));
    }
    fn str_array(&mut self, key: &str, v: &[Str]) {
        self.array(key, v, |b, s| push_any_str(b, s));
    }
    fn i64_array(&mut self, key: &str, v: &[i64]) {
        self.array(key, v, |b, &i| push_any_i64(b, i));
    }
    fn f64_array(&mut self, key: &str, v: &[f64]) {
        self.array(key, v, |b, &f| push_any_f64(b, f));
    }
    fn bool_array(&mut self, key: &str, v: &[bool]) {
        self.array(key, v, |b, &x| push_any_bool(b, x));
    }
    /// Written straight into the line, escaped as a `stringValue`: the
    /// content JSON was built and then escaped a second time, which was
    /// half of the store's worker time (its texts are dense in quotes and
    /// backslashes after the first escaping).
    fn content(&mut self, key: &str, c: Content<'_>) {
        self.kv(key, |b| {
            b.extend_from_slice(b"{\"stringValue\":\"");
            c.write(&mut Embedded(b));
            b.extend_from_slice(b"\"}");
        });
    }
}

/// Encodes batches of spans as OTLP-JSON `ExportTraceServiceRequest`s, one
/// line each (`\n`-terminated, as the store keeps them). The request text
/// around the spans is serialised once, when the encoder is built.
pub(crate) struct JsonEncoder {
    /// Everything up to and including `"spans":[`.
    prefix: Vec<u8>,
    /// From the `]` closing the spans to the end of the line.
    suffix: Vec<u8>,
}

impl JsonEncoder {
    pub fn new(
        resource: &Resource,
        scope: &InstrumentationScope,
    ) -> Result<Self, serde_json::Error> {
        let empty = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(resource.clone()),
                scope_spans: vec![ScopeSpans {
                    scope: Some(scope.clone()),
                    spans: Vec::new(),
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        };
        let text = serde_json::to_string(&empty)?;
        // The last `"spans":[` is the key (inside strings every quote is escaped).
        let at = text
            .rfind(SPANS_KEY)
            .map(|i| i + SPANS_KEY.len())
            .ok_or_else(|| serde::ser::Error::custom("no spans array in the request JSON"))?;
        let mut suffix = text.as_bytes()[at..].to_vec();
        suffix.push(b'\n');
        Ok(JsonEncoder {
            prefix: text.as_bytes()[..at].to_vec(),
            suffix,
        })
    }

    /// A buffer ready for spans.
    /// `buf` (emptied; a sent batch's, or new) ready for spans.
    pub fn begin(&self, mut buf: Vec<u8>, capacity: usize) -> Vec<u8> {
        buf.clear();
        buf.reserve(self.prefix.len() + capacity + self.suffix.len());
        buf.extend_from_slice(&self.prefix);
        buf
    }

    pub fn is_empty(&self, buf: &[u8]) -> bool {
        buf.len() == self.prefix.len()
    }

    /// Where a span that starts after the ones in `buf` begins (past its comma).
    pub fn span_start(&self, mark: usize) -> usize {
        if mark > self.prefix.len() {
            mark + 1
        } else {
            mark
        }
    }

    /// The line's size if it ended after the spans in `buf`.
    pub fn request_len(&self, buf: &[u8]) -> usize {
        buf.len() + self.suffix.len()
    }

    /// Completes the line.
    pub fn finish(&self, mut buf: Vec<u8>) -> bytes::Bytes {
        buf.extend_from_slice(&self.suffix);
        bytes::Bytes::from(buf)
    }

    /// Appends one span.
    pub fn span(
        &mut self,
        buf: &mut Vec<u8>,
        r: &SpanRecord,
        opts: MapOptions,
        h: &SpanHeader<'_>,
    ) {
        if !self.is_empty(buf) {
            buf.push(b',');
        }
        buf.extend_from_slice(b"{\"traceId\":\"");
        push_hex(buf, h.trace_id);
        buf.extend_from_slice(b"\",\"spanId\":\"");
        push_hex(buf, h.span_id);
        buf.extend_from_slice(b"\",\"traceState\":\"\",\"parentSpanId\":\"");
        if let Some(p) = h.parent_span_id {
            push_hex(buf, p);
        }
        buf.extend_from_slice(b"\",\"flags\":");
        push_u64(buf, h.flags as u64);
        buf.extend_from_slice(b",\"name\":");
        push_json_str(buf, &h.name);
        buf.extend_from_slice(b",\"kind\":");
        push_u64(buf, h.kind as u64);
        buf.extend_from_slice(b",\"startTimeUnixNano\":");
        push_quoted_u64(buf, h.start_time_unix_nano);
        buf.extend_from_slice(b",\"endTimeUnixNano\":");
        push_quoted_u64(buf, h.end_time_unix_nano);
        buf.extend_from_slice(b",\"attributes\":[");
        semconv::span_attributes(r, opts, &mut Attrs { buf, first: true });
        buf.extend_from_slice(b"],\"droppedAttributesCount\":");
        push_u64(buf, h.dropped_attributes_count as u64);
        buf.extend_from_slice(b",\"events\":[");
        for (i, e) in r.events.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            self.event(buf, e);
        }
        buf.extend_from_slice(b"],\"droppedEventsCount\":");
        push_u64(buf, h.dropped_events_count as u64);
        buf.extend_from_slice(b",\"links\":[],\"droppedLinksCount\":0,\"status\":");
        match h.status {
            None => buf.extend_from_slice(b"null"),
            Some((code, message)) => {
                buf.extend_from_slice(b"{\"message\":");
                push_json_str(buf, message);
                buf.extend_from_slice(b",\"code\":");
                push_u64(buf, code as u64);
                buf.push(b'}');
            }
        }
        buf.push(b'}');
    }

    fn event(&mut self, buf: &mut Vec<u8>, e: &Event) {
        buf.extend_from_slice(b"{\"timeUnixNano\":");
        push_quoted_u64(buf, e.time_unix_nanos);
        buf.extend_from_slice(b",\"name\":");
        push_json_str(buf, &e.name);
        buf.extend_from_slice(b",\"attributes\":[");
        semconv::attributes(&e.attributes, &mut Attrs { buf, first: true });
        buf.extend_from_slice(b"],\"droppedAttributesCount\":0}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_doubles_as_serde_writes_them() {
        for v in [0i64, 1, -1, 9, 10, 12345, i64::MAX, i64::MIN] {
            let mut b = Vec::new();
            push_i64(&mut b, v);
            assert_eq!(String::from_utf8(b).unwrap(), v.to_string());
        }
        for v in [0.0, -0.0, 3.0, 0.1, 1e-300, 1.5e300, 0.00038] {
            let mut b = Vec::new();
            push_f64(&mut b, v);
            assert_eq!(b, serde_json::to_vec(&v).unwrap());
        }
    }
}
