//! Records → OTLP batches, on the worker: limits, mapping, and splitting by
//! encoded size so no request exceeds the receiver's limit (a 512-span batch
//! of 7 KB prompts is over the common 4 MiB gRPC limit and would be rejected
//! whole).

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use std::sync::atomic::Ordering::Relaxed;

use super::stats::Counters;
use crate::config::Config;
use crate::cost::{self, CallCost, PriceTable};
use crate::export::ExportBatch;
use crate::limits;
use crate::model::{KeyValue, SpanRecord};
use crate::semconv::keys;
use crate::semconv::{self, MapOptions};

/// Bytes of request framing around the spans (resource, scope, tags).
const FRAMING_BYTES: usize = 4096;

pub(crate) struct Processor {
    pub resource: Resource,
    pub scope: InstrumentationScope,
    opts: MapOptions,
    limits: crate::config::Limits,
    signals: crate::signals::SignalConfig,
    prices: std::borrow::Cow<'static, PriceTable>,
    redactor: Option<std::sync::Arc<crate::redact::Redactor>>,
    redact_cache: std::cell::RefCell<super::redaction::Cache>,
    capture_content: bool,
    max_batch_bytes: usize,
}

impl Processor {
    pub fn new(config: &Config, sdk_language: &str) -> Self {
        Processor {
            resource: semconv::resource(&config.resource, sdk_language),
            scope: semconv::scope(),
            opts: MapOptions {
                capture_content: config.capture_content,
                semconv: config.semconv,
            },
            limits: config.limits.clone(),
            signals: config.signals.clone(),
            redactor: config.redactor.as_ref().map(|h| h.0.clone()),
            redact_cache: std::cell::RefCell::new(super::redaction::Cache::new()),
            capture_content: config.capture_content,
            prices: match &config.price_overrides {
                Some(o) => std::borrow::Cow::Owned(PriceTable::builtin().with_overrides(&o.0)),
                None => std::borrow::Cow::Borrowed(PriceTable::builtin()),
            },
            max_batch_bytes: config.batch.max_batch_bytes,
        }
    }

    fn request(&self, spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(self.resource.clone()),
                scope_spans: vec![ScopeSpans {
                    scope: Some(self.scope.clone()),
                    spans,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }

    /// Token estimates when the provider sent no usage, then cost.
    fn enrich(&self, r: &mut SpanRecord, counters: &Counters) {
        let Some(call) = r.llm.as_deref_mut() else {
            return;
        };
        if !call.operation.is_inference() {
            return;
        }
        if call.usage.is_empty()
            && call.error.is_none()
            && let Some(u) = cost::estimate_usage(call)
        {
            call.usage = u;
        }
        match self.prices.price_call(call) {
            CallCost::Priced(c) => {
                r.attributes
                    .push(KeyValue::new(keys::TOKENTRACE_COST_INPUT_USD, c.input_usd));
                r.attributes.push(KeyValue::new(
                    keys::TOKENTRACE_COST_OUTPUT_USD,
                    c.output_usd,
                ));
                r.attributes
                    .push(KeyValue::new(keys::TOKENTRACE_COST_TOTAL_USD, c.total_usd));
            }
            CallCost::UnknownModel => {
                counters.cost_unknown_model.fetch_add(1, Relaxed);
            }
            CallCost::NoUsage => {}
        }
    }

    /// Maps `records` into one or more batches under the byte budget.
    pub fn process(
        &self,
        records: Vec<SpanRecord>,
        counters: &Counters,
        mut metrics: Option<&mut crate::metrics::Aggregator>,
    ) -> Vec<ExportBatch> {
        let budget = self.max_batch_bytes.saturating_sub(FRAMING_BYTES).max(1);
        let mut batches = Vec::new();
        let mut spans: Vec<Span> = Vec::with_capacity(records.len());
        let mut bytes = 0usize;
        for mut r in records {
            if let Some(ex) = r.exchange.take() {
                let mut call = crate::providers::parse_exchange(&ex);
                if let Some(first) = ex.first_chunk_unix_nanos {
                    call.time_to_first_token_ns = Some(first.saturating_sub(r.start_unix_nanos));
                }
                r.llm = Some(Box::new(call));
            }
            self.enrich(&mut r, counters);
            if let Some(red) = &self.redactor {
                super::redaction::apply(
                    red,
                    &mut self.redact_cache.borrow_mut(),
                    &mut r,
                    self.capture_content,
                );
            }
            crate::signals::annotate(&mut r, &self.signals);
            if let Some(m) = metrics.as_deref_mut() {
                m.record(&r);
            }
            let applied = limits::apply(&mut r, &self.limits);
            if applied.attributes_dropped > 0 {
                counters
                    .attributes_dropped
                    .fetch_add(applied.attributes_dropped as u64, Relaxed);
            }
            if applied.values_truncated > 0 {
                counters
                    .attributes_truncated
                    .fetch_add(applied.values_truncated as u64, Relaxed);
            }
            if applied.events_dropped > 0 {
                counters
                    .events_dropped
                    .fetch_add(applied.events_dropped as u64, Relaxed);
            }
            let span = semconv::to_proto_span(
                &r,
                self.opts,
                applied.attributes_dropped,
                applied.events_dropped,
            );
            // Length-delimited field overhead is at most 6 bytes per span.
            let len = span.encoded_len() + 6;
            if !spans.is_empty() && bytes + len > budget {
                let n = spans.len();
                batches.push(ExportBatch {
                    request: self.request(std::mem::take(&mut spans)),
                    span_count: n,
                });
                bytes = 0;
            }
            bytes += len;
            spans.push(span);
        }
        if !spans.is_empty() {
            let n = spans.len();
            batches.push(ExportBatch {
                request: self.request(spans),
                span_count: n,
            });
        }
        batches
    }
}
