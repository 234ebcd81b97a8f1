//! OTLP protobuf written straight from `SpanRecord`s into one buffer per
//! batch: no `opentelemetry_proto` structs, no string copies, each span's
//! length computed once. The bytes are exactly what prost writes for the
//! equivalent structs (fields in tag order, proto3 defaults omitted, oneof
//! values always present); a test compares the two.

use prost::encoding::{WireType, encoded_len_varint};

use super::replay::{CallHead, Pairs};
use super::room::{self, Room};
use crate::model::{Event, LlmCall, SpanRecord, Str};
use crate::semconv::messages::Content;
use crate::semconv::{self, AttrSink, MapOptions, SpanHeader};

/// Bytes reserved for a span's length prefix before its size is known:
/// two cover 128 B to 16 KiB (`close` has a fast path for them); other
/// sizes move the span once.
const LEN_GUESS: usize = 2;

// Field numbers of the OTLP trace messages.
const REQUEST_RESOURCE_SPANS: u32 = 1;
const RESOURCE_SPANS_RESOURCE: u32 = 1;
const RESOURCE_SPANS_SCOPE_SPANS: u32 = 2;
const SCOPE_SPANS_SCOPE: u32 = 1;
const SCOPE_SPANS_SPANS: u32 = 2;
const SPAN_ATTRIBUTES: u32 = 9;
const EVENT_ATTRIBUTES: u32 = 3;

/// A varint, written in one copy: prost's generic writer pushes byte by
/// byte through `BufMut` and showed in the worker's profile (tens of fields
/// per span). Tags and most lengths fit one or two bytes. Longer ones append
/// all ten bytes and cut back: a fixed-size copy is two stores, while a slice
/// of varying length is a `memcpy` call (half the worker's `memcpy` calls).
#[inline(always)]
fn encode_varint(v: u64, buf: &mut Vec<u8>) {
    if v < 0x80 {
        buf.push(v as u8);
    } else if v < 0x4000 {
        buf.extend_from_slice(&[(v as u8) | 0x80, (v >> 7) as u8]);
    } else {
        encode_long_varint(v, buf);
    }
}

fn encode_long_varint(mut v: u64, buf: &mut Vec<u8>) {
    let mut tmp = [0u8; 10];
    let mut n = 0;
    while v >= 0x80 {
        tmp[n] = (v as u8) | 0x80;
        v >>= 7;
        n += 1;
    }
    tmp[n] = v as u8;
    let len = buf.len();
    buf.extend_from_slice(&tmp);
    buf.truncate(len + n + 1);
}

#[inline]
fn encode_key(tag: u32, wire_type: WireType, buf: &mut Vec<u8>) {
    encode_varint(u64::from((tag << 3) | wire_type as u32), buf);
}

#[inline]
fn len_field_size(tag: u32, len: usize) -> usize {
    prost::encoding::key_len(tag) + encoded_len_varint(len as u64) + len
}

#[inline]
fn put_len_field(buf: &mut Vec<u8>, tag: u32, bytes: &[u8]) {
    let tag = u64::from((tag << 3) | WireType::LengthDelimited as u32);
    let n = encoded_len_varint(tag) + encoded_len_varint(bytes.len() as u64) + bytes.len();
    room::append(buf, n, |r| {
        r.varint(tag);
        r.varint(bytes.len() as u64);
        r.bytes(bytes);
    });
}

#[inline]
fn put_string(buf: &mut Vec<u8>, tag: u32, s: &str) {
    if !s.is_empty() {
        put_len_field(buf, tag, s.as_bytes());
    }
}

#[inline]
fn put_fixed64(buf: &mut Vec<u8>, tag: u32, v: u64) {
    if v != 0 {
        encode_key(tag, WireType::SixtyFourBit, buf);
        buf.extend_from_slice(&v.to_le_bytes());
    }
}

#[inline]
fn put_uint(buf: &mut Vec<u8>, tag: u32, v: u64) {
    if v != 0 {
        encode_key(tag, WireType::Varint, buf);
        encode_varint(v, buf);
    }
}

/// Starts a length-delimited field whose size is not known yet; returns
/// where its body starts (for [`close`]).
#[inline]
fn open(buf: &mut Vec<u8>, tag: u32) -> usize {
    encode_key(tag, WireType::LengthDelimited, buf);
    buf.extend_from_slice(&[0; LEN_GUESS]);
    buf.len()
}

/// Writes the length of the field opened at `body`, moving the body when
/// its length does not take exactly `LEN_GUESS` bytes.
#[inline]
fn close(buf: &mut Vec<u8>, body: usize) {
    let len = buf.len() - body;
    if (0x80..0x4000).contains(&len) {
        // The guess was right (most spans and content values).
        buf[body - 2] = len as u8 | 0x80;
        buf[body - 1] = (len >> 7) as u8;
        return;
    }
    let need = encoded_len_varint(len as u64);
    let prefix = body - LEN_GUESS;
    if need != LEN_GUESS {
        let to = prefix + need;
        if need > LEN_GUESS {
            buf.resize(buf.len() + need - LEN_GUESS, 0);
        }
        buf.copy_within(body..body + len, to);
        buf.truncate(to + len);
    }
    write_varint_at(&mut buf[prefix..prefix + need], len as u64);
}

/// A minimal varint into exactly `out.len()` bytes.
fn write_varint_at(out: &mut [u8], mut v: u64) {
    let last = out.len() - 1;
    for (i, b) in out.iter_mut().enumerate() {
        *b = if i == last {
            v as u8
        } else {
            (v as u8 & 0x7f) | 0x80
        };
        v >>= 7;
    }
}

// Encoded sizes of `AnyValue` bodies.
fn any_str_len(s: &str) -> usize {
    len_field_size(1, s.len())
}
fn any_i64_len(v: i64) -> usize {
    1 + encoded_len_varint(v as u64)
}
const ANY_F64_LEN: usize = 9;
const ANY_BOOL_LEN: usize = 2;

fn put_any_str(buf: &mut Vec<u8>, s: &str) {
    put_len_field(buf, 1, s.as_bytes());
}
fn put_any_bool(buf: &mut Vec<u8>, v: bool) {
    buf.extend_from_slice(&[0x10, v as u8]);
}
fn put_any_i64(buf: &mut Vec<u8>, v: i64) {
    buf.push(0x18);
    encode_varint(v as u64, buf);
}
fn put_any_f64(buf: &mut Vec<u8>, v: f64) {
    buf.push(0x21);
    buf.extend_from_slice(&v.to_le_bytes());
}

/// Size of a `KeyValue` body: the key (omitted when empty, as proto3 does)
/// and an `AnyValue` of `value_len` bytes.
#[inline]
fn kv_len(key: &str, value_len: usize) -> usize {
    let key_len = if key.is_empty() {
        0
    } else {
        len_field_size(1, key.len())
    };
    key_len + len_field_size(2, value_len)
}

/// Writes `KeyValue`s as the repeated field `field` of the enclosing message.
struct Attrs<'a> {
    buf: &'a mut Vec<u8>,
    field: u32,
    /// Bytes written for earlier spans (spans only; see `replay`).
    replay: Option<&'a mut Replay>,
    /// Free string attributes written so far in this span.
    pairs_seen: usize,
}

/// What the writer keeps of earlier spans' attributes.
#[derive(Default)]
struct Replay {
    head: CallHead,
    pairs: Pairs,
}

impl Attrs<'_> {
    /// One `KeyValue` whose `AnyValue` body has `value_len` bytes, written
    /// by `value` (scalars: the whole field has one capacity check).
    #[inline(always)]
    fn kv(&mut self, key: &str, value_len: usize, value: impl FnOnce(&mut Room<'_>)) {
        let kv_len = kv_len(key, value_len);
        let tag = u64::from((self.field << 3) | WireType::LengthDelimited as u32);
        let n = encoded_len_varint(tag) + encoded_len_varint(kv_len as u64) + kv_len;
        room::append(self.buf, n, |r| {
            r.varint(tag);
            r.varint(kv_len as u64);
            if !key.is_empty() {
                r.byte(0x0a);
                r.varint(key.len() as u64);
                r.bytes(key.as_bytes());
            }
            r.byte(0x12);
            r.varint(value_len as u64);
            value(r);
        });
    }

    /// A `KeyValue` whose value is written by `value` into the buffer
    /// (arrays: sizes vary per item).
    fn kv_buf(&mut self, key: &str, value_len: usize, value: impl FnOnce(&mut Vec<u8>)) {
        let kv_len = kv_len(key, value_len);
        encode_key(self.field, WireType::LengthDelimited, self.buf);
        encode_varint(kv_len as u64, self.buf);
        put_string(self.buf, 1, key);
        encode_key(2, WireType::LengthDelimited, self.buf);
        encode_varint(value_len as u64, self.buf);
        value(self.buf);
    }

    /// An `ArrayValue` of items whose `AnyValue` bodies have the given sizes.
    fn array<T>(
        &mut self,
        key: &str,
        items: &[T],
        item_len: impl Fn(&T) -> usize,
        put: impl Fn(&mut Vec<u8>, &T),
    ) {
        let array_len: usize = items.iter().map(|x| len_field_size(1, item_len(x))).sum();
        self.kv_buf(key, len_field_size(5, array_len), |buf| {
            encode_key(5, WireType::LengthDelimited, buf);
            encode_varint(array_len as u64, buf);
            for x in items {
                encode_key(1, WireType::LengthDelimited, buf);
                encode_varint(item_len(x) as u64, buf);
                put(buf, x);
            }
        });
    }
}

impl AttrSink for Attrs<'_> {
    fn str(&mut self, key: &str, v: &str) {
        self.kv(key, any_str_len(v), |r| {
            r.byte(0x0a);
            r.varint(v.len() as u64);
            r.bytes(v.as_bytes());
        });
    }
    fn i64(&mut self, key: &str, v: i64) {
        self.kv(key, any_i64_len(v), |r| {
            r.byte(0x18);
            r.varint(v as u64);
        });
    }
    fn f64(&mut self, key: &str, v: f64) {
        self.kv(key, ANY_F64_LEN, |r| {
            r.byte(0x21);
            r.fixed64(v.to_bits());
        });
    }
    fn bool(&mut self, key: &str, v: bool) {
        self.kv(key, ANY_BOOL_LEN, |r| {
            r.byte(0x10);
            r.byte(v as u8);
        });
    }
    fn str_array(&mut self, key: &str, v: &[Str]) {
        self.array(key, v, |s| any_str_len(s), |b, s| put_any_str(b, s));
    }
    fn i64_array(&mut self, key: &str, v: &[i64]) {
        self.array(key, v, |&i| any_i64_len(i), |b, &i| put_any_i64(b, i));
    }
    fn f64_array(&mut self, key: &str, v: &[f64]) {
        self.array(key, v, |_| ANY_F64_LEN, |b, &f| put_any_f64(b, f));
    }
    fn bool_array(&mut self, key: &str, v: &[bool]) {
        self.array(key, v, |_| ANY_BOOL_LEN, |b, &x| put_any_bool(b, x));
    }
    fn call_head(&mut self, call: &LlmCall, write: impl FnOnce(&mut Self)) {
        let field = self.field;
        if let Some(bytes) = self
            .replay
            .as_deref()
            .and_then(|r| r.head.replay(field, call))
        {
            self.buf.extend_from_slice(bytes);
            return;
        }
        let start = self.buf.len();
        write(self);
        if let Some(r) = self.replay.as_deref_mut() {
            r.head.keep(field, call, &self.buf[start..]);
        }
    }
    fn shared_str(&mut self, key: &Str, v: &Str) {
        let (i, field) = (self.pairs_seen, self.field);
        self.pairs_seen += 1;
        if let Some(bytes) = self
            .replay
            .as_deref()
            .and_then(|r| r.pairs.replay(i, field, key, v))
        {
            room::push_bytes(self.buf, bytes);
            return;
        }
        let start = self.buf.len();
        self.str(key, v);
        if let Some(r) = self.replay.as_deref_mut() {
            r.pairs.keep(i, field, key, v, &self.buf[start..]);
        }
    }
    /// The content JSON, the span's largest value, written in place: its
    /// three enclosing lengths (`KeyValue`, `AnyValue`, the string) are
    /// reserved and filled in after, instead of building the JSON aside
    /// and copying it.
    fn content(&mut self, key: &str, c: Content<'_>) {
        let kv = open(self.buf, self.field);
        put_string(self.buf, 1, key);
        let any = open(self.buf, 2);
        let text = open(self.buf, 1);
        c.write(self.buf);
        close(self.buf, text);
        close(self.buf, any);
        close(self.buf, kv);
    }
}

/// Encodes batches of spans as `ExportTraceServiceRequest` bodies. The
/// resource and scope are encoded once, when the encoder is built.
pub(crate) struct ProtoEncoder {
    /// `ResourceSpans.resource` field, tag and length included.
    resource: Vec<u8>,
    /// `ScopeSpans.scope` field, tag and length included.
    scope: Vec<u8>,
    replay: Replay,
}

impl ProtoEncoder {
    pub fn new(
        resource: &opentelemetry_proto::tonic::resource::v1::Resource,
        scope: &opentelemetry_proto::tonic::common::v1::InstrumentationScope,
    ) -> Self {
        use prost::Message;
        let mut r = Vec::new();
        put_len_field(&mut r, RESOURCE_SPANS_RESOURCE, &resource.encode_to_vec());
        let mut s = Vec::new();
        put_len_field(&mut s, SCOPE_SPANS_SCOPE, &scope.encode_to_vec());
        ProtoEncoder {
            resource: r,
            scope: s,
            replay: Replay::default(),
        }
    }

    /// Room kept at the front of a batch buffer for the request framing.
    fn reserved(&self) -> usize {
        // The resource and scope fields, plus the tag and the varint length
        // (at most 5 bytes: requests stay far below 32 GiB) of
        // `ResourceSpans` and of `ScopeSpans`; `finish` right-aligns them.
        2 * (1 + 5) + self.resource.len() + self.scope.len()
    }

    /// `buf` (emptied; a sent batch's, or new) ready for spans.
    pub fn begin(&self, mut buf: Vec<u8>, capacity: usize) -> Vec<u8> {
        buf.clear();
        buf.reserve(self.reserved() + capacity);
        buf.resize(self.reserved(), 0);
        buf
    }

    /// Bytes of spans written in `buf` so far.
    pub fn spans_len(&self, buf: &[u8]) -> usize {
        buf.len() - self.reserved()
    }

    /// The framing bytes for `spans` bytes of spans.
    fn framing(&self, spans: usize) -> (usize, usize, usize) {
        let scope_spans = self.scope.len() + spans;
        let resource_spans =
            self.resource.len() + len_field_size(RESOURCE_SPANS_SCOPE_SPANS, scope_spans);
        let total = len_field_size(REQUEST_RESOURCE_SPANS, resource_spans);
        (total, resource_spans, scope_spans)
    }

    /// The request's size if it ended after the spans in `buf`.
    pub fn request_len(&self, buf: &[u8]) -> usize {
        self.framing(self.spans_len(buf)).0
    }

    /// Completes the request: the framing goes right before the spans, and
    /// the result is the slice from its first byte.
    pub fn finish(&self, mut buf: Vec<u8>) -> bytes::Bytes {
        let spans = self.spans_len(&buf);
        let (total, resource_spans, scope_spans) = self.framing(spans);
        let mut head = Vec::with_capacity(self.reserved());
        encode_key(REQUEST_RESOURCE_SPANS, WireType::LengthDelimited, &mut head);
        encode_varint(resource_spans as u64, &mut head);
        head.extend_from_slice(&self.resource);
        encode_key(
            RESOURCE_SPANS_SCOPE_SPANS,
            WireType::LengthDelimited,
            &mut head,
        );
        encode_varint(scope_spans as u64, &mut head);
        head.extend_from_slice(&self.scope);
        let start = self.reserved() - head.len();
        buf[start..self.reserved()].copy_from_slice(&head);
        debug_assert_eq!(buf.len() - start, total);
        bytes::Bytes::from(buf).slice(start..)
    }

    /// Appends one span (`ScopeSpans.spans`).
    pub fn span(
        &mut self,
        buf: &mut Vec<u8>,
        r: &SpanRecord,
        opts: MapOptions,
        h: &SpanHeader<'_>,
    ) {
        let body = open(buf, SCOPE_SPANS_SPANS);
        put_len_field(buf, 1, h.trace_id);
        put_len_field(buf, 2, h.span_id);
        if let Some(p) = h.parent_span_id {
            put_len_field(buf, 4, p);
        }
        put_string(buf, 5, &h.name);
        put_uint(buf, 6, h.kind as u64);
        put_fixed64(buf, 7, h.start_time_unix_nano);
        put_fixed64(buf, 8, h.end_time_unix_nano);
        semconv::span_attributes(
            r,
            opts,
            &mut Attrs {
                buf,
                field: SPAN_ATTRIBUTES,
                replay: Some(&mut self.replay),
                pairs_seen: 0,
            },
        );
        put_uint(buf, 10, h.dropped_attributes_count as u64);
        for e in &r.events {
            self.event(buf, e);
        }
        put_uint(buf, 12, h.dropped_events_count as u64);
        if let Some((code, message)) = h.status {
            let len = if message.is_empty() {
                0
            } else {
                len_field_size(2, message.len())
            } + if code != 0 {
                1 + encoded_len_varint(code as u64)
            } else {
                0
            };
            encode_key(15, WireType::LengthDelimited, buf);
            encode_varint(len as u64, buf);
            put_string(buf, 2, message);
            put_uint(buf, 3, code as u64);
        }
        if h.flags != 0 {
            encode_key(16, WireType::ThirtyTwoBit, buf);
            buf.extend_from_slice(&h.flags.to_le_bytes());
        }
        close(buf, body);
    }

    fn event(&mut self, buf: &mut Vec<u8>, e: &Event) {
        let body = open(buf, 11);
        put_fixed64(buf, 1, e.time_unix_nanos);
        put_string(buf, 2, &e.name);
        semconv::attributes(
            &e.attributes,
            &mut Attrs {
                buf,
                field: EVENT_ATTRIBUTES,
                replay: None,
                pairs_seen: 0,
            },
        );
        close(buf, body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_what_prost_writes() {
        let mut edges = vec![0u64, u64::MAX];
        for bits in (7..64).step_by(7) {
            edges.extend([(1u64 << bits) - 1, 1u64 << bits]);
        }
        for v in edges {
            let mut ours = vec![0xaa];
            encode_varint(v, &mut ours);
            let mut theirs = vec![0xaa];
            prost::encoding::encode_varint(v, &mut theirs);
            assert_eq!(ours, theirs, "{v}");
        }
    }

    #[test]
    fn scalar_attributes_of_every_size_are_what_prost_writes() {
        use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
        use prost::Message;
        let lens = (0..=40).chain([63, 64, 127, 128, 200, 16_383, 16_384]);
        for n in lens {
            let key: String = "k".repeat(n.min(300));
            let text: String = (0..n).map(|i| (b'a' + (i % 26) as u8) as char).collect();
            let values = [
                Value::StringValue(text.clone()),
                Value::IntValue(-(n as i64)),
                Value::IntValue(1 << n.min(62)),
                Value::DoubleValue(n as f64 / 3.0),
                Value::BoolValue(n % 2 == 0),
            ];
            for v in values {
                let mut ours = vec![0xee];
                let mut a = Attrs {
                    buf: &mut ours,
                    field: SPAN_ATTRIBUTES,
                    replay: None,
                    pairs_seen: 0,
                };
                match &v {
                    Value::StringValue(s) => a.str(&key, s),
                    Value::IntValue(i) => a.i64(&key, *i),
                    Value::DoubleValue(f) => a.f64(&key, *f),
                    Value::BoolValue(b) => a.bool(&key, *b),
                    _ => unreachable!(),
                }
                let kv = KeyValue {
                    key: key.clone(),
                    value: Some(AnyValue { value: Some(v) }),
                    ..Default::default()
                };
                let mut want = vec![0xee];
                prost::encoding::message::encode(SPAN_ATTRIBUTES, &kv, &mut want);
                assert_eq!(ours, want, "key {} bytes, {kv:?}", key.len());
                assert_eq!(
                    want.len(),
                    1 + len_field_size(SPAN_ATTRIBUTES, kv.encoded_len())
                );
            }
        }
    }

    #[test]
    fn close_moves_bodies_whose_length_is_not_two_bytes() {
        for len in [0usize, 1, 127, 128, 16_383, 16_384, 3_000_000] {
            let mut buf = vec![0xee];
            let body = open(&mut buf, 2);
            buf.extend(std::iter::repeat_n(7u8, len));
            close(&mut buf, body);
            let mut want = vec![0xee, 0x12];
            encode_varint(len as u64, &mut want);
            want.extend(std::iter::repeat_n(7u8, len));
            assert_eq!(buf, want, "len {len}");
        }
    }
}
