//! Tail sampling (opt-in): the worker holds each trace until its root span
//! ends (or a maximum wait passes), then keeps it whole if any span matched a
//! rule — error, slow, many tokens, output cut (`length`) or filtered
//! (`content_filter`), low feedback score — and a consistent fraction of the
//! rest. Memory is bounded: at most `max_traces` pending traces and
//! `max_spans_per_trace` spans each; overflow decides early (counted).
//!
//! This sees one process only. Traces that cross services belong to the
//! OpenTelemetry Collector's `tail_sampling` processor behind a
//! `loadbalancing` exporter keyed by trace id; configure tokentrace with head
//! sampling only (tail off) in that setup.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::fasthash::FastState;
use crate::model::{SpanRecord, StatusCode, TraceId};
use crate::semconv::keys;

/// Rules and bounds of the tail sampler.
#[derive(Debug, Clone, PartialEq)]
pub struct TailConfig {
    /// Keep traces with an error status or an `error.type`.
    pub keep_errors: bool,
    /// Keep traces with a span at least this slow.
    pub latency_threshold: Option<Duration>,
    /// Keep traces whose model calls used at least this many tokens (in + out).
    pub token_threshold: Option<u64>,
    /// Keep traces with a `length` or `content_filter` finish reason.
    pub keep_truncated: bool,
    /// Keep traces that received feedback scored below this.
    pub feedback_below: Option<f64>,
    /// Fraction of the remaining traces kept (consistent by trace id).
    pub keep_ratio: f64,
    /// How long a trace waits for its root span.
    pub max_wait: Duration,
    pub max_traces: usize,
    pub max_spans_per_trace: usize,
}

impl Default for TailConfig {
    fn default() -> Self {
        TailConfig {
            keep_errors: true,
            latency_threshold: Some(Duration::from_secs(10)),
            token_threshold: Some(20_000),
            keep_truncated: true,
            feedback_below: Some(0.5),
            keep_ratio: 0.1,
            max_wait: Duration::from_secs(30),
            max_traces: 10_000,
            max_spans_per_trace: 1_000,
        }
    }
}

/// Why a trace was kept or dropped (counted in `stats()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    KeptError,
    KeptLatency,
    KeptTokens,
    KeptTruncated,
    KeptFeedback,
    KeptRatio,
    Dropped,
}

impl Decision {
    pub const ALL: [Decision; 7] = [
        Decision::KeptError,
        Decision::KeptLatency,
        Decision::KeptTokens,
        Decision::KeptTruncated,
        Decision::KeptFeedback,
        Decision::KeptRatio,
        Decision::Dropped,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Decision::KeptError => "kept_error",
            Decision::KeptLatency => "kept_latency",
            Decision::KeptTokens => "kept_tokens",
            Decision::KeptTruncated => "kept_truncated",
            Decision::KeptFeedback => "kept_feedback",
            Decision::KeptRatio => "kept_ratio",
            Decision::Dropped => "dropped",
        }
    }

    pub fn keep(&self) -> bool {
        *self != Decision::Dropped
    }
}

/// Counts of the tail sampler.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TailStats {
    /// Traces decided, by decision.
    pub decisions: Vec<(&'static str, u64)>,
    /// Traces decided before their root arrived (wait or bounds exceeded).
    pub decided_early: u64,
    /// Spans of already-decided traces that arrived late (follow the decision).
    pub late_spans: u64,
    pub pending_traces: u64,
    pub pending_spans: u64,
}

struct Pending {
    first_seen: Instant,
    spans: Vec<SpanRecord>,
    /// The strongest keep reason seen so far.
    reason: Option<Decision>,
}

/// Output of one step: records to export and records sampled out.
#[derive(Default)]
pub struct Released {
    pub keep: Vec<SpanRecord>,
    pub drop: Vec<SpanRecord>,
}

pub struct TailSampler {
    cfg: TailConfig,
    /// Seeded fast hashing (`fasthash`): SipHash of the trace ids took
    /// ~8% of the worker's instructions with tail sampling on.
    pending: HashMap<TraceId, Pending, FastState>,
    /// Decisions remembered for late spans, bounded FIFO.
    decided: HashMap<TraceId, bool, FastState>,
    decided_order: VecDeque<TraceId>,
    counts: HashMap<Decision, u64>,
    decided_early: u64,
    late_spans: u64,
    pending_spans: usize,
}

const FEEDBACK_SCORE: &str = "gen_ai.evaluation.score.value";

impl TailSampler {
    pub fn new(cfg: TailConfig) -> Self {
        TailSampler {
            cfg,
            pending: HashMap::default(),
            decided: HashMap::default(),
            decided_order: VecDeque::new(),
            counts: HashMap::new(),
            decided_early: 0,
            late_spans: 0,
            pending_spans: 0,
        }
    }

    /// The keep reason a single span gives its trace, if any.
    fn rule(&self, r: &SpanRecord) -> Option<Decision> {
        let c = &self.cfg;
        let llm = r.llm.as_deref();
        let errored = r.status.code == StatusCode::Error
            || llm.is_some_and(|l| l.error.is_some())
            || r.attributes
                .iter()
                .any(|kv| kv.key.as_ref() == keys::ERROR_TYPE);
        if c.keep_errors && errored {
            return Some(Decision::KeptError);
        }
        if let Some(b) = c.feedback_below {
            let low = r.attributes.iter().any(|kv| {
                kv.key.as_ref() == FEEDBACK_SCORE
                    && match kv.value {
                        crate::model::Value::Float(f) => f < b,
                        crate::model::Value::Int(i) => (i as f64) < b,
                        _ => false,
                    }
            });
            if low {
                return Some(Decision::KeptFeedback);
            }
        }
        if let Some(t) = c.latency_threshold
            && r.duration_nanos() >= t.as_nanos() as u64
        {
            return Some(Decision::KeptLatency);
        }
        if let (Some(t), Some(l)) = (c.token_threshold, llm) {
            let total = l.usage.input_tokens.unwrap_or(0) + l.usage.output_tokens.unwrap_or(0);
            if total >= t {
                return Some(Decision::KeptTokens);
            }
        }
        if c.keep_truncated
            && let Some(l) = llm
            && l.finish_reasons.iter().any(|f| {
                matches!(
                    f.as_ref(),
                    "length" | "max_tokens" | "content_filter" | "refusal"
                )
            })
        {
            return Some(Decision::KeptTruncated);
        }
        None
    }

    fn decide(&mut self, trace: TraceId, early: bool, out: &mut Released) {
        let Some(p) = self.pending.remove(&trace) else {
            return;
        };
        self.pending_spans -= p.spans.len();
        let decision = p.reason.unwrap_or_else(|| {
            if crate::sample::head::ratio_keeps(self.cfg.keep_ratio, &trace) {
                Decision::KeptRatio
            } else {
                Decision::Dropped
            }
        });
        *self.counts.entry(decision).or_insert(0) += 1;
        if early {
            self.decided_early += 1;
        }
        self.remember(trace, decision.keep());
        if decision.keep() {
            out.keep.extend(p.spans);
        } else {
            out.drop.extend(p.spans);
        }
    }

    fn remember(&mut self, trace: TraceId, keep: bool) {
        if self.decided.insert(trace, keep).is_none() {
            self.decided_order.push_back(trace);
            // Remember at most 4× the pending bound.
            while self.decided_order.len() > self.cfg.max_traces.saturating_mul(4).max(1024) {
                if let Some(old) = self.decided_order.pop_front() {
                    self.decided.remove(&old);
                }
            }
        }
    }

    /// Takes finished records; returns those whose trace is now decided.
    pub fn offer(&mut self, records: Vec<SpanRecord>, now: Instant) -> Released {
        let mut out = Released::default();
        for r in records {
            let trace = r.trace_id;
            if let Some(&keep) = self.decided.get(&trace) {
                self.late_spans += 1;
                if keep {
                    out.keep.push(r);
                } else {
                    out.drop.push(r);
                }
                continue;
            }
            if !self.pending.contains_key(&trace) && self.pending.len() >= self.cfg.max_traces {
                // Bound reached: decide the oldest pending trace now.
                if let Some(oldest) = self
                    .pending
                    .iter()
                    .min_by_key(|(_, p)| p.first_seen)
                    .map(|(t, _)| *t)
                {
                    self.decide(oldest, true, &mut out);
                }
            }
            let reason = self.rule(&r);
            let is_root = r.is_root() && !is_feedback(&r);
            let p = self.pending.entry(trace).or_insert_with(|| Pending {
                first_seen: now,
                spans: Vec::new(),
                reason: None,
            });
            if p.reason.is_none() {
                p.reason = reason;
            }
            p.spans.push(r);
            self.pending_spans += 1;
            let full = p.spans.len() >= self.cfg.max_spans_per_trace;
            if is_root || full {
                self.decide(trace, !is_root, &mut out);
            }
        }
        self.expire(now, &mut out);
        out
    }

    /// Decides traces that waited longer than `max_wait`.
    pub fn expire(&mut self, now: Instant, out: &mut Released) {
        let max_wait = self.cfg.max_wait;
        let expired: Vec<TraceId> = self
            .pending
            .iter()
            .filter(|(_, p)| now.duration_since(p.first_seen) >= max_wait)
            .map(|(t, _)| *t)
            .collect();
        for t in expired {
            self.decide(t, true, out);
        }
    }

    /// Decides everything pending (flush, shutdown).
    pub fn drain(&mut self) -> Released {
        let mut out = Released::default();
        let all: Vec<TraceId> = self.pending.keys().copied().collect();
        for t in all {
            self.decide(t, true, &mut out);
        }
        out
    }

    pub fn pending_spans(&self) -> usize {
        self.pending_spans
    }

    pub fn stats(&self) -> TailStats {
        TailStats {
            decisions: Decision::ALL
                .iter()
                .map(|d| (d.as_str(), self.counts.get(d).copied().unwrap_or(0)))
                .collect(),
            decided_early: self.decided_early,
            late_spans: self.late_spans,
            pending_traces: self.pending.len() as u64,
            pending_spans: self.pending_spans as u64,
        }
    }
}

fn is_feedback(r: &SpanRecord) -> bool {
    r.attributes
        .iter()
        .any(|kv| kv.key.as_ref() == FEEDBACK_SCORE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn span(trace: TraceId, root: bool, dur_ms: u64) -> SpanRecord {
        let mut r = SpanRecord::new("s");
        r.trace_id = trace;
        if !root {
            r.parent_span_id = Some(SpanId::random());
        }
        r.start_unix_nanos = 0;
        r.end_unix_nanos = dur_ms * 1_000_000;
        r
    }

    fn cfg() -> TailConfig {
        TailConfig {
            keep_ratio: 0.0,
            ..TailConfig::default()
        }
    }

    #[test]
    fn holds_until_root_then_keeps_whole_error_trace() {
        let mut ts = TailSampler::new(cfg());
        let t = TraceId::random();
        let now = Instant::now();
        let mut child = span(t, false, 5);
        child.status = Status::error("boom");
        let out = ts.offer(vec![child, span(t, false, 5)], now);
        assert!(out.keep.is_empty() && out.drop.is_empty());
        assert_eq!(ts.pending_spans(), 2);
        let out = ts.offer(vec![span(t, true, 10)], now);
        assert_eq!(out.keep.len(), 3);
        assert_eq!(ts.stats().decisions[0], ("kept_error", 1));
        // A late span follows the decision.
        let out = ts.offer(vec![span(t, false, 1)], now);
        assert_eq!(out.keep.len(), 1);
    }

    #[test]
    fn rules_slow_tokens_truncated_feedback_and_ratio() {
        let mut ts = TailSampler::new(cfg());
        let now = Instant::now();
        let mut decide = |mut extra: SpanRecord| {
            let t = TraceId::random();
            extra.trace_id = t;
            let out = ts.offer(vec![extra, span(t, true, 1)], now);
            out.keep.len()
        };
        assert_eq!(decide(span(TraceId::INVALID, false, 11_000)), 2, "slow");
        let mut tok = span(TraceId::INVALID, false, 1);
        let mut c = LlmCall::new("openai", Operation::Chat);
        c.usage.input_tokens = Some(19_000);
        c.usage.output_tokens = Some(2_000);
        tok.llm = Some(Box::new(c.clone()));
        assert_eq!(decide(tok), 2, "tokens");
        let mut cut = span(TraceId::INVALID, false, 1);
        c.usage = Usage::default();
        c.finish_reasons = vec!["length".into()];
        cut.llm = Some(Box::new(c));
        assert_eq!(decide(cut), 2, "truncated");
        let mut fb = span(TraceId::INVALID, false, 1);
        fb.attributes.push(KeyValue::new(FEEDBACK_SCORE, 0.1));
        assert_eq!(decide(fb), 2, "low feedback");
        assert_eq!(
            decide(span(TraceId::INVALID, false, 1)),
            0,
            "boring trace dropped at ratio 0"
        );
    }

    #[test]
    fn bounded_memory_decides_early() {
        let mut ts = TailSampler::new(TailConfig {
            max_traces: 10,
            max_spans_per_trace: 5,
            keep_ratio: 1.0,
            ..TailConfig::default()
        });
        let now = Instant::now();
        let mut released = 0;
        for _ in 0..1000 {
            let t = TraceId::random();
            let out = ts.offer(vec![span(t, false, 1)], now);
            released += out.keep.len();
            assert!(ts.stats().pending_traces <= 10);
        }
        assert_eq!(released, 990);
        let big = TraceId::random();
        let out = ts.offer((0..7).map(|_| span(big, false, 1)).collect(), now);
        assert!(
            out.keep.len() >= 5,
            "decided when the per-trace bound was hit"
        );
        assert!(ts.stats().decided_early >= 990);
        let rest = ts.drain();
        assert!(!rest.keep.is_empty());
        assert_eq!(ts.pending_spans(), 0);
    }

    #[test]
    fn max_wait_expires_traces_without_root() {
        let mut ts = TailSampler::new(TailConfig {
            max_wait: Duration::from_millis(10),
            keep_ratio: 1.0,
            ..TailConfig::default()
        });
        let t0 = Instant::now();
        ts.offer(vec![span(TraceId::random(), false, 1)], t0);
        let mut out = Released::default();
        ts.expire(t0 + Duration::from_millis(20), &mut out);
        assert_eq!(out.keep.len(), 1);
    }

    #[test]
    fn ratio_is_consistent_by_trace_id() {
        let mut a = TailSampler::new(TailConfig {
            keep_ratio: 0.5,
            ..TailConfig::default()
        });
        let mut b = TailSampler::new(TailConfig {
            keep_ratio: 0.5,
            ..TailConfig::default()
        });
        let now = Instant::now();
        for _ in 0..200 {
            let t = TraceId::random();
            let ka = a.offer(vec![span(t, true, 1)], now).keep.len();
            let kb = b.offer(vec![span(t, true, 1)], now).keep.len();
            assert_eq!(ka, kb);
        }
    }
}
