//! One store line <-> one `ExportTraceServiceRequest`.
//!
//! `opentelemetry_proto`'s serde support writes a non-finite attribute double through
//! serde_json, which turns it into `null`: the value is silently lost (it reads back as an
//! empty value). The OTLP/JSON (proto3 JSON) encoding of such doubles is the strings
//! `"NaN"`, `"Infinity"` and `"-Infinity"`, which the crate cannot read back. So non-finite
//! doubles take a slow path on both sides: the writer patches the JSON tree, the reader
//! parses the tree, nulls the strings so the crate accepts it, and patches the decoded
//! request. Lines without such values (nearly all) take the direct path.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use serde_json::Value as Json;

const DOUBLE_KEY: &str = "doubleValue";

/// Encodes `req` as one JSON line, terminated by `\n`.
pub(crate) fn encode_line(req: &ExportTraceServiceRequest) -> Result<Vec<u8>, serde_json::Error> {
    let mut line = if has_non_finite(req) {
        let mut json = serde_json::to_value(req)?;
        // The walk needs a mutable request; this path is rare enough to afford the clone.
        let mut copy = req.clone();
        for_each_value(&mut copy, &mut json, &mut |value, json| {
            if let Some(Any::DoubleValue(d)) = value.value
                && !d.is_finite()
                && let Some(obj) = json.as_object_mut()
            {
                obj.insert(DOUBLE_KEY.into(), Json::String(non_finite_name(d).into()));
            }
        });
        serde_json::to_vec(&json)?
    } else {
        serde_json::to_vec(req)?
    };
    line.push(b'\n');
    Ok(line)
}

/// Decodes one line (without its `\n`).
pub(crate) fn decode_line(line: &[u8]) -> Result<ExportTraceServiceRequest, serde_json::Error> {
    match serde_json::from_slice(line) {
        Ok(req) => Ok(req),
        Err(err) if contains(line, DOUBLE_KEY.as_bytes()) => {
            decode_with_string_doubles(line).map_err(|_| err)
        }
        Err(err) => Err(err),
    }
}

fn decode_with_string_doubles(line: &[u8]) -> Result<ExportTraceServiceRequest, serde_json::Error> {
    let mut original: Json = serde_json::from_slice(line)?;
    let mut nulled = original.clone();
    null_string_doubles(&mut nulled);
    let mut req: ExportTraceServiceRequest = serde_json::from_value(nulled)?;
    for_each_value(&mut req, &mut original, &mut |value, json| {
        if let Some(Json::String(s)) = json.get(DOUBLE_KEY)
            && let Some(d) = parse_double(s)
        {
            value.value = Some(Any::DoubleValue(d));
        }
    });
    Ok(req)
}

fn non_finite_name(d: f64) -> &'static str {
    if d.is_nan() {
        "NaN"
    } else if d > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

/// Proto3 JSON allows doubles as strings: the three special names or a decimal number.
fn parse_double(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        other => other.parse().ok(),
    }
}

fn null_string_doubles(json: &mut Json) {
    match json {
        Json::Object(obj) => {
            for (key, child) in obj.iter_mut() {
                if key == DOUBLE_KEY && child.as_str().and_then(parse_double).is_some() {
                    *child = Json::Null;
                } else {
                    null_string_doubles(child);
                }
            }
        }
        Json::Array(items) => items.iter_mut().for_each(null_string_doubles),
        _ => {}
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn has_non_finite(req: &ExportTraceServiceRequest) -> bool {
    fn any(v: &AnyValue) -> bool {
        match &v.value {
            Some(Any::DoubleValue(d)) => !d.is_finite(),
            Some(Any::ArrayValue(a)) => a.values.iter().any(any),
            Some(Any::KvlistValue(l)) => kvs(&l.values),
            _ => false,
        }
    }
    fn kvs(list: &[KeyValue]) -> bool {
        list.iter().any(|kv| kv.value.as_ref().is_some_and(any))
    }
    req.resource_spans.iter().any(|rs| {
        rs.resource.as_ref().is_some_and(|r| kvs(&r.attributes))
            || rs.scope_spans.iter().any(|ss| {
                ss.scope.as_ref().is_some_and(|s| kvs(&s.attributes))
                    || ss.spans.iter().any(|span| {
                        kvs(&span.attributes)
                            || span.events.iter().any(|e| kvs(&e.attributes))
                            || span.links.iter().any(|l| kvs(&l.attributes))
                    })
            })
    })
}

type Visit<'a> = dyn FnMut(&mut AnyValue, &mut Json) + 'a;

/// Calls `f` with every attribute value of `req` and the JSON object it was (or will be)
/// encoded as. The JSON tree must be the serde encoding of `req`.
fn for_each_value(req: &mut ExportTraceServiceRequest, json: &mut Json, f: &mut Visit<'_>) {
    for (rs, rs_json) in req
        .resource_spans
        .iter_mut()
        .zip(items(json, "resourceSpans"))
    {
        if let (Some(resource), Some(r_json)) = (rs.resource.as_mut(), rs_json.get_mut("resource"))
        {
            visit_kvs(&mut resource.attributes, items(r_json, "attributes"), f);
        }
        for (ss, ss_json) in rs.scope_spans.iter_mut().zip(items(rs_json, "scopeSpans")) {
            if let (Some(scope), Some(s_json)) = (ss.scope.as_mut(), ss_json.get_mut("scope")) {
                visit_kvs(&mut scope.attributes, items(s_json, "attributes"), f);
            }
            for (span, span_json) in ss.spans.iter_mut().zip(items(ss_json, "spans")) {
                visit_kvs(&mut span.attributes, items(span_json, "attributes"), f);
                for (event, e_json) in span.events.iter_mut().zip(items(span_json, "events")) {
                    visit_kvs(&mut event.attributes, items(e_json, "attributes"), f);
                }
                for (link, l_json) in span.links.iter_mut().zip(items(span_json, "links")) {
                    visit_kvs(&mut link.attributes, items(l_json, "attributes"), f);
                }
            }
        }
    }
}

fn visit_kvs(list: &mut [KeyValue], json: std::slice::IterMut<'_, Json>, f: &mut Visit<'_>) {
    for (kv, kv_json) in list.iter_mut().zip(json) {
        if let (Some(value), Some(v_json)) = (kv.value.as_mut(), kv_json.get_mut("value")) {
            visit_value(value, v_json, f);
        }
    }
}

fn visit_value(value: &mut AnyValue, json: &mut Json, f: &mut Visit<'_>) {
    match value.value.as_mut() {
        Some(Any::ArrayValue(array)) => {
            if let Some(a_json) = json.get_mut("arrayValue") {
                for (item, i_json) in array.values.iter_mut().zip(items(a_json, "values")) {
                    visit_value(item, i_json, f);
                }
            }
        }
        Some(Any::KvlistValue(list)) => {
            if let Some(l_json) = json.get_mut("kvlistValue") {
                visit_kvs(&mut list.values, items(l_json, "values"), f);
            }
        }
        _ => f(value, json),
    }
}

fn items<'a>(json: &'a mut Json, key: &str) -> std::slice::IterMut<'a, Json> {
    match json.get_mut(key) {
        Some(Json::Array(items)) => items.iter_mut(),
        _ => [].iter_mut(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    fn kv(key: &str, value: Any) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    fn request(
        span_attrs: Vec<KeyValue>,
        resource_attrs: Vec<KeyValue>,
    ) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: resource_attrs,
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        trace_id: vec![1; 16],
                        span_id: vec![2; 8],
                        name: "chat gpt-4o-mini".into(),
                        start_time_unix_nano: 1_700_000_000_000_000_000,
                        end_time_unix_nano: 1_700_000_000_500_000_000,
                        attributes: span_attrs,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn doubles(req: &ExportTraceServiceRequest) -> Vec<f64> {
        fn collect(v: &AnyValue, out: &mut Vec<f64>) {
            match &v.value {
                Some(Any::DoubleValue(d)) => out.push(*d),
                Some(Any::ArrayValue(a)) => a.values.iter().for_each(|v| collect(v, out)),
                Some(Any::KvlistValue(l)) => l
                    .values
                    .iter()
                    .filter_map(|kv| kv.value.as_ref())
                    .for_each(|v| collect(v, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for rs in &req.resource_spans {
            for kv in rs.resource.iter().flat_map(|r| &r.attributes) {
                collect(kv.value.as_ref().unwrap(), &mut out);
            }
            for span in rs.scope_spans.iter().flat_map(|s| &s.spans) {
                for kv in &span.attributes {
                    collect(kv.value.as_ref().unwrap(), &mut out);
                }
            }
        }
        out
    }

    #[test]
    fn plain_request_is_one_line_with_otlp_json_conventions() {
        let req = request(
            vec![kv("gen_ai.usage.input_tokens", Any::IntValue(12))],
            vec![],
        );
        let line = encode_line(&req).unwrap();
        assert_eq!(line.last(), Some(&b'\n'));
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        let text = std::str::from_utf8(&line).unwrap();
        assert!(
            text.contains(r#""traceId":"01010101010101010101010101010101""#),
            "{text}"
        );
        assert!(
            text.contains(r#""startTimeUnixNano":"1700000000000000000""#),
            "{text}"
        );
        assert!(text.contains(r#""intValue":"12""#), "{text}");
        assert_eq!(decode_line(&line[..line.len() - 1]).unwrap(), req);
    }

    #[test]
    fn non_finite_doubles_round_trip_everywhere_as_proto3_json_strings() {
        let nested = Any::KvlistValue(KeyValueList {
            values: vec![kv(
                "inner",
                Any::ArrayValue(ArrayValue {
                    values: vec![
                        AnyValue {
                            value: Some(Any::DoubleValue(1.5)),
                        },
                        AnyValue {
                            value: Some(Any::DoubleValue(f64::NEG_INFINITY)),
                        },
                    ],
                }),
            )],
        });
        let req = request(
            vec![
                kv("tokentrace.cost.total_usd", Any::DoubleValue(f64::NAN)),
                kv("gen_ai.request.temperature", Any::DoubleValue(0.25)),
                kv("nested", nested),
            ],
            vec![kv("weird", Any::DoubleValue(f64::INFINITY))],
        );
        let line = encode_line(&req).unwrap();
        let text = std::str::from_utf8(&line).unwrap();
        // Valid JSON, with the proto3 JSON spelling of the special values.
        let json: Json = serde_json::from_str(text).unwrap();
        assert!(json.is_object());
        assert!(text.contains(r#""doubleValue":"NaN""#), "{text}");
        assert!(text.contains(r#""doubleValue":"Infinity""#), "{text}");
        assert!(text.contains(r#""doubleValue":"-Infinity""#), "{text}");
        assert!(!text.contains(r#""doubleValue":null"#), "{text}");

        let back = decode_line(text.trim_end().as_bytes()).unwrap();
        let got = doubles(&back);
        assert_eq!(got.len(), 5, "{got:?}");
        assert_eq!(got[0], f64::INFINITY); // resource
        assert!(got[1].is_nan());
        assert_eq!(got[2], 0.25);
        assert_eq!(&got[3..], &[1.5, f64::NEG_INFINITY]);
    }

    #[test]
    fn doubles_spelled_as_strings_by_other_writers_are_read() {
        let line = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01010101010101010101010101010101","spanId":"0202020202020202","name":"x","kind":1,"startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"a","value":{"doubleValue": "2.5"}},{"key":"b","value":{"doubleValue":null}}]}]}]}]}"#;
        let req = decode_line(line).unwrap();
        let span = &req.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(
            span.attributes[0].value.as_ref().unwrap().value,
            Some(Any::DoubleValue(2.5))
        );
        assert_eq!(span.attributes[1].value.as_ref().unwrap().value, None);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode_line(b"{\"resourceSpans\":[{").is_err());
        assert!(decode_line(b"{\"doubleValue\":\"NaN\", oops}").is_err());
        assert!(decode_line(&[0xff, 0xfe]).is_err());
    }
}
