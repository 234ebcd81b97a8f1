//! Console exporter: one readable line per span on stderr, for development.

use std::io::Write;

use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, status};

use super::{BoxFuture, ExportBatch, ExportContext, ExportResult, SpanExporter};
use crate::semconv::keys::*;

pub struct ConsoleExporter;

fn attr<'a>(s: &'a Span, key: &str) -> Option<&'a any_value::Value> {
    s.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v: &AnyValue| v.value.as_ref())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One line: `name  duration  model  in/out tokens  cost  trace/span ids  [ERROR type]`.
pub fn format_span(s: &Span) -> String {
    let dur_ms = s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano) as f64 / 1e6;
    let mut line = format!("{:<32} {:>9.1}ms", s.name, dur_ms);
    let model = attr(s, GEN_AI_RESPONSE_MODEL).or_else(|| attr(s, GEN_AI_REQUEST_MODEL));
    if let Some(any_value::Value::StringValue(m)) = model {
        line.push_str(&format!("  model={m}"));
    }
    let int = |k| match attr(s, k) {
        Some(any_value::Value::IntValue(i)) => Some(*i),
        _ => None,
    };
    if let (Some(i), Some(o)) = (
        int(GEN_AI_USAGE_INPUT_TOKENS),
        int(GEN_AI_USAGE_OUTPUT_TOKENS),
    ) {
        line.push_str(&format!("  tokens={i}/{o}"));
    }
    if let Some(any_value::Value::DoubleValue(c)) = attr(s, TOKENTRACE_COST_TOTAL_USD) {
        line.push_str(&format!("  cost=${c:.6}"));
    }
    line.push_str(&format!(
        "  trace={} span={}",
        hex(&s.trace_id),
        hex(&s.span_id)
    ));
    if !s.parent_span_id.is_empty() {
        line.push_str(&format!(" parent={}", hex(&s.parent_span_id)));
    }
    if s.status
        .as_ref()
        .is_some_and(|st| st.code == status::StatusCode::Error as i32)
    {
        let t = match attr(s, ERROR_TYPE) {
            Some(any_value::Value::StringValue(t)) => t.as_str(),
            _ => "error",
        };
        line.push_str(&format!("  [ERROR {t}]"));
    }
    line
}

impl SpanExporter for ConsoleExporter {
    fn name(&self) -> &'static str {
        "console"
    }

    fn export<'a>(
        &'a self,
        batch: &'a ExportBatch,
        _ctx: ExportContext,
    ) -> BoxFuture<'a, ExportResult> {
        Box::pin(async move {
            let request = match batch.decode() {
                Ok(r) => r,
                Err(e) => return ExportResult::failed(e.to_string(), 0),
            };
            let mut out = String::new();
            for rs in &request.resource_spans {
                for ss in &rs.scope_spans {
                    for s in &ss.spans {
                        out.push_str("[tokentrace] ");
                        out.push_str(&format_span(s));
                        out.push('\n');
                    }
                }
            }
            // A closed stderr must not fail the export or panic.
            let _ = std::io::stderr().lock().write_all(out.as_bytes());
            ExportResult::ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semconv::AttrSink;
    use opentelemetry_proto::tonic::trace::v1::Status;

    #[test]
    fn one_readable_line() {
        let mut attributes = Vec::new();
        attributes.str(GEN_AI_RESPONSE_MODEL, "gpt-4o-2024-08-06");
        attributes.i64(GEN_AI_USAGE_INPUT_TOKENS, 120);
        attributes.i64(GEN_AI_USAGE_OUTPUT_TOKENS, 8);
        attributes.f64(TOKENTRACE_COST_TOTAL_USD, 0.00038);
        attributes.str(ERROR_TYPE, "RateLimitError");
        let s = Span {
            name: "chat gpt-4o".into(),
            trace_id: vec![0xab; 16],
            span_id: vec![0x01; 8],
            parent_span_id: vec![0x02; 8],
            start_time_unix_nano: 0,
            end_time_unix_nano: 1_234_000_000,
            attributes,
            status: Some(Status {
                message: "slow down".into(),
                code: 2,
            }),
            ..Default::default()
        };
        let line = format_span(&s);
        for part in [
            "chat gpt-4o",
            "1234.0ms",
            "model=gpt-4o-2024-08-06",
            "tokens=120/8",
            "cost=$0.000380",
            "parent=0202020202020202",
            "[ERROR RateLimitError]",
        ] {
            assert!(line.contains(part), "{line:?} lacks {part:?}");
        }
    }
}
