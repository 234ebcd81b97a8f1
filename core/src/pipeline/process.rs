//! Records → encoded OTLP batches, on the worker: provider parsing,
//! enrichment, redaction, signals, metrics, limits, then each span written
//! straight into the batch's request bodies, split by their exact size so no
//! request exceeds the receiver's limit (a 512-span batch of 7 KB prompts is
//! over the common 4 MiB gRPC limit and would be rejected whole).

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::sync::atomic::Ordering::Relaxed;

use super::stats::Counters;
use crate::config::Config;
use crate::cost::{self, CallCost, PriceMemo, PriceTable};
use crate::export::ExportBatch;
use crate::export::encode::{Encoders, Encodings};
use crate::limits;
use crate::model::SpanRecord;
use crate::semconv::{self, MapOptions};

pub(crate) struct Processor {
    pub resource: Resource,
    pub scope: InstrumentationScope,
    opts: MapOptions,
    limits: crate::config::Limits,
    signals: crate::signals::SignalConfig,
    prices: std::borrow::Cow<'static, PriceTable>,
    price_memo: std::cell::RefCell<PriceMemo>,
    redactor: Option<std::sync::Arc<crate::redact::Redactor>>,
    redact_cache: std::cell::RefCell<super::redaction::Cache>,
    encoders: std::cell::RefCell<Encoders>,
    capture_content: bool,
    max_batch_bytes: usize,
}

impl Processor {
    /// `want`: the request bodies the exporters read.
    pub fn new(config: &Config, sdk_language: &str, want: Encodings) -> Self {
        let resource = semconv::resource(&config.resource, sdk_language);
        let scope = semconv::scope();
        let encoders = Encoders::new(&resource, &scope, want).unwrap_or_else(|e| {
            // Unreachable in practice (serialising two small structs); the
            // JSON exporters then fail each batch, counted, instead of the worker.
            crate::diag::warn_once(
                "Exporter.EncoderFailed",
                &format!("cannot prepare the OTLP-JSON encoder: {e}"),
            );
            Encoders::protobuf_only(&resource, &scope, want)
        });
        Processor {
            encoders: std::cell::RefCell::new(encoders),
            resource,
            scope,
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
            price_memo: std::cell::RefCell::new(PriceMemo::default()),
            max_batch_bytes: config.batch.max_batch_bytes,
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
        let priced = self.price_memo.borrow_mut().price_call(&self.prices, call);
        match priced {
            CallCost::Priced(c) => call.cost = Some(c),
            CallCost::UnknownModel => {
                counters.cost_unknown_model.fetch_add(1, Relaxed);
            }
            CallCost::NoUsage => {}
        }
    }

    /// Takes back the buffers of a sent batch for the next one.
    pub fn recycle(&self, batch: ExportBatch) {
        if let Ok(mut e) = self.encoders.try_borrow_mut() {
            e.recycle(batch, self.max_batch_bytes);
        }
    }

    /// Maps `records` into one or more batches under the byte budget.
    pub fn process(
        &self,
        records: Vec<SpanRecord>,
        approx_bytes: usize,
        counters: &Counters,
        mut metrics: Option<&mut crate::metrics::Aggregator>,
    ) -> Vec<ExportBatch> {
        let mut encoders = self.encoders.borrow_mut();
        let mut batches = encoders.batches(self.max_batch_bytes.max(1), approx_bytes);
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
            let header =
                semconv::span_header(&r, applied.attributes_dropped, applied.events_dropped);
            batches.push(&r, self.opts, &header);
        }
        batches.finish()
    }
}
