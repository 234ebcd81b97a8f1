//! GenAI client metrics, aggregated on the worker from the model-call spans it
//! exports and sent over OTLP with cumulative temporality, so a backend can
//! draw token, latency and cost dashboards by model, provider, feature and
//! environment (the environment is a resource attribute):
//! - `gen_ai.client.token.usage` (histogram, `{token}`, by `gen_ai.token.type`)
//! - `gen_ai.client.operation.duration` (histogram, `s`, with `error.type`)
//! - `gen_ai.client.operation.time_to_first_chunk` (histogram, `s`, streams)
//! - `tokentrace.client.cost` (monotonic sum, `USD`)

use std::collections::HashMap;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue as PKeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::fasthash::FastState;
use crate::model::{SpanRecord, Str, Value};
use crate::semconv::{keys, kv_str};

pub const TOKEN_USAGE: &str = "gen_ai.client.token.usage";
pub const OPERATION_DURATION: &str = "gen_ai.client.operation.duration";
pub const TIME_TO_FIRST_CHUNK: &str = "gen_ai.client.operation.time_to_first_chunk";
pub const COST: &str = "tokentrace.client.cost";

/// Advisory buckets of the conventions.
const TOKEN_BOUNDS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];
const SECONDS_BOUNDS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/// The attribute set of one series. Shares the record's strings (the key
/// is built and cloned for every recorded call).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct SeriesKey {
    operation: &'static str,
    provider: Str,
    request_model: Option<Str>,
    response_model: Option<Str>,
    feature: Option<Str>,
    server_address: Option<Str>,
    error_type: Option<Str>,
    /// `input` / `output` for token usage, empty otherwise.
    token_type: &'static str,
}

impl SeriesKey {
    fn attributes(&self) -> Vec<PKeyValue> {
        let mut a = vec![
            kv_str(keys::GEN_AI_OPERATION_NAME, self.operation),
            kv_str(keys::GEN_AI_PROVIDER_NAME, &self.provider),
        ];
        let mut opt = |k: &str, v: &Option<Str>| {
            if let Some(v) = v {
                a.push(kv_str(k, v));
            }
        };
        opt(keys::GEN_AI_REQUEST_MODEL, &self.request_model);
        opt(keys::GEN_AI_RESPONSE_MODEL, &self.response_model);
        opt(keys::FEATURE_NAME, &self.feature);
        opt(keys::SERVER_ADDRESS, &self.server_address);
        opt(keys::ERROR_TYPE, &self.error_type);
        if !self.token_type.is_empty() {
            a.push(kv_str("gen_ai.token.type", self.token_type));
        }
        a
    }
}

#[derive(Debug, Clone)]
struct Hist {
    bounds: &'static [f64],
    counts: Vec<u64>,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Hist {
    fn new(bounds: &'static [f64]) -> Self {
        Hist {
            bounds,
            counts: vec![0; bounds.len() + 1],
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    fn record(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        let i = self
            .bounds
            .iter()
            .position(|b| v <= *b)
            .unwrap_or(self.bounds.len());
        self.counts[i] += 1;
        self.count += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }
}

/// Cumulative aggregation of the GenAI client instruments. Bounded: at most
/// `MAX_SERIES` attribute sets per instrument (beyond, points are counted in
/// an overflow series, as OTel's cardinality limit does).
#[derive(Debug)]
pub struct Aggregator {
    start_unix_nanos: u64,
    tokens: HashMap<SeriesKey, Hist, FastState>,
    duration: HashMap<SeriesKey, Hist, FastState>,
    ttfc: HashMap<SeriesKey, Hist, FastState>,
    cost: HashMap<SeriesKey, f64, FastState>,
    dirty: bool,
}

pub const MAX_SERIES: usize = 2000;

fn overflow_key() -> SeriesKey {
    SeriesKey {
        operation: "_OTHER",
        provider: "_OTHER".into(),
        request_model: None,
        response_model: None,
        feature: None,
        server_address: None,
        error_type: None,
        token_type: "",
    }
}

fn slot<T>(
    map: &mut HashMap<SeriesKey, T, FastState>,
    key: SeriesKey,
    new: impl Fn() -> T,
) -> &mut T {
    let key = if map.len() >= MAX_SERIES && !map.contains_key(&key) {
        SeriesKey {
            token_type: key.token_type,
            ..overflow_key()
        }
    } else {
        key
    };
    map.entry(key).or_insert_with(new)
}

impl Default for Aggregator {
    fn default() -> Self {
        Self::new()
    }
}

impl Aggregator {
    pub fn new() -> Self {
        Aggregator {
            start_unix_nanos: crate::model::now_unix_nanos(),
            tokens: HashMap::default(),
            duration: HashMap::default(),
            ttfc: HashMap::default(),
            cost: HashMap::default(),
            dirty: false,
        }
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Forces the next `export` (after one that did not get through).
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// Records the model call of `r` (after enrichment: cost is an attribute).
    pub fn record(&mut self, r: &SpanRecord) {
        let Some(call) = r.llm.as_deref() else {
            return;
        };
        if !call.operation.is_inference() {
            return;
        }
        let attr = |k: &str| {
            r.attributes
                .iter()
                .rev()
                .find(|kv| kv.key.as_ref() == k)
                .map(|kv| &kv.value)
        };
        let feature = match attr(keys::FEATURE_NAME) {
            Some(Value::Str(s)) => Some(s.clone()),
            _ => None,
        };
        let base = SeriesKey {
            operation: call.operation.as_str(),
            provider: call.provider.clone(),
            request_model: call.request_model.clone(),
            response_model: call.response_model.clone(),
            feature,
            server_address: call.server_address.clone(),
            error_type: None,
            token_type: "",
        };
        if let Some(i) = call.usage.input_tokens {
            let k = SeriesKey {
                token_type: "input",
                ..base.clone()
            };
            slot(&mut self.tokens, k, || Hist::new(&TOKEN_BOUNDS)).record(i as f64);
        }
        if let Some(o) = call.usage.output_tokens {
            let k = SeriesKey {
                token_type: "output",
                ..base.clone()
            };
            slot(&mut self.tokens, k, || Hist::new(&TOKEN_BOUNDS)).record(o as f64);
        }
        let mut dkey = base.clone();
        dkey.error_type = call.error.as_ref().map(|e| e.error_type.clone());
        slot(&mut self.duration, dkey, || Hist::new(&SECONDS_BOUNDS))
            .record(r.duration_nanos() as f64 / 1e9);
        if let Some(t) = call.time_to_first_token_ns {
            slot(&mut self.ttfc, base.clone(), || Hist::new(&SECONDS_BOUNDS))
                .record(t as f64 / 1e9);
        }
        if let Some(Value::Float(c)) = attr(keys::TOKENTRACE_COST_TOTAL_USD)
            && c.is_finite()
            && *c >= 0.0
        {
            *slot(&mut self.cost, base, || 0.0) += c;
        }
        self.dirty = true;
    }

    fn histogram(
        name: &str,
        unit: &str,
        desc: &str,
        map: &HashMap<SeriesKey, Hist, FastState>,
        start: u64,
        now: u64,
    ) -> Option<Metric> {
        if map.is_empty() {
            return None;
        }
        let mut keys: Vec<&SeriesKey> = map.keys().collect();
        keys.sort();
        let data_points = keys
            .into_iter()
            .map(|k| {
                let h = &map[k];
                HistogramDataPoint {
                    attributes: k.attributes(),
                    start_time_unix_nano: start,
                    time_unix_nano: now,
                    count: h.count,
                    sum: Some(h.sum),
                    bucket_counts: h.counts.clone(),
                    explicit_bounds: h.bounds.to_vec(),
                    exemplars: Vec::new(),
                    flags: 0,
                    min: (h.count > 0).then_some(h.min),
                    max: (h.count > 0).then_some(h.max),
                }
            })
            .collect();
        Some(Metric {
            name: name.into(),
            description: desc.into(),
            unit: unit.into(),
            metadata: Vec::new(),
            data: Some(metric::Data::Histogram(Histogram {
                data_points,
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
            })),
        })
    }

    /// The cumulative state as one OTLP request (`None` when nothing was recorded).
    pub fn export(
        &mut self,
        resource: &Resource,
        scope: &InstrumentationScope,
    ) -> Option<ExportMetricsServiceRequest> {
        if !self.dirty {
            return None;
        }
        self.dirty = false;
        let now = crate::model::now_unix_nanos();
        let start = self.start_unix_nanos;
        let mut metrics = Vec::new();
        metrics.extend(Self::histogram(
            TOKEN_USAGE,
            "{token}",
            "Number of input and output tokens used",
            &self.tokens,
            start,
            now,
        ));
        metrics.extend(Self::histogram(
            OPERATION_DURATION,
            "s",
            "GenAI operation duration",
            &self.duration,
            start,
            now,
        ));
        metrics.extend(Self::histogram(
            TIME_TO_FIRST_CHUNK,
            "s",
            "Time to receive the first chunk of a streamed response",
            &self.ttfc,
            start,
            now,
        ));
        if !self.cost.is_empty() {
            let mut keys: Vec<&SeriesKey> = self.cost.keys().collect();
            keys.sort();
            let data_points = keys
                .into_iter()
                .map(|k| NumberDataPoint {
                    attributes: k.attributes(),
                    start_time_unix_nano: start,
                    time_unix_nano: now,
                    exemplars: Vec::new(),
                    flags: 0,
                    value: Some(number_data_point::Value::AsDouble(self.cost[k])),
                })
                .collect();
            metrics.push(Metric {
                name: COST.into(),
                description: "Estimated cost of model calls from the price table".into(),
                unit: "USD".into(),
                metadata: Vec::new(),
                data: Some(metric::Data::Sum(Sum {
                    data_points,
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                    is_monotonic: true,
                })),
            });
        }
        Some(ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(resource.clone()),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(scope.clone()),
                    metrics,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn call(model: &str, input: u64, output: u64, cost: f64, feature: &str) -> SpanRecord {
        let mut r = SpanRecord::new("chat");
        r.start_unix_nanos = 0;
        r.end_unix_nanos = 1_500_000_000;
        let mut c = LlmCall::new("openai", Operation::Chat);
        c.request_model = Some(model.into());
        c.usage.input_tokens = Some(input);
        c.usage.output_tokens = Some(output);
        c.time_to_first_token_ns = Some(200_000_000);
        r.llm = Some(Box::new(c));
        r.attributes
            .push(KeyValue::new(keys::TOKENTRACE_COST_TOTAL_USD, cost));
        r.attributes
            .push(KeyValue::new(keys::FEATURE_NAME, feature));
        r
    }

    #[test]
    fn aggregates_by_series_cumulatively() {
        let mut a = Aggregator::new();
        assert!(
            a.export(&Resource::default(), &InstrumentationScope::default())
                .is_none()
        );
        a.record(&call("gpt-4o", 100, 10, 0.5, "qa"));
        a.record(&call("gpt-4o", 300, 30, 0.25, "qa"));
        a.record(&call("gpt-4o-mini", 5, 1, 0.01, "search"));
        let req = a
            .export(&Resource::default(), &InstrumentationScope::default())
            .unwrap();
        let metrics = &req.resource_metrics[0].scope_metrics[0].metrics;
        let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            vec![TOKEN_USAGE, OPERATION_DURATION, TIME_TO_FIRST_CHUNK, COST]
        );
        let Some(metric::Data::Histogram(h)) = &metrics[0].data else {
            panic!()
        };
        assert_eq!(h.data_points.len(), 4, "2 models × input/output");
        let input_4o = h
            .data_points
            .iter()
            .find(|p| p.count == 2 && p.sum == Some(400.0))
            .expect("gpt-4o input series");
        assert_eq!(input_4o.bucket_counts.iter().sum::<u64>(), 2);
        assert_eq!((input_4o.min, input_4o.max), (Some(100.0), Some(300.0)));
        let Some(metric::Data::Sum(s)) = &metrics[3].data else {
            panic!()
        };
        assert!(s.is_monotonic);
        let total: f64 = s
            .data_points
            .iter()
            .map(|p| match p.value {
                Some(number_data_point::Value::AsDouble(v)) => v,
                _ => 0.0,
            })
            .sum();
        assert!((total - 0.76).abs() < 1e-9);
        // Cumulative: nothing new → nothing to send; new data → totals grow.
        assert!(
            a.export(&Resource::default(), &InstrumentationScope::default())
                .is_none()
        );
        a.record(&call("gpt-4o", 100, 10, 0.5, "qa"));
        let req = a
            .export(&Resource::default(), &InstrumentationScope::default())
            .unwrap();
        let Some(metric::Data::Histogram(h)) =
            &req.resource_metrics[0].scope_metrics[0].metrics[0].data
        else {
            panic!()
        };
        assert!(h.data_points.iter().any(|p| p.count == 3));
    }

    #[test]
    fn cardinality_is_bounded() {
        let mut a = Aggregator::new();
        for i in 0..(MAX_SERIES + 500) {
            a.record(&call(&format!("m{i}"), 1, 1, 0.0, "f"));
        }
        assert!(a.duration.len() <= MAX_SERIES + 1);
        assert!(a.duration.contains_key(&overflow_key()));
    }
}
