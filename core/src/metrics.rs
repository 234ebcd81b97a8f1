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
use crate::model::{LlmCall, SpanRecord, Str, Value};
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
    /// Whether this is the shared attribute set (no token or error type)
    /// of `call` with `feature`.
    fn is_base_of(&self, call: &LlmCall, feature: Option<&Str>) -> bool {
        self.token_type.is_empty()
            && self.error_type.is_none()
            && self.operation == call.operation.as_str()
            && self.provider == call.provider
            && self.request_model == call.request_model
            && self.response_model == call.response_model
            && self.feature.as_ref() == feature
            && self.server_address == call.server_address
    }

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
///
/// A call's instruments share one attribute set but for the token type and
/// the error type, so series are grouped by that shared set: a record costs
/// one hash lookup of its attributes instead of one per instrument.
#[derive(Debug)]
pub struct Aggregator {
    start_unix_nanos: u64,
    /// Shared attribute sets (`token_type` empty, no `error_type`) → index
    /// into `groups`.
    ids: HashMap<SeriesKey, usize, FastState>,
    groups: Vec<Group>,
    /// The last call's group: consecutive calls mostly share their
    /// attributes (one model, one feature), and comparing the key costs a
    /// fraction of hashing it.
    last: Option<usize>,
    /// Series per instrument (`TOKENS`, `DURATION`, `TTFC`, `COST_SUM`).
    counts: [usize; 4],
    dirty: bool,
}

const TOKENS: usize = 0;
const DURATION: usize = 1;
const TTFC: usize = 2;
const COST_SUM: usize = 3;

/// The series of one shared attribute set.
#[derive(Debug)]
struct Group {
    key: SeriesKey,
    /// `gen_ai.token.type` input, output.
    tokens: [Option<Hist>; 2],
    /// By `error.type`.
    duration: Vec<(Option<Str>, Hist)>,
    ttfc: Option<Hist>,
    cost: Option<f64>,
}

impl Group {
    fn new(key: SeriesKey) -> Self {
        Group {
            key,
            tokens: [None, None],
            duration: Vec::new(),
            ttfc: None,
            cost: None,
        }
    }
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

/// The per-instrument view the export is built from.
type Series<T> = HashMap<SeriesKey, T, FastState>;

impl Default for Aggregator {
    fn default() -> Self {
        Self::new()
    }
}

impl Aggregator {
    pub fn new() -> Self {
        Aggregator {
            start_unix_nanos: crate::model::now_unix_nanos(),
            ids: HashMap::default(),
            groups: Vec::new(),
            last: None,
            counts: [0; 4],
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

    /// The group of the overflow series (created on first use; its series
    /// count toward their instruments like any other).
    fn overflow_group(&mut self) -> usize {
        let key = overflow_key();
        if let Some(&i) = self.ids.get(&key) {
            return i;
        }
        self.groups.push(Group::new(key.clone()));
        self.ids.insert(key, self.groups.len() - 1);
        self.groups.len() - 1
    }

    /// The series of instrument `inst` in group `g` (picked by `get`), or the
    /// overflow group's when it is new and the instrument is full.
    fn slot<T>(
        &mut self,
        g: usize,
        inst: usize,
        get: impl Fn(&mut Group) -> &mut Option<T>,
        new: impl FnOnce() -> T,
    ) -> &mut T {
        let g = if get(&mut self.groups[g]).is_none() && self.counts[inst] >= MAX_SERIES {
            self.overflow_group()
        } else {
            g
        };
        let slot = get(&mut self.groups[g]);
        if slot.is_none() {
            self.counts[inst] += 1;
        }
        slot.get_or_insert_with(new)
    }

    /// The duration series of group `g` for `error`, as [`slot`](Self::slot).
    fn duration_slot(&mut self, g: usize, error: Option<Str>) -> &mut Hist {
        let known = self.groups[g].duration.iter().any(|(e, _)| *e == error);
        let (g, error) = if !known && self.counts[DURATION] >= MAX_SERIES {
            (self.overflow_group(), None)
        } else {
            (g, error)
        };
        let series = &mut self.groups[g].duration;
        let i = match series.iter().position(|(e, _)| *e == error) {
            Some(i) => i,
            None => {
                self.counts[DURATION] += 1;
                series.push((error, Hist::new(&SECONDS_BOUNDS)));
                series.len() - 1
            }
        };
        &mut series[i].1
    }

    /// The group of the shared attribute set `base`, made when it is new and
    /// some instrument the call records still has room for it.
    fn group_of(&mut self, base: SeriesKey, call: &LlmCall, priced: bool) -> usize {
        if let Some(&g) = self.ids.get(&base) {
            return g;
        }
        let room = |inst: usize| self.counts[inst] < MAX_SERIES;
        let usage = call.usage.input_tokens.is_some() || call.usage.output_tokens.is_some();
        if (usage && room(TOKENS))
            || room(DURATION)
            || (call.time_to_first_token_ns.is_some() && room(TTFC))
            || (priced && room(COST_SUM))
        {
            self.groups.push(Group::new(base.clone()));
            self.ids.insert(base, self.groups.len() - 1);
            self.groups.len() - 1
        } else {
            self.overflow_group()
        }
    }

    /// Records the model call of `r` (after enrichment, which prices it).
    pub fn record(&mut self, r: &SpanRecord) {
        let Some(call) = r.llm.as_deref() else {
            return;
        };
        if !call.operation.is_inference() {
            return;
        }
        let feature = match r
            .attributes
            .iter()
            .rev()
            .find(|kv| kv.key.as_ref() == keys::FEATURE_NAME)
            .map(|kv| &kv.value)
        {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        };
        let cost = call
            .cost
            .map(|c| c.total_usd)
            .filter(|c| c.is_finite() && *c >= 0.0);
        // The last group is compared in place: building the key clones five
        // shared strings (ten atomic operations, with the drops) per call.
        let g = match self
            .last
            .filter(|&g| self.groups[g].key.is_base_of(call, feature))
        {
            Some(g) => g,
            None => {
                let base = SeriesKey {
                    operation: call.operation.as_str(),
                    provider: call.provider.clone(),
                    request_model: call.request_model.clone(),
                    response_model: call.response_model.clone(),
                    feature: feature.cloned(),
                    server_address: call.server_address.clone(),
                    error_type: None,
                    token_type: "",
                };
                self.group_of(base, call, cost.is_some())
            }
        };
        self.last = Some(g);
        for (i, n) in [call.usage.input_tokens, call.usage.output_tokens]
            .into_iter()
            .enumerate()
        {
            if let Some(n) = n {
                self.slot(g, TOKENS, |s| &mut s.tokens[i], || Hist::new(&TOKEN_BOUNDS))
                    .record(n as f64);
            }
        }
        let error = call.error.as_ref().map(|e| e.error_type.clone());
        self.duration_slot(g, error)
            .record(r.duration_nanos() as f64 / 1e9);
        if let Some(t) = call.time_to_first_token_ns {
            self.slot(g, TTFC, |s| &mut s.ttfc, || Hist::new(&SECONDS_BOUNDS))
                .record(t as f64 / 1e9);
        }
        if let Some(c) = cost {
            *self.slot(g, COST_SUM, |s| &mut s.cost, || 0.0) += c;
        }
        self.dirty = true;
    }

    /// The series of every instrument, keyed by their full attribute sets.
    fn series(&self) -> [Series<Hist>; 3] {
        let mut tokens = Series::default();
        let mut duration = Series::default();
        let mut ttfc = Series::default();
        for g in &self.groups {
            for (h, token_type) in g.tokens.iter().zip(["input", "output"]) {
                if let Some(h) = h {
                    let key = SeriesKey {
                        token_type,
                        ..g.key.clone()
                    };
                    tokens.insert(key, h.clone());
                }
            }
            for (error, h) in &g.duration {
                let key = SeriesKey {
                    error_type: error.clone(),
                    ..g.key.clone()
                };
                duration.insert(key, h.clone());
            }
            if let Some(h) = &g.ttfc {
                ttfc.insert(g.key.clone(), h.clone());
            }
        }
        [tokens, duration, ttfc]
    }

    fn cost_series(&self) -> Series<f64> {
        self.groups
            .iter()
            .filter_map(|g| Some((g.key.clone(), g.cost?)))
            .collect()
    }

    fn histogram(
        name: &str,
        unit: &str,
        desc: &str,
        map: &Series<Hist>,
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
        let [tokens, duration, ttfc] = self.series();
        let cost = self.cost_series();
        let mut metrics = Vec::new();
        metrics.extend(Self::histogram(
            TOKEN_USAGE,
            "{token}",
            "Number of input and output tokens used",
            &tokens,
            start,
            now,
        ));
        metrics.extend(Self::histogram(
            OPERATION_DURATION,
            "s",
            "GenAI operation duration",
            &duration,
            start,
            now,
        ));
        metrics.extend(Self::histogram(
            TIME_TO_FIRST_CHUNK,
            "s",
            "Time to receive the first chunk of a streamed response",
            &ttfc,
            start,
            now,
        ));
        if !cost.is_empty() {
            let mut keys: Vec<&SeriesKey> = cost.keys().collect();
            keys.sort();
            let data_points = keys
                .into_iter()
                .map(|k| NumberDataPoint {
                    attributes: k.attributes(),
                    start_time_unix_nano: start,
                    time_unix_nano: now,
                    exemplars: Vec::new(),
                    flags: 0,
                    value: Some(number_data_point::Value::AsDouble(cost[k])),
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
        c.cost = Some(crate::cost::Cost {
            total_usd: cost,
            ..Default::default()
        });
        r.llm = Some(Box::new(c));
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
        // A known set after overflowing ones still lands in its own series.
        a.record(&call("m0", 1, 1, 0.0, "f"));
        let m0 = a
            .groups
            .iter()
            .find(|g| g.key.request_model.as_deref() == Some("m0"));
        assert_eq!(m0.map(|g| g.duration[0].1.count), Some(2));
        let [tokens, duration, _] = a.series();
        assert_eq!(duration.len(), MAX_SERIES + 1);
        assert!(duration.contains_key(&overflow_key()));
        assert_eq!(tokens.len(), MAX_SERIES + 2, "input and output overflow");
        assert!(a.groups.len() <= MAX_SERIES + 1);
    }
}
