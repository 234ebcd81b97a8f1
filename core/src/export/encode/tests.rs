//! The encoders against the struct mapping and the golden requests: the
//! protobuf is byte-for-byte what prost writes for the structs, the JSON is
//! the store line serde writes, for every fixture record under every mode.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use super::*;
use crate::model::{KeyValue, Message as ChatMessage, SpanRecord};
use crate::semconv::{self, fixture, golden};

fn encoders(want: Encodings) -> Encoders {
    Encoders::new(
        &semconv::resource(&fixture::resource(), "rust"),
        &semconv::scope(),
        want,
    )
    .unwrap()
}

fn encode_all(
    enc: &mut Encoders,
    records: &[(SpanRecord, crate::limits::Applied)],
    opts: MapOptions,
    max_bytes: usize,
) -> Vec<ExportBatch> {
    let mut b = enc.batches(max_bytes, 0);
    for (r, a) in records {
        let h = semconv::span_header(r, a.attributes_dropped, a.events_dropped);
        b.push(r, opts, &h);
    }
    b.finish()
}

#[test]
fn protobuf_is_what_prost_writes_for_the_struct_mapping() {
    let both = Encodings::PROTOBUF.union(Encodings::JSON);
    let mut enc = encoders(both);
    let records = golden::limited();
    for (opts, line) in fixture::modes().into_iter().zip(golden::lines()) {
        let batches = encode_all(&mut enc, &records, opts, usize::MAX);
        assert_eq!(batches.len(), 1);
        let batch = &batches[0];
        assert_eq!(batch.span_count, records.len());
        let want = golden::struct_request(opts);
        let proto = batch.protobuf().unwrap();
        assert_eq!(proto.as_ref(), want.encode_to_vec().as_slice(), "{opts:?}");
        let decoded = ExportTraceServiceRequest::decode(proto.as_ref()).unwrap();
        let back = crate::store::codec::encode_line(&decoded).unwrap();
        assert_eq!(std::str::from_utf8(&back).unwrap().trim_end(), line);
    }
}

/// Drops the non-finite doubles, which serde cannot write (the store's
/// codec then rewrites the whole line through a sorted `serde_json::Value`).
fn finite_only(
    records: &[(SpanRecord, crate::limits::Applied)],
) -> Vec<(SpanRecord, crate::limits::Applied)> {
    use crate::model::Value;
    let finite = |kv: &KeyValue| match &kv.value {
        Value::Float(f) => f.is_finite(),
        Value::FloatArray(a) => a.iter().all(|f| f.is_finite()),
        _ => true,
    };
    records
        .iter()
        .cloned()
        .map(|(mut r, a)| {
            r.attributes.retain(finite);
            for e in r.events.iter_mut() {
                e.attributes.retain(finite);
            }
            (r, a)
        })
        .collect()
}

#[test]
fn json_is_the_store_line_serde_writes() {
    let mut enc = encoders(Encodings::JSON);
    let records = golden::limited();
    for (opts, line) in fixture::modes().into_iter().zip(golden::lines()) {
        let batches = encode_all(&mut enc, &records, opts, usize::MAX);
        assert_eq!(batches.len(), 1);
        assert!(batches[0].protobuf().is_none());
        let got = batches[0].json_line().unwrap();
        assert_eq!(got.last(), Some(&b'\n'));
        // Non-finite doubles: the same JSON as the golden line, which the
        // store wrote with sorted keys.
        let got_json: serde_json::Value = serde_json::from_slice(got).unwrap();
        let want_json: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(got_json, want_json, "{opts:?}");
        // And the store's reader reads it back as the struct mapping.
        let decoded = crate::store::codec::decode_line(&batches[0].json().unwrap()).unwrap();
        assert_eq!(
            decoded.encode_to_vec(),
            golden::struct_request(opts).encode_to_vec()
        );

        // Finite values only: byte for byte what serde writes for the structs.
        let finite = finite_only(&records);
        let batches = encode_all(&mut enc, &finite, opts, usize::MAX);
        let mut want = golden::struct_request(opts);
        let spans: Vec<_> = finite
            .iter()
            .map(|(r, a)| semconv::to_proto_span(r, opts, a.attributes_dropped, a.events_dropped))
            .collect();
        want.resource_spans[0].scope_spans[0].spans = spans;
        let serde_line = serde_json::to_string(&want).unwrap() + "\n";
        assert_eq!(
            std::str::from_utf8(batches[0].json_line().unwrap()).unwrap(),
            serde_line,
            "{opts:?}"
        );
        assert_eq!(
            crate::store::codec::encode_line(&want).unwrap(),
            serde_line.as_bytes()
        );
    }
}

fn text_span(i: usize, len: usize) -> SpanRecord {
    let mut r = SpanRecord::new(format!("span-{i}"));
    let mut call = crate::model::LlmCall::new("openai", crate::model::Operation::Chat);
    call.input_messages = vec![ChatMessage::text("user", "x".repeat(len))];
    r.llm = Some(Box::new(call));
    r.attributes = vec![KeyValue::new("i", i as i64)];
    r
}

#[test]
fn batches_split_below_max_bytes_in_order() {
    let opts = fixture::modes()[0];
    let both = Encodings::PROTOBUF.union(Encodings::JSON);
    let max = 20_000;
    for want in [Encodings::PROTOBUF, Encodings::JSON, both] {
        let mut enc = encoders(want);
        let mut records: Vec<_> = (0..40)
            .map(|i| (text_span(i, 1_500), Default::default()))
            .collect();
        // One span larger than a whole batch goes out alone.
        records.insert(17, (text_span(999, 50_000), Default::default()));
        let batches = encode_all(&mut enc, &records, opts, max);
        assert!(batches.len() > 3, "{}", batches.len());
        let mut names = Vec::new();
        for b in &batches {
            let req = b.decode().unwrap();
            let spans = &req.resource_spans[0].scope_spans[0].spans;
            assert_eq!(spans.len(), b.span_count);
            names.extend(spans.iter().map(|s| s.name.clone()));
            let big = spans.iter().any(|s| s.name == "span-999");
            if big {
                assert_eq!(b.span_count, 1);
            }
            if let Some(p) = b.protobuf() {
                assert!(big || p.len() <= max, "{} bytes", p.len());
            }
            if let Some(j) = b.json_line() {
                assert!(big || j.len() <= max, "{} bytes", j.len());
                let line: ExportTraceServiceRequest =
                    crate::store::codec::decode_line(&j[..j.len() - 1]).unwrap();
                assert_eq!(line, req);
            }
        }
        let want_names: Vec<String> = records.iter().map(|(r, _)| r.name.to_string()).collect();
        assert_eq!(names, want_names, "{want:?}");
    }
}

#[test]
fn a_sent_batch_buffer_is_written_again_by_the_next_batch() {
    let opts = fixture::modes()[0];
    let both = Encodings::PROTOBUF.union(Encodings::JSON);
    let mut enc = encoders(both);
    let batch = |enc: &mut Encoders, first: usize| {
        let records: Vec<_> = (first..first + 5)
            .map(|i| (text_span(i, 2_000), Default::default()))
            .collect();
        let mut b = encode_all(enc, &records, opts, usize::MAX);
        assert_eq!(b.len(), 1);
        b.remove(0)
    };
    let names = |b: &ExportBatch| -> Vec<String> {
        let req = b.decode().unwrap();
        let line = b.json_line().unwrap();
        let from_json: ExportTraceServiceRequest =
            crate::store::codec::decode_line(&line[..line.len() - 1]).unwrap();
        assert_eq!(from_json, req);
        req.resource_spans[0].scope_spans[0]
            .spans
            .iter()
            .map(|s| s.name.clone())
            .collect()
    };
    let first = batch(&mut enc, 0);
    let addrs = |b: &ExportBatch| {
        [
            b.protobuf().unwrap().as_ptr(),
            b.json_line().unwrap().as_ptr(),
        ]
    };
    let first_addrs = addrs(&first);
    enc.recycle(first, usize::MAX);
    assert!(enc.spare.iter().all(Option::is_some));
    // The second batch is written in the first one's buffers, and carries
    // only its own spans.
    let second = batch(&mut enc, 10);
    assert_eq!(addrs(&second), first_addrs);
    assert_eq!(
        names(&second),
        ["span-10", "span-11", "span-12", "span-13", "span-14"]
    );
    // A body an exporter still holds is not taken back.
    let held = second.protobuf().unwrap().clone();
    enc.recycle(second, usize::MAX);
    assert!(enc.spare[0].is_none() && enc.spare[1].is_some());
    let third = batch(&mut enc, 20);
    assert_ne!(third.protobuf().unwrap().as_ptr(), held.as_ptr());
    assert_eq!(addrs(&third)[1], first_addrs[1], "the JSON one was free");
    assert_eq!(names(&third)[0], "span-20");
    // What it holds is still the second batch.
    let req = ExportTraceServiceRequest::decode(held.as_ref()).unwrap();
    assert_eq!(
        req.resource_spans[0].scope_spans[0].spans[0].name,
        "span-10"
    );
}

#[test]
fn the_first_buffer_is_sized_from_the_records_not_grown_to_them() {
    let opts = fixture::modes()[0];
    let records: Vec<(SpanRecord, crate::limits::Applied)> = (0..100)
        .map(|i| (text_span(i, 2_000), Default::default()))
        .collect();
    let approx: usize = records.iter().map(|(r, _)| r.approx_bytes()).sum();
    for hint in [0, approx] {
        let mut enc = encoders(Encodings::PROTOBUF);
        let mut b = enc.batches(usize::MAX, hint);
        for (r, a) in &records {
            let h = semconv::span_header(r, a.attributes_dropped, a.events_dropped);
            b.push(r, opts, &h);
        }
        let batch = b.finish().remove(0);
        let len = batch.protobuf().unwrap().len();
        enc.recycle(batch, usize::MAX);
        let cap = enc.spare[0].as_ref().unwrap().capacity();
        // One allocation of the hinted size (plus the request framing),
        // never grown; without a hint the buffer doubles from 64 KiB.
        let sized = cap >= approx && cap < approx + 1024;
        assert_eq!(
            sized,
            hint > 0,
            "capacity {cap}, hint {approx}, length {len}"
        );
        assert!(cap >= len);
    }
}

#[test]
fn a_call_head_copied_from_the_last_span_is_what_a_fresh_write_gives() {
    use crate::model::{LlmCall, Operation};
    let span = |provider: &str, op: Operation, req: Option<&str>, resp: Option<&str>| {
        let mut r = SpanRecord::new("s");
        let mut c = LlmCall::new(provider, op);
        c.request_model = req.map(Into::into);
        c.response_model = resp.map(Into::into);
        r.llm = Some(Box::new(c));
        r
    };
    let a = || {
        span(
            "openai",
            Operation::Chat,
            Some("gpt-4o"),
            Some("gpt-4o-2024-08-06"),
        )
    };
    let long = "m".repeat(40);
    // Repeats (copied), then each field of the head changed in turn, a span
    // without a call in between, and a long (shared, not inline) model name.
    let records = [
        a(),
        a(),
        span(
            "openai",
            Operation::Chat,
            Some("gpt-4o"),
            Some("gpt-4o-mini"),
        ),
        a(),
        span(
            "anthropic",
            Operation::Chat,
            Some("gpt-4o"),
            Some("gpt-4o-2024-08-06"),
        ),
        span(
            "openai",
            Operation::Embeddings,
            Some("gpt-4o"),
            Some("gpt-4o-2024-08-06"),
        ),
        SpanRecord::new("plain"),
        a(),
        span("openai", Operation::Chat, None, Some("gpt-4o-2024-08-06")),
        span("openai", Operation::Chat, Some(&long), None),
        span("openai", Operation::Chat, Some(&long), None),
        a(),
    ];
    let mut enc = encoders(Encodings::PROTOBUF);
    for opts in fixture::modes() {
        assert_written_fresh(&mut enc, &records, opts);
    }
}

/// One batch of `records` through `enc` decodes to what the struct mapping
/// builds for each of them.
fn assert_written_fresh(enc: &mut Encoders, records: &[SpanRecord], opts: MapOptions) {
    let limited: Vec<_> = records
        .iter()
        .map(|r| (r.clone(), crate::limits::Applied::default()))
        .collect();
    let batches = encode_all(enc, &limited, opts, usize::MAX);
    let got = ExportTraceServiceRequest::decode(batches[0].protobuf().unwrap().as_ref())
        .unwrap()
        .resource_spans
        .remove(0)
        .scope_spans
        .remove(0)
        .spans;
    let want: Vec<_> = records
        .iter()
        .map(|r| semconv::to_proto_span(r, opts, 0, 0))
        .collect();
    assert_eq!(got, want, "{opts:?}");
}

#[test]
fn free_attributes_copied_from_earlier_spans_are_what_a_fresh_write_gives() {
    use crate::model::Value;
    let span = |attrs: &[(&str, Value)]| {
        let mut r = SpanRecord::new("s");
        r.attributes = attrs
            .iter()
            .map(|(k, v)| KeyValue::new(*k, v.clone()))
            .collect();
        r
    };
    let s = |v: &str| Value::Str(v.into());
    let long = "v".repeat(23);
    let mut records = Vec::new();
    for i in 0..200usize {
        // Pairs that repeat, pairs that change at their position with `i`,
        // a value equal under another key, the empty text, a long value,
        // a non-string value, and a key set twice.
        records.push(span(&[
            ("user.id", s(&format!("user-{}", i % 3))),
            ("session.id", s("sess-1")),
            ("feature.name", s("sess-1")),
            ("request.id", s(&format!("req-{i}"))),
            ("", s("")),
            ("note", s(&long)),
            ("n", Value::Int(i as i64)),
            ("user.id", s(&format!("user-{}", i % 3))),
        ]));
    }
    let mut enc = encoders(Encodings::PROTOBUF);
    assert_written_fresh(&mut enc, &records, fixture::modes()[0]);
}
