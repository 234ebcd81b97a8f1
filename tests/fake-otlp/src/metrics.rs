//! Reading accepted metrics: requests flattened to metrics with their resource and scope,
//! and metrics flattened to data points, so a test can assert on a histogram's buckets or a
//! counter's value without walking the OTLP tree.

use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogramDataPoint, HistogramDataPoint, Metric,
    NumberDataPoint, SummaryDataPoint, metric, number_data_point,
};

use crate::capture::{ReceivedMetrics, find_attribute};

impl ReceivedMetrics {
    /// The request's metrics flattened with their resource attributes and scope name.
    pub fn metrics(&self) -> Vec<ReceivedMetric> {
        let mut out = Vec::new();
        for rm in &self.request.resource_metrics {
            let resource = rm
                .resource
                .as_ref()
                .map(|r| r.attributes.clone())
                .unwrap_or_default();
            for sm in &rm.scope_metrics {
                let scope_name = sm
                    .scope
                    .as_ref()
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                for metric in &sm.metrics {
                    out.push(ReceivedMetric {
                        resource: resource.clone(),
                        scope_name: scope_name.clone(),
                        metric: metric.clone(),
                    });
                }
            }
        }
        out
    }

    /// Number of metrics in this request.
    pub fn metric_count(&self) -> usize {
        self.request
            .resource_metrics
            .iter()
            .flat_map(|rm| &rm.scope_metrics)
            .map(|sm| sm.metrics.len())
            .sum()
    }

    /// Number of data points in this request (the unit OTLP partial success counts in).
    pub fn data_point_count(&self) -> usize {
        self.request
            .resource_metrics
            .iter()
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .map(data_point_count)
            .sum()
    }
}

fn data_point_count(metric: &Metric) -> usize {
    match &metric.data {
        Some(metric::Data::Gauge(g)) => g.data_points.len(),
        Some(metric::Data::Sum(s)) => s.data_points.len(),
        Some(metric::Data::Histogram(h)) => h.data_points.len(),
        Some(metric::Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(metric::Data::Summary(s)) => s.data_points.len(),
        None => 0,
    }
}

/// A metric with the context it arrived in.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMetric {
    /// Attributes of the metric's resource.
    pub resource: Vec<KeyValue>,
    /// Name of the instrumentation scope (meter) the metric was reported under.
    pub scope_name: String,
    pub metric: Metric,
}

impl ReceivedMetric {
    /// Value of resource attribute `key`.
    pub fn resource_attribute(&self, key: &str) -> Option<&any_value::Value> {
        find_attribute(&self.resource, key)
    }

    /// Aggregation temporality of a sum, histogram or exponential histogram; `None` for
    /// gauges, summaries and values outside the enum.
    pub fn temporality(&self) -> Option<AggregationTemporality> {
        let raw = match &self.metric.data {
            Some(metric::Data::Sum(s)) => s.aggregation_temporality,
            Some(metric::Data::Histogram(h)) => h.aggregation_temporality,
            Some(metric::Data::ExponentialHistogram(h)) => h.aggregation_temporality,
            _ => return None,
        };
        AggregationTemporality::try_from(raw).ok()
    }

    /// The metric's data points, in order.
    pub fn points(&self) -> Vec<MetricPoint> {
        match &self.metric.data {
            Some(metric::Data::Gauge(g)) => g
                .data_points
                .iter()
                .cloned()
                .map(MetricPoint::Gauge)
                .collect(),
            Some(metric::Data::Sum(s)) => s
                .data_points
                .iter()
                .cloned()
                .map(MetricPoint::Sum)
                .collect(),
            Some(metric::Data::Histogram(h)) => h
                .data_points
                .iter()
                .cloned()
                .map(MetricPoint::Histogram)
                .collect(),
            Some(metric::Data::ExponentialHistogram(h)) => h
                .data_points
                .iter()
                .cloned()
                .map(MetricPoint::ExponentialHistogram)
                .collect(),
            Some(metric::Data::Summary(s)) => s
                .data_points
                .iter()
                .cloned()
                .map(MetricPoint::Summary)
                .collect(),
            None => Vec::new(),
        }
    }
}

/// One data point, tagged with the kind of metric it belongs to. The accessors cover what
/// tests usually check; the wrapped OTLP point has everything else.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricPoint {
    Gauge(NumberDataPoint),
    Sum(NumberDataPoint),
    Histogram(HistogramDataPoint),
    ExponentialHistogram(ExponentialHistogramDataPoint),
    Summary(SummaryDataPoint),
}

impl MetricPoint {
    /// The point's attributes (its time series identity).
    pub fn attributes(&self) -> &[KeyValue] {
        match self {
            MetricPoint::Gauge(p) | MetricPoint::Sum(p) => &p.attributes,
            MetricPoint::Histogram(p) => &p.attributes,
            MetricPoint::ExponentialHistogram(p) => &p.attributes,
            MetricPoint::Summary(p) => &p.attributes,
        }
    }

    /// Value of point attribute `key`.
    pub fn attribute(&self, key: &str) -> Option<&any_value::Value> {
        find_attribute(self.attributes(), key)
    }

    /// Whether point attribute `key` is the string `value`; handy to pick one series, e.g.
    /// `gen_ai.token.type = input`.
    pub fn has_attribute(&self, key: &str, value: &str) -> bool {
        matches!(self.attribute(key), Some(any_value::Value::StringValue(s)) if s == value)
    }

    /// Gauge or sum value sent as `as_double`.
    pub fn as_double(&self) -> Option<f64> {
        match self.number()?.value? {
            number_data_point::Value::AsDouble(v) => Some(v),
            number_data_point::Value::AsInt(_) => None,
        }
    }

    /// Gauge or sum value sent as `as_int`.
    pub fn as_int(&self) -> Option<i64> {
        match self.number()?.value? {
            number_data_point::Value::AsInt(v) => Some(v),
            number_data_point::Value::AsDouble(_) => None,
        }
    }

    /// Gauge or sum value as `f64`, whichever way it was sent.
    pub fn value(&self) -> Option<f64> {
        match self.number()?.value? {
            number_data_point::Value::AsDouble(v) => Some(v),
            number_data_point::Value::AsInt(v) => Some(v as f64),
        }
    }

    /// The explicit-bucket histogram point (count, sum, bucket_counts, explicit_bounds, min,
    /// max), if this is one.
    pub fn histogram(&self) -> Option<&HistogramDataPoint> {
        match self {
            MetricPoint::Histogram(p) => Some(p),
            _ => None,
        }
    }

    /// Number of recorded values, for histograms and summaries.
    pub fn count(&self) -> Option<u64> {
        match self {
            MetricPoint::Histogram(p) => Some(p.count),
            MetricPoint::ExponentialHistogram(p) => Some(p.count),
            MetricPoint::Summary(p) => Some(p.count),
            MetricPoint::Gauge(_) | MetricPoint::Sum(_) => None,
        }
    }

    /// Sum of recorded values, for histograms (when sent) and summaries.
    pub fn sum(&self) -> Option<f64> {
        match self {
            MetricPoint::Histogram(p) => p.sum,
            MetricPoint::ExponentialHistogram(p) => p.sum,
            MetricPoint::Summary(p) => Some(p.sum),
            MetricPoint::Gauge(_) | MetricPoint::Sum(_) => None,
        }
    }

    /// End of the point's time window.
    pub fn time_unix_nano(&self) -> u64 {
        match self {
            MetricPoint::Gauge(p) | MetricPoint::Sum(p) => p.time_unix_nano,
            MetricPoint::Histogram(p) => p.time_unix_nano,
            MetricPoint::ExponentialHistogram(p) => p.time_unix_nano,
            MetricPoint::Summary(p) => p.time_unix_nano,
        }
    }

    fn number(&self) -> Option<&NumberDataPoint> {
        match self {
            MetricPoint::Gauge(p) | MetricPoint::Sum(p) => Some(p),
            _ => None,
        }
    }
}
