//! Counters. Every record that enters `record()` ends in exactly one of:
//! exported, export failed, or one of the drop reasons — nothing disappears
//! silently.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Why records were dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The queue's ring was full.
    QueueFull,
    /// The queue's byte budget was used up.
    QueueBytes,
    /// One record was larger than the whole queue byte budget.
    Oversize,
    /// Recorded after shutdown, or still queued when shutdown's deadline passed.
    Shutdown,
    /// The receiver rejected them (non-retryable answer, or partial success).
    Rejected,
    /// Inherited from the parent by a forked child: the parent exports them.
    ForkInherited,
    /// Lost to a panic inside the worker (the worker restarts).
    WorkerPanic,
    /// No exporter is configured.
    NoExporter,
    /// Not kept by the tail sampler (a sampling decision, not a failure).
    TailSampled,
}

impl DropReason {
    pub const ALL: [DropReason; 9] = [
        DropReason::QueueFull,
        DropReason::QueueBytes,
        DropReason::Oversize,
        DropReason::Shutdown,
        DropReason::Rejected,
        DropReason::ForkInherited,
        DropReason::WorkerPanic,
        DropReason::NoExporter,
        DropReason::TailSampled,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::QueueBytes => "queue_bytes",
            DropReason::Oversize => "oversize",
            DropReason::Shutdown => "shutdown",
            DropReason::Rejected => "rejected",
            DropReason::ForkInherited => "fork_inherited",
            DropReason::WorkerPanic => "worker_panic",
            DropReason::NoExporter => "no_exporter",
            DropReason::TailSampled => "tail_sampled",
        }
    }
}

/// Per-exporter outcome counters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExporterStats {
    pub name: String,
    pub exported: u64,
    pub failed: u64,
    pub retries: u64,
    pub last_error: Option<String>,
}

/// A snapshot of the tracer's counters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stats {
    /// Records accepted into the queue.
    pub enqueued: u64,
    /// Records delivered by every configured exporter.
    pub exported: u64,
    /// Records at least one exporter failed to deliver after its retries.
    pub export_failures: u64,
    /// Retry attempts, all exporters.
    pub retries: u64,
    /// Dropped records by reason (`DropReason::as_str`).
    pub dropped: Vec<(&'static str, u64)>,
    /// Attributes removed by the count limit.
    pub attributes_dropped: u64,
    /// Attribute values cut by the length limit.
    pub attributes_truncated: u64,
    /// Events removed by the count limit.
    pub events_dropped: u64,
    /// Panics caught in the worker (each followed by a restart).
    pub worker_panics: u64,
    /// Model calls left without cost because their model has no price.
    pub cost_unknown_model: u64,
    /// Metrics exports that succeeded / failed.
    pub metric_exports: u64,
    pub metric_export_failures: u64,
    /// Records accepted but not yet exported, failed or dropped.
    pub pending: u64,
    pub queue_len: u64,
    pub queue_bytes: u64,
    /// The queue's bounds in effect: spans, and bytes (its default is sized
    /// from the host's memory, see `config::host_memory`).
    pub queue_capacity: u64,
    pub queue_max_bytes: u64,
    pub exporters: Vec<ExporterStats>,
    /// Tail sampler decisions (when tail sampling is on).
    pub tail: Option<crate::sample::TailStats>,
    /// What redaction replaced, by kind (when redaction is on).
    pub redaction: Option<crate::redact::RedactStats>,
}

impl Stats {
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped
            .iter()
            .find(|(k, _)| *k == reason.as_str())
            .map_or(0, |(_, v)| *v)
    }

    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().map(|(_, v)| v).sum()
    }
}

/// The live counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub enqueued: AtomicU64,
    /// Accepted records that reached a final outcome.
    pub settled: AtomicU64,
    pub exported: AtomicU64,
    pub export_failures: AtomicU64,
    pub retries: AtomicU64,
    dropped: [AtomicU64; 9],
    pub attributes_dropped: AtomicU64,
    pub attributes_truncated: AtomicU64,
    pub events_dropped: AtomicU64,
    pub worker_panics: AtomicU64,
    pub cost_unknown_model: AtomicU64,
    pub metric_exports: AtomicU64,
    pub metric_export_failures: AtomicU64,
}

impl Counters {
    fn idx(reason: DropReason) -> usize {
        DropReason::ALL
            .iter()
            .position(|r| *r == reason)
            .unwrap_or(0)
    }

    pub fn drop_n(&self, reason: DropReason, n: u64) {
        self.dropped[Self::idx(reason)].fetch_add(n, Relaxed);
    }

    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped[Self::idx(reason)].load(Relaxed)
    }

    /// Records already accepted that are dropped later: also settled.
    pub fn drop_settled(&self, reason: DropReason, n: u64) {
        self.drop_n(reason, n);
        self.settled.fetch_add(n, Relaxed);
    }

    pub fn snapshot(&self) -> Stats {
        let enqueued = self.enqueued.load(Relaxed);
        let settled = self.settled.load(Relaxed);
        Stats {
            enqueued,
            exported: self.exported.load(Relaxed),
            export_failures: self.export_failures.load(Relaxed),
            retries: self.retries.load(Relaxed),
            dropped: DropReason::ALL
                .iter()
                .map(|r| (r.as_str(), self.dropped[Self::idx(*r)].load(Relaxed)))
                .collect(),
            attributes_dropped: self.attributes_dropped.load(Relaxed),
            attributes_truncated: self.attributes_truncated.load(Relaxed),
            events_dropped: self.events_dropped.load(Relaxed),
            worker_panics: self.worker_panics.load(Relaxed),
            cost_unknown_model: self.cost_unknown_model.load(Relaxed),
            metric_exports: self.metric_exports.load(Relaxed),
            metric_export_failures: self.metric_export_failures.load(Relaxed),
            pending: enqueued.saturating_sub(settled),
            queue_len: 0,
            queue_bytes: 0,
            queue_capacity: 0,
            queue_max_bytes: 0,
            exporters: Vec::new(),
            tail: None,
            redaction: None,
        }
    }
}
