//! The tracer handle and the pipeline behind it: queue → worker → exporters.

mod fork;
mod process;
mod redaction;
pub mod stats;
mod worker;

use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use crate::config::{Config, ExporterKind};
use crate::error::{Error, LifecycleError};
use crate::export::memory::{FinishedSpan, MemoryExporter, MemoryStore};
use crate::export::{ExportBatch, SpanExporter};
use crate::model::{SpanRecord, TraceId};
use crate::queue::{PushError, RecordQueue};
use crate::sample::ParentSampling;
use stats::{Counters, DropReason, ExporterStats, Stats};

pub use fork::fork_epoch;

/// Builds an exporter inside the worker's runtime. Called again whenever the
/// worker restarts (after a panic or a fork), since HTTP clients and gRPC
/// channels must not outlive their runtime.
pub trait ExporterFactory: Send + Sync {
    fn build(&self) -> Result<Arc<dyn SpanExporter>, String>;
}

impl<F> ExporterFactory for F
where
    F: Fn() -> Result<Arc<dyn SpanExporter>, String> + Send + Sync,
{
    fn build(&self) -> Result<Arc<dyn SpanExporter>, String> {
        self()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum WorkerState {
    NotStarted = 0,
    Running = 1,
    Paused = 2,
    Stopped = 3,
}

impl WorkerState {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => WorkerState::NotStarted,
            1 => WorkerState::Running,
            2 => WorkerState::Paused,
            _ => WorkerState::Stopped,
        }
    }
}

/// Immutable setup shared by every pipeline generation.
pub(crate) struct Shared {
    pub config: Config,
    pub sdk_language: String,
    pub exporter_factories: Vec<Arc<dyn ExporterFactory>>,
    /// Whether metrics are aggregated (on, and an exporter can send them).
    pub metrics: bool,
}

/// One generation of queue + worker. A forked child gets a fresh one.
pub(crate) struct Pipeline {
    pub queue: RecordQueue,
    pub counters: Counters,
    /// Wakes the worker (queue crossed the batch size, flush, shutdown).
    pub notify: tokio::sync::Notify,
    /// Wakes an export waiting to be cancelled (pause, shutdown).
    pub control: tokio::sync::Notify,
    pub wake_pending: AtomicBool,
    /// The first drop was reported.
    drop_warned: AtomicBool,
    pub flush_target: AtomicU64,
    pub shutdown: AtomicBool,
    shutdown_at: Mutex<Option<Instant>>,
    pub pause: AtomicBool,
    /// Records taken from the queue and not yet settled.
    pub in_flight: AtomicU64,
    /// Batches interrupted by a pause, resent by the next worker.
    pub carry: Mutex<Vec<ExportBatch>>,
    /// A `WorkerState`, atomic so the record path never takes a lock.
    state: AtomicU8,
    /// With `done`: lets flush / shutdown / fork wait for worker progress.
    wait_lock: Mutex<()>,
    done: Condvar,
    exporter_stats: Mutex<Vec<ExporterStats>>,
    /// A batch is due at this many queued records or bytes: the worker is
    /// woken then instead of at its next delay.
    batch_size: usize,
    batch_bytes: usize,
    /// Tail sampler state; lives here (not on the worker's stack) so it
    /// survives worker restarts around a fork.
    pub tail: Mutex<Option<crate::sample::tail::TailSampler>>,
    /// GenAI client metrics (when on and an exporter can send them).
    pub metrics: Mutex<Option<crate::metrics::Aggregator>>,
    /// Flushes ask for a metrics export; the worker reports the last one done.
    pub metrics_flush_req: AtomicU64,
    pub metrics_flush_done: AtomicU64,
}

impl Pipeline {
    fn new(config: &Config, metrics: bool) -> Self {
        Pipeline {
            queue: RecordQueue::new(config.batch.max_queue_size, config.batch.max_queue_bytes),
            counters: Counters::default(),
            notify: tokio::sync::Notify::new(),
            control: tokio::sync::Notify::new(),
            wake_pending: AtomicBool::new(false),
            drop_warned: AtomicBool::new(false),
            flush_target: AtomicU64::new(0),
            shutdown: AtomicBool::new(false),
            shutdown_at: Mutex::new(None),
            pause: AtomicBool::new(false),
            in_flight: AtomicU64::new(0),
            carry: Mutex::new(Vec::new()),
            state: AtomicU8::new(WorkerState::NotStarted as u8),
            wait_lock: Mutex::new(()),
            done: Condvar::new(),
            exporter_stats: Mutex::new(Vec::new()),
            batch_size: config.batch.max_export_batch_size,
            batch_bytes: config.batch.max_batch_bytes,
            metrics: Mutex::new(metrics.then(crate::metrics::Aggregator::new)),
            metrics_flush_req: AtomicU64::new(0),
            metrics_flush_done: AtomicU64::new(0),
            tail: Mutex::new(
                config
                    .tail
                    .clone()
                    .map(crate::sample::tail::TailSampler::new),
            ),
        }
    }

    pub(crate) fn set_state(&self, s: WorkerState) {
        self.state.store(s as u8, SeqCst);
        self.notify_done();
    }

    #[inline]
    fn state(&self) -> WorkerState {
        WorkerState::from_u8(self.state.load(SeqCst))
    }

    /// Wakes everyone waiting on progress (flush, shutdown, fork).
    pub(crate) fn notify_done(&self) {
        // Taking the lock orders this with a waiter between its check and wait.
        drop(self.wait_lock.lock());
        self.done.notify_all();
    }

    pub(crate) fn shutdown_deadline(&self) -> Option<Instant> {
        self.shutdown_at.lock().ok().and_then(|d| *d)
    }

    pub(crate) fn shutdown_deadline_passed(&self) -> bool {
        self.shutdown_deadline()
            .is_some_and(|d| Instant::now() >= d)
    }

    pub(crate) fn init_exporter_stats(&self, names: &[String]) {
        if let Ok(mut s) = self.exporter_stats.lock()
            && s.len() != names.len()
        {
            *s = names
                .iter()
                .map(|n| ExporterStats {
                    name: n.clone(),
                    ..Default::default()
                })
                .collect();
        }
    }

    pub(crate) fn exporter_result(
        &self,
        i: usize,
        ok: u64,
        failed: u64,
        retries: u32,
        err: Option<String>,
    ) {
        if let Ok(mut s) = self.exporter_stats.lock()
            && let Some(e) = s.get_mut(i)
        {
            e.exported += ok;
            e.failed += failed;
            e.retries += retries as u64;
            if err.is_some() {
                e.last_error = err;
            }
        }
    }

    /// Waits until `pred` holds or `deadline` passes; returns whether it held.
    fn wait_until(
        &self,
        deadline: Instant,
        mut pred: impl FnMut(&Pipeline, WorkerState) -> bool,
    ) -> bool {
        let Ok(mut guard) = self.wait_lock.lock() else {
            return false;
        };
        loop {
            if pred(self, self.state()) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            // Bounded waits: a missed wake-up costs at most 10 ms.
            let step = (deadline - now).min(Duration::from_millis(10));
            match self.done.wait_timeout(guard, step) {
                Ok((g, _)) => guard = g,
                Err(_) => return false,
            }
        }
    }

    fn wake(&self) {
        self.notify.notify_one();
        self.control.notify_waiters();
    }
}

struct Inner {
    shared: Arc<Shared>,
    pipeline: ArcSwap<Pipeline>,
    /// The fork epoch the current pipeline belongs to.
    epoch: AtomicU64,
    reinit: Mutex<()>,
    memory: Arc<MemoryStore>,
    /// Records dropped because a forked child inherited them (child side).
    fork_inherited: AtomicU64,
}

/// Handle to the tracing pipeline. Cheap to clone; every clone feeds the same
/// queue. `record` never blocks and never fails into the caller.
#[derive(Clone)]
pub struct Tracer {
    inner: Arc<Inner>,
}

/// What the tracer delivered over its life, as `shutdown` reports it when it
/// finished in time (otherwise it returns `LifecycleError::Timeout` with the
/// number still pending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShutdownReport {
    pub exported: u64,
    /// Records an exporter gave up on (non-retryable answer, retries exhausted).
    pub export_failures: u64,
    /// Records dropped, all reasons.
    pub dropped: u64,
}

impl Tracer {
    /// Starts a tracer with the exporters `config` names.
    pub fn new(config: Config) -> Result<Tracer, Error> {
        Self::with_exporters(config, "rust", Vec::new())
    }

    /// Starts a tracer; `sdk_language` goes into `telemetry.sdk.language`, and
    /// `extra` exporters run beside the configured ones.
    pub fn with_exporters(
        config: Config,
        sdk_language: &str,
        extra: Vec<Arc<dyn ExporterFactory>>,
    ) -> Result<Tracer, Error> {
        fork::install_atfork_handler();
        let memory = Arc::new(MemoryStore::default());
        let mut factories: Vec<Arc<dyn ExporterFactory>> = Vec::new();
        for kind in &config.exporters {
            match kind {
                ExporterKind::Otlp => {
                    if let Some(otlp) = config.otlp.clone() {
                        factories.push(Arc::new(move || crate::export::otlp::build(&otlp)));
                    }
                }
                ExporterKind::File => {
                    let store = config.store.clone();
                    factories.push(Arc::new(move || {
                        crate::export::file::FileExporter::open(&store)
                            .map(|e| Arc::new(e) as Arc<dyn SpanExporter>)
                    }));
                }
                ExporterKind::Console => {
                    factories.push(Arc::new(|| {
                        Ok(Arc::new(crate::export::console::ConsoleExporter)
                            as Arc<dyn SpanExporter>)
                    }));
                }
                ExporterKind::Memory => {
                    let store = memory.clone();
                    factories.push(Arc::new(move || {
                        Ok(Arc::new(MemoryExporter {
                            store: store.clone(),
                        }) as Arc<dyn SpanExporter>)
                    }));
                }
            }
        }
        let metrics = config.metrics
            && (!extra.is_empty()
                || config
                    .exporters
                    .iter()
                    .any(|k| matches!(k, ExporterKind::Otlp | ExporterKind::Memory)));
        factories.extend(extra);
        let pipeline = Pipeline::new(&config, metrics);
        let shared = Arc::new(Shared {
            config,
            sdk_language: sdk_language.to_string(),
            exporter_factories: factories,
            metrics,
        });
        Ok(Tracer {
            inner: Arc::new(Inner {
                shared,
                pipeline: ArcSwap::from_pointee(pipeline),
                epoch: AtomicU64::new(fork_epoch()),
                reinit: Mutex::new(()),
                memory,
                fork_inherited: AtomicU64::new(0),
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.shared.config
    }

    /// Whether a span starting with this parent context should be recorded
    /// (head sampling). Callers skip building the record when it says no.
    #[inline]
    pub fn should_sample(&self, trace_id: &TraceId, parent: ParentSampling) -> bool {
        !self.inner.shared.config.disabled
            && self
                .inner
                .shared
                .config
                .sampler
                .should_sample(trace_id, parent)
    }

    /// The current pipeline, rebuilt first if this process is a forked child.
    fn pipeline(&self) -> arc_swap::Guard<Arc<Pipeline>> {
        if self.inner.epoch.load(Relaxed) != fork_epoch() {
            self.reinit_after_fork();
        }
        self.inner.pipeline.load()
    }

    /// Starts the worker unless one runs; a CAS makes concurrent callers
    /// start exactly one.
    fn ensure_worker(&self, p: &Arc<Pipeline>) {
        if p.pause.load(SeqCst)
            || p.state
                .compare_exchange(
                    WorkerState::NotStarted as u8,
                    WorkerState::Running as u8,
                    SeqCst,
                    SeqCst,
                )
                .is_err()
        {
            return;
        }
        if let Err(e) = worker::spawn(self.inner.shared.clone(), p.clone()) {
            crate::diag::warn_once(
                "Worker.SpawnFailed",
                &format!("cannot start the export thread: {e}"),
            );
        }
    }

    /// Queues a finished span. Never blocks, never panics into the caller;
    /// returns false (and counts why) when the span was not accepted.
    pub fn record(&self, span: SpanRecord) -> bool {
        if self.inner.shared.config.disabled {
            return false;
        }
        let p = self.pipeline();
        if p.shutdown.load(Relaxed) {
            p.counters.drop_n(DropReason::Shutdown, 1);
            return false;
        }
        match p.queue.push(span) {
            Ok((len, bytes)) => {
                p.counters.enqueued.fetch_add(1, Relaxed);
                if p.state() != WorkerState::Running {
                    self.ensure_worker(&p);
                }
                if (len >= p.batch_size || bytes >= p.batch_bytes)
                    && !p.wake_pending.swap(true, Relaxed)
                {
                    p.notify.notify_one();
                }
                true
            }
            Err(e) => {
                let reason = match e {
                    PushError::Full => DropReason::QueueFull,
                    PushError::Bytes => DropReason::QueueBytes,
                    PushError::Oversize => DropReason::Oversize,
                };
                p.counters.drop_n(reason, 1);
                // One relaxed load on the drop path; the message is built once.
                if !p.drop_warned.swap(true, Relaxed) {
                    crate::diag::warn_once(
                        &format!("Queue.DropStarted:{}", reason.as_str()),
                        &format!(
                            "dropping spans ({}): the export queue is full; drops are counted in stats()",
                            reason.as_str()
                        ),
                    );
                }
                false
            }
        }
    }

    /// Delivers everything recorded before this call, or returns when
    /// `timeout` passes with the number still pending.
    pub fn flush(&self, timeout: Duration) -> Result<(), LifecycleError> {
        let deadline = Instant::now() + timeout;
        let p = self.pipeline().clone();
        if p.shutdown.load(SeqCst) {
            return Err(LifecycleError::AlreadyShutdown);
        }
        let target = p.counters.enqueued.load(SeqCst);
        let metrics_req = if self.inner.shared.metrics {
            p.metrics_flush_req.fetch_add(1, SeqCst) + 1
        } else {
            0
        };
        p.flush_target.fetch_max(target, SeqCst);
        self.ensure_worker(&p);
        p.wake();
        let ok = p.wait_until(deadline, |p, _| {
            p.counters.settled.load(SeqCst) >= target
                && p.metrics_flush_done.load(SeqCst) >= metrics_req
        });
        if ok {
            Ok(())
        } else {
            Err(LifecycleError::Timeout {
                timeout,
                pending: target.saturating_sub(p.counters.settled.load(SeqCst)),
            })
        }
    }

    /// Stops accepting spans, delivers what is queued within `timeout`, and
    /// stops the worker. Returns within the timeout even if the backend hangs.
    pub fn shutdown(&self, timeout: Duration) -> Result<ShutdownReport, LifecycleError> {
        let deadline = Instant::now() + timeout;
        let p = self.pipeline().clone();
        if p.shutdown.swap(true, SeqCst) {
            return Err(LifecycleError::AlreadyShutdown);
        }
        if let Ok(mut d) = p.shutdown_at.lock() {
            *d = Some(deadline);
        }
        let enqueued = p.counters.enqueued.load(SeqCst);
        let cut_before = p.counters.dropped(DropReason::Shutdown);
        if p.state() == WorkerState::NotStarted && enqueued > 0 {
            self.ensure_worker(&p);
        }
        p.flush_target.fetch_max(enqueued, SeqCst);
        p.wake();
        let stopped = p.wait_until(deadline, |p, st| {
            matches!(st, WorkerState::Stopped | WorkerState::NotStarted)
                || p.counters.settled.load(SeqCst) >= enqueued
        });
        let unsettled = enqueued.saturating_sub(p.counters.settled.load(SeqCst));
        // Give the worker a moment to observe the deadline and count the rest.
        if !stopped || unsettled > 0 {
            p.wait_until(Instant::now() + Duration::from_millis(100), |_, st| {
                matches!(st, WorkerState::Stopped | WorkerState::NotStarted)
            });
        }
        // Records the worker cut at the deadline are settled too, but were not
        // delivered: report them, whichever side of the deadline the count
        // landed on.
        let cut = p
            .counters
            .dropped(DropReason::Shutdown)
            .saturating_sub(cut_before);
        let pending = unsettled.max(cut);
        if pending > 0 {
            return Err(LifecycleError::Timeout { timeout, pending });
        }
        let s = p.counters.snapshot();
        Ok(ShutdownReport {
            exported: s.exported,
            export_failures: s.export_failures,
            dropped: s.dropped_total(),
        })
    }

    /// Attaches user feedback to a trace after the fact, as a small
    /// `feedback` span in that trace carrying the GenAI evaluation attributes
    /// (`gen_ai.evaluation.*`). `parent` is the span judged, when known. A
    /// low score keeps the trace under tail sampling when it arrives in time.
    pub fn feedback(
        &self,
        trace_id: TraceId,
        parent: Option<crate::model::SpanId>,
        score: f64,
        label: Option<&str>,
        comment: Option<&str>,
    ) -> Result<bool, crate::error::ConfigError> {
        if !score.is_finite() {
            return Err(crate::error::ConfigError::new(
                "score",
                score.to_string(),
                "expected a finite number",
            ));
        }
        if !trace_id.is_valid() {
            return Err(crate::error::ConfigError::new(
                "trace_id",
                trace_id.to_hex(),
                "expected a valid (non-zero) trace id",
            ));
        }
        use crate::model::{KeyValue, now_unix_nanos};
        let mut r = SpanRecord::new("feedback");
        r.trace_id = trace_id;
        r.parent_span_id = parent;
        r.start_unix_nanos = now_unix_nanos();
        r.end_unix_nanos = r.start_unix_nanos;
        r.attributes
            .push(KeyValue::new("gen_ai.evaluation.name", "user_feedback"));
        r.attributes
            .push(KeyValue::new("gen_ai.evaluation.score.value", score));
        if let Some(l) = label {
            r.attributes
                .push(KeyValue::new("gen_ai.evaluation.score.label", l));
        }
        if let Some(c) = comment {
            r.attributes
                .push(KeyValue::new("gen_ai.evaluation.explanation", c));
        }
        Ok(self.record(r))
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let p = self.inner.pipeline.load();
        let mut s = p.counters.snapshot();
        s.queue_len = p.queue.len() as u64;
        s.queue_bytes = p.queue.bytes() as u64;
        s.queue_capacity = p.queue.capacity() as u64;
        s.queue_max_bytes = p.queue.max_bytes() as u64;
        s.exporters = p
            .exporter_stats
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default();
        s.redaction = self
            .inner
            .shared
            .config
            .redactor
            .as_ref()
            .map(|h| h.0.stats());
        s.tail = p
            .tail
            .lock()
            .ok()
            .and_then(|t| t.as_ref().map(|t| t.stats()));
        let inherited = self.inner.fork_inherited.load(Relaxed);
        if inherited > 0 {
            for (k, v) in s.dropped.iter_mut() {
                if *k == DropReason::ForkInherited.as_str() {
                    *v += inherited;
                }
            }
        }
        s
    }

    /// The latest GenAI metrics export seen by the memory exporter.
    pub fn memory_metrics(
        &self,
    ) -> Option<opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest>
    {
        self.inner.memory.metrics()
    }

    /// Spans exported by the memory exporter (`exporter = memory`).
    pub fn memory_spans(&self) -> Vec<FinishedSpan> {
        self.inner.memory.spans()
    }

    pub fn clear_memory(&self) {
        self.inner.memory.clear();
    }

    /// Whether `shutdown` was called.
    pub fn is_shutdown(&self) -> bool {
        self.inner.pipeline.load().shutdown.load(Relaxed)
    }
}

impl Drop for Inner {
    /// Never blocks (a blocking drop in a GC'd or forked process freezes it):
    /// asks the worker to drain and stop within the export timeout, detached.
    fn drop(&mut self) {
        if self.epoch.load(Relaxed) != fork_epoch() {
            return;
        }
        let p = self.pipeline.load();
        if !p.shutdown.swap(true, SeqCst) {
            if let Ok(mut d) = p.shutdown_at.lock() {
                *d = Some(Instant::now() + self.shared.config.batch.export_timeout);
            }
            p.flush_target
                .fetch_max(p.counters.enqueued.load(SeqCst), SeqCst);
            p.wake();
        }
    }
}

#[cfg(test)]
mod tests;
