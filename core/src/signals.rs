//! Quality signals: per-span flags that turn a passive record into something
//! a dashboard or an alert can select on — slow calls, runaway token counts,
//! errors, and output that was cut or filtered. Computed on the worker.

use std::time::Duration;

use crate::model::{KeyValue, SpanRecord, StatusCode, Value};

pub const SIGNALS: &str = "tokentrace.signals";
pub const SLOW: &str = "slow";
pub const RUNAWAY_OUTPUT: &str = "runaway_output";
pub const LARGE_INPUT: &str = "large_input";
pub const ERROR: &str = "error";
pub const TRUNCATED: &str = "truncated";
pub const CONTENT_FILTERED: &str = "content_filtered";

/// Thresholds; the defaults suit chat workloads.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalConfig {
    /// A model call slower than this is `slow`.
    pub latency_threshold: Duration,
    /// Output at or above this share of `max_tokens` is `runaway_output`.
    pub near_max_tokens_ratio: f64,
    /// Output above this many tokens is `runaway_output` whatever `max_tokens` was.
    pub output_tokens_threshold: u64,
    /// Input above this many tokens is `large_input` (a runaway prompt).
    pub input_tokens_threshold: u64,
}

impl Default for SignalConfig {
    fn default() -> Self {
        SignalConfig {
            latency_threshold: Duration::from_secs(20),
            near_max_tokens_ratio: 0.95,
            output_tokens_threshold: 8_192,
            input_tokens_threshold: 64_000,
        }
    }
}

/// The signals one model-call record raises.
pub fn signals_of(r: &SpanRecord, cfg: &SignalConfig) -> Vec<&'static str> {
    let Some(call) = r.llm.as_deref() else {
        return Vec::new();
    };
    if !call.operation.is_inference() {
        return Vec::new();
    }
    let mut out = Vec::new();
    if r.duration_nanos() > cfg.latency_threshold.as_nanos() as u64 {
        out.push(SLOW);
    }
    if let Some(o) = call.usage.output_tokens {
        let near_max = call
            .params
            .max_tokens
            .is_some_and(|m| m > 0 && o as f64 >= cfg.near_max_tokens_ratio * m as f64);
        if near_max || o > cfg.output_tokens_threshold {
            out.push(RUNAWAY_OUTPUT);
        }
    }
    if call
        .usage
        .input_tokens
        .is_some_and(|i| i > cfg.input_tokens_threshold)
    {
        out.push(LARGE_INPUT);
    }
    if call.error.is_some() || r.status.code == StatusCode::Error {
        out.push(ERROR);
    }
    let finish = call.finish_reasons.iter().map(|f| f.as_ref()).chain(
        call.output_messages
            .iter()
            .filter_map(|m| m.finish_reason.as_deref()),
    );
    for f in finish {
        match f {
            "length" | "max_tokens" | "max_output_tokens" if !out.contains(&TRUNCATED) => {
                out.push(TRUNCATED)
            }
            "content_filter" | "refusal" if !out.contains(&CONTENT_FILTERED) => {
                out.push(CONTENT_FILTERED)
            }
            _ => {}
        }
    }
    out
}

/// Adds `tokentrace.signals` (string array) when any signal fired.
pub fn annotate(r: &mut SpanRecord, cfg: &SignalConfig) {
    let s = signals_of(r, cfg);
    if !s.is_empty() {
        r.attributes.push(KeyValue::new(
            SIGNALS,
            Value::StrArray(s.into_iter().map(Into::into).collect()),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn call(f: impl FnOnce(&mut LlmCall)) -> SpanRecord {
        let mut r = SpanRecord::new("chat");
        r.start_unix_nanos = 0;
        r.end_unix_nanos = 1_000_000_000;
        let mut c = LlmCall::new("openai", Operation::Chat);
        f(&mut c);
        r.llm = Some(Box::new(c));
        r
    }

    #[test]
    fn each_signal() {
        let cfg = SignalConfig::default();
        assert!(signals_of(&call(|_| {}), &cfg).is_empty());
        let mut slow = call(|_| {});
        slow.end_unix_nanos = 21_000_000_000;
        assert_eq!(signals_of(&slow, &cfg), vec![SLOW]);
        let near = call(|c| {
            c.params.max_tokens = Some(100);
            c.usage.output_tokens = Some(99);
        });
        assert_eq!(signals_of(&near, &cfg), vec![RUNAWAY_OUTPUT]);
        let big = call(|c| c.usage.output_tokens = Some(9_000));
        assert_eq!(signals_of(&big, &cfg), vec![RUNAWAY_OUTPUT]);
        let input = call(|c| c.usage.input_tokens = Some(100_000));
        assert_eq!(signals_of(&input, &cfg), vec![LARGE_INPUT]);
        let err = call(|c| {
            c.error = Some(LlmError {
                error_type: "500".into(),
                message: None,
            });
        });
        assert_eq!(signals_of(&err, &cfg), vec![ERROR]);
        let cut = call(|c| c.finish_reasons = vec!["length".into(), "content_filter".into()]);
        assert_eq!(signals_of(&cut, &cfg), vec![TRUNCATED, CONTENT_FILTERED]);
        let mut tool = call(|_| {});
        tool.llm.as_mut().unwrap().operation = Operation::ExecuteTool;
        tool.end_unix_nanos = 60_000_000_000;
        assert!(signals_of(&tool, &cfg).is_empty(), "only model calls");
    }
}
