//! The mapping's golden output: the fixture records mapped under every mode,
//! as OTLP-JSON export requests (one line per mode). Recorded from the
//! original struct-building mapping; the mapping and both encoders must keep
//! producing exactly this. Regenerate (after a deliberate mapping change) with
//! `TT_WRITE_GOLDEN=1 cargo test -p tokentrace-core golden`.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};

use super::fixture;
use crate::limits;

pub(crate) const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/src/semconv/testdata/golden.jsonl"
);

/// The fixture records with the limits applied, as the worker does before
/// mapping (one event over the limit is dropped).
pub(crate) fn limited() -> Vec<(crate::model::SpanRecord, limits::Applied)> {
    let lim = crate::config::Limits {
        attribute_count: 128,
        attribute_value_length: 4096,
        event_count: 2,
    };
    fixture::records()
        .into_iter()
        .map(|mut r| {
            let a = limits::apply(&mut r, &lim);
            (r, a)
        })
        .collect()
}

/// The request the struct mapping builds for `opts`.
pub(crate) fn struct_request(opts: super::MapOptions) -> ExportTraceServiceRequest {
    let spans = limited()
        .iter()
        .map(|(r, a)| super::to_proto_span(r, opts, a.attributes_dropped, a.events_dropped))
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(super::resource(&fixture::resource(), "rust")),
            scope_spans: vec![ScopeSpans {
                scope: Some(super::scope()),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// The golden lines, one per mode of `fixture::modes()`.
pub(crate) fn lines() -> Vec<String> {
    let text = std::fs::read_to_string(PATH).unwrap();
    text.lines().map(str::to_string).collect()
}

fn line_of(req: &ExportTraceServiceRequest) -> String {
    let bytes = crate::store::codec::encode_line(req).unwrap();
    String::from_utf8(bytes).unwrap().trim_end().to_string()
}

#[test]
fn struct_mapping_matches_golden() {
    let got: Vec<String> = fixture::modes()
        .into_iter()
        .map(|o| line_of(&struct_request(o)))
        .collect();
    if std::env::var_os("TT_WRITE_GOLDEN").is_some() {
        std::fs::write(PATH, got.join("\n") + "\n").unwrap();
    }
    let want = lines();
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "mode {:?}", fixture::modes()[i]);
    }
}
