//! The export worker: one named thread owning a current-thread tokio runtime.
//! It drains the queue in batches (by size, by delay, or on flush), maps them,
//! and hands each batch to every exporter. A panic is caught, counted, and the
//! worker restarts; a pause (before fork) drops the runtime entirely so no
//! tokio thread or lock exists at fork time.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::time::Duration;

use futures_util::future::join_all;
use tokio::time::Instant;

use super::process::Processor;
use super::stats::DropReason;
use super::{Pipeline, Shared, WorkerState};
use crate::export::{
    Encodings, ExportBatch, ExportContext, ExportOutcome, ExportResult, SpanExporter,
};
use crate::model::SpanRecord;

enum Exit {
    Shutdown,
    Paused,
}

/// Starts the worker thread for `pipeline` (whose state the caller already
/// moved to `Running`).
pub(crate) fn spawn(shared: Arc<Shared>, pipeline: Arc<Pipeline>) -> std::io::Result<()> {
    let p2 = pipeline.clone();
    let res = std::thread::Builder::new()
        .name("tokentrace-export".into())
        .spawn(move || thread_main(shared, p2));
    if res.is_err() {
        pipeline.set_state(WorkerState::NotStarted);
    }
    res.map(|_| ())
}

fn thread_main(shared: Arc<Shared>, p: Arc<Pipeline>) {
    loop {
        let r = catch_unwind(AssertUnwindSafe(|| run_once(&shared, &p)));
        match r {
            Ok(Exit::Shutdown) => {
                p.set_state(WorkerState::Stopped);
                return;
            }
            Ok(Exit::Paused) => {
                p.set_state(WorkerState::Paused);
                return;
            }
            Err(_) => {
                p.counters.worker_panics.fetch_add(1, Relaxed);
                // Spans held by the tail sampler are part of `in_flight`.
                if let Ok(mut t) = p.tail.lock()
                    && let Some(t) = t.as_mut()
                {
                    let _ = t.drain();
                }
                let lost = p.in_flight.swap(0, SeqCst);
                p.counters.drop_settled(DropReason::WorkerPanic, lost);
                p.notify_done();
                crate::diag::warn_once(
                    "Worker.Panicked",
                    "the export worker panicked; it was restarted and the batch in flight was dropped (counted in stats)",
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

fn run_once(shared: &Arc<Shared>, p: &Arc<Pipeline>) -> Exit {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            crate::diag::warn_once(
                "Worker.RuntimeFailed",
                &format!("cannot start the export runtime: {e}"),
            );
            std::thread::sleep(Duration::from_secs(1));
            // Try again via the restart loop.
            std::panic::resume_unwind(Box::new("runtime start failed"));
        }
    };
    let exit = rt.block_on(run(shared, p));
    // Nothing blocking was spawned; don't wait on anything while dropping.
    rt.shutdown_timeout(Duration::ZERO);
    exit
}

fn build_exporters(shared: &Shared, p: &Pipeline) -> Vec<Arc<dyn SpanExporter>> {
    let mut out = Vec::new();
    let mut names = Vec::new();
    for f in &shared.exporter_factories {
        match f.build() {
            Ok(e) => {
                names.push(e.name().to_string());
                out.push(e);
            }
            Err(e) => {
                crate::diag::warn_once(
                    &format!("Exporter.BuildFailed:{e}"),
                    &format!("exporter not started: {e}"),
                );
            }
        }
    }
    p.init_exporter_stats(&names);
    out
}

async fn run(shared: &Arc<Shared>, p: &Arc<Pipeline>) -> Exit {
    let exporters = build_exporters(shared, p);
    let want = exporters
        .iter()
        .fold(Encodings::default(), |w, e| w.union(e.encodings()));
    let processor = Processor::new(&shared.config, &shared.sdk_language, want);
    let batch_size = shared.config.batch.max_export_batch_size;
    // A batch is due, and a drain ends, at the request's byte budget as at
    // its span count: large spans go out without waiting for the delay, and
    // one request is encoded and sent before the next is read from the
    // queue (instead of a whole drain encoded ahead, split, and held).
    let drain_bytes = shared.config.batch.max_batch_bytes.max(1);
    let delay = shared.config.batch.schedule_delay;
    let mut last_export = Instant::now();
    let mut last_metrics = Instant::now();
    let metrics_interval = shared.config.metric_export_interval;

    // Batches interrupted by a pause (fork) go first, once.
    let carried: Vec<ExportBatch> = p
        .carry
        .lock()
        .map(|mut c| std::mem::take(&mut *c))
        .unwrap_or_default();
    for b in carried {
        if let Some(exit) = export_batch(shared, p, &exporters, b, None).await {
            return exit;
        }
    }

    loop {
        if p.pause.load(SeqCst) {
            return Exit::Paused;
        }
        let shutting = p.shutdown.load(SeqCst);
        if shutting && p.shutdown_deadline_passed() {
            let n = drain_all_dropped(p);
            p.counters.drop_settled(DropReason::Shutdown, n);
            p.notify_done();
            return Exit::Shutdown;
        }
        let qlen = p.queue.len();
        let flush_wanted = p.flush_target.load(SeqCst) > p.counters.settled.load(SeqCst);
        let due = qlen >= batch_size
            || p.queue.bytes() >= drain_bytes
            || flush_wanted
            || shutting
            || (qlen > 0 && last_export.elapsed() >= delay);
        if due && qlen > 0 {
            let mut records = Vec::with_capacity(qlen.min(batch_size));
            // The records' sizes as the queue counted them: the first batch's
            // buffer starts near its final size instead of doubling up to it.
            let mut bytes = 0;
            while records.len() < batch_size && bytes < drain_bytes {
                match p.queue.pop() {
                    Some((r, b)) => {
                        records.push(r);
                        bytes += b;
                    }
                    None => break,
                }
            }
            p.in_flight.fetch_add(records.len() as u64, SeqCst);
            let ready = tail_offer(p, records);
            let sent = export_records(shared, p, &exporters, &processor, ready, bytes);
            if let Some(exit) = sent.await {
                return exit;
            }
            last_export = Instant::now();
            if shared.metrics && last_metrics.elapsed() >= metrics_interval {
                if let Some(exit) = export_metrics(shared, p, &exporters, &processor).await {
                    return exit;
                }
                last_metrics = Instant::now();
            }
            continue;
        }
        // Traces held by the tail sampler: decide them all on flush and
        // shutdown, and the overdue ones otherwise.
        let held = tail_release(p, flush_wanted || shutting);
        if !held.is_empty() {
            if let Some(exit) = export_records(shared, p, &exporters, &processor, held, 0).await {
                return exit;
            }
            continue;
        }
        // Metrics: on a flush (once its spans are out), on shutdown, and
        // every export interval.
        if shared.metrics {
            let requested = p.metrics_flush_req.load(SeqCst);
            let asked = requested > p.metrics_flush_done.load(SeqCst);
            if asked || shutting || last_metrics.elapsed() >= metrics_interval {
                if let Some(exit) = export_metrics(shared, p, &exporters, &processor).await {
                    return exit;
                }
                last_metrics = Instant::now();
                p.metrics_flush_done.fetch_max(requested, SeqCst);
                p.notify_done();
            }
        }
        if shutting {
            p.notify_done();
            return Exit::Shutdown;
        }
        if flush_wanted {
            // Everything queued is out, but a racing producer may still be
            // mid-push; settle what is settled and look again shortly.
            p.notify_done();
        }
        p.wake_pending.store(false, SeqCst);
        let wait = if qlen > 0 {
            delay.saturating_sub(last_export.elapsed())
        } else {
            delay
        };
        let wait = if flush_wanted {
            wait.min(Duration::from_millis(5))
        } else {
            wait
        };
        let wait = if tail_holds(p) {
            wait.min(Duration::from_millis(500))
        } else {
            wait
        };
        tokio::select! {
            _ = p.notify.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Passes records through the tail sampler (when on); sampled-out records
/// are settled here.
fn tail_offer(p: &Pipeline, records: Vec<SpanRecord>) -> Vec<SpanRecord> {
    let Ok(mut guard) = p.tail.lock() else {
        return records;
    };
    let Some(tail) = guard.as_mut() else {
        return records;
    };
    let out = tail.offer(records, std::time::Instant::now());
    settle_sampled_out(p, out.drop.len());
    out.keep
}

fn tail_release(p: &Pipeline, all: bool) -> Vec<SpanRecord> {
    let Ok(mut guard) = p.tail.lock() else {
        return Vec::new();
    };
    let Some(tail) = guard.as_mut() else {
        return Vec::new();
    };
    let out = if all {
        tail.drain()
    } else {
        let mut out = crate::sample::tail::Released::default();
        tail.expire(std::time::Instant::now(), &mut out);
        out
    };
    settle_sampled_out(p, out.drop.len());
    out.keep
}

fn tail_holds(p: &Pipeline) -> bool {
    p.tail
        .lock()
        .map(|t| t.as_ref().is_some_and(|t| t.pending_spans() > 0))
        .unwrap_or(false)
}

fn settle_sampled_out(p: &Pipeline, n: usize) {
    if n > 0 {
        p.in_flight.fetch_sub(n as u64, SeqCst);
        p.counters.drop_settled(DropReason::TailSampled, n as u64);
        p.notify_done();
    }
}

/// Maps and exports records already counted in `in_flight`.
async fn export_records(
    shared: &Shared,
    p: &Pipeline,
    exporters: &[Arc<dyn SpanExporter>],
    processor: &Processor,
    records: Vec<SpanRecord>,
    // Their approximate size (0: unknown).
    bytes: usize,
) -> Option<Exit> {
    if records.is_empty() {
        return None;
    }
    if exporters.is_empty() {
        let n = records.len() as u64;
        p.in_flight.fetch_sub(n, SeqCst);
        p.counters.drop_settled(DropReason::NoExporter, n);
        p.notify_done();
        return None;
    }
    let batches = {
        let mut metrics = p.metrics.lock().ok();
        let agg = metrics.as_mut().and_then(|m| m.as_mut());
        processor.process(records, bytes, &p.counters, agg)
    };
    let mut batches = batches.into_iter();
    while let Some(batch) = batches.next() {
        if let Some(exit) = export_batch(shared, p, exporters, batch, Some(processor)).await {
            if matches!(exit, Exit::Paused) {
                // Not sent yet either: kept, like the interrupted one, for
                // the worker that resumes after the fork.
                if let Ok(mut c) = p.carry.lock() {
                    c.extend(batches);
                }
            }
            return Some(exit);
        }
    }
    None
}

/// Sends the cumulative metrics to every exporter that takes them.
async fn export_metrics(
    shared: &Shared,
    p: &Pipeline,
    exporters: &[Arc<dyn SpanExporter>],
    processor: &Processor,
) -> Option<Exit> {
    let req = {
        let Ok(mut m) = p.metrics.lock() else {
            return None;
        };
        m.as_mut()?.export(&processor.resource, &processor.scope)?
    };
    let mut deadline = Instant::now() + shared.config.batch.retry_max_elapsed;
    if let Some(d) = p.shutdown_deadline() {
        deadline = deadline.min(Instant::from_std(d));
    }
    let ctx = ExportContext { deadline };
    let futs: Vec<_> = exporters
        .iter()
        .filter_map(|e| e.export_metrics(&req, ctx))
        .collect();
    let results = tokio::select! {
        r = join_all(futs) => r,
        _ = cancelled(p) => {
            // Cumulative: the next export carries everything again.
            if let Ok(mut m) = p.metrics.lock()
                && let Some(m) = m.as_mut()
            {
                m.mark_dirty();
            }
            return Some(if p.pause.load(SeqCst) { Exit::Paused } else { Exit::Shutdown });
        }
    };
    for r in results {
        match r.outcome {
            ExportOutcome::Success { .. } => {
                p.counters.metric_exports.fetch_add(1, Relaxed);
            }
            ExportOutcome::Failed { error } => {
                p.counters.metric_export_failures.fetch_add(1, Relaxed);
                crate::diag::warn_once(
                    "Exporter.MetricsFailed",
                    &format!(
                        "metrics export failed: {error} (further failures are counted in stats)"
                    ),
                );
            }
        }
    }
    None
}

fn drain_all_dropped(p: &Pipeline) -> u64 {
    let mut n = 0;
    while p.queue.pop().is_some() {
        n += 1;
    }
    n + p.in_flight.swap(0, SeqCst)
}

/// Resolves when the export must be abandoned: a pause (fork) or the shutdown
/// deadline.
async fn cancelled(p: &Pipeline) {
    loop {
        if p.pause.load(SeqCst) || (p.shutdown.load(SeqCst) && p.shutdown_deadline_passed()) {
            return;
        }
        tokio::select! {
            _ = p.control.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(25)) => {}
        }
    }
}

/// Exports one batch to every exporter. Returns an exit when the worker must stop.
async fn export_batch(
    shared: &Shared,
    p: &Pipeline,
    exporters: &[Arc<dyn SpanExporter>],
    batch: ExportBatch,
    // Takes the batch's buffers back once it is settled.
    recycle: Option<&Processor>,
) -> Option<Exit> {
    let n = batch.span_count as u64;
    let mut deadline = Instant::now() + shared.config.batch.retry_max_elapsed;
    if let Some(d) = p.shutdown_deadline() {
        deadline = deadline.min(Instant::from_std(d));
    }
    let ctx = ExportContext { deadline };
    let results: Option<Vec<ExportResult>> = {
        let all = join_all(exporters.iter().map(|e| e.export(&batch, ctx)));
        tokio::select! {
            r = all => Some(r),
            _ = cancelled(p) => None,
        }
    };
    let Some(results) = results else {
        if p.pause.load(SeqCst) {
            // Kept for the worker that resumes after the fork; never exported
            // by the child (its pipeline is fresh).
            if let Ok(mut c) = p.carry.lock() {
                c.push(batch);
            }
            return Some(Exit::Paused);
        }
        let lost = drain_all_dropped(p);
        p.counters.drop_settled(DropReason::Shutdown, lost);
        p.notify_done();
        return Some(Exit::Shutdown);
    };
    let mut all_ok = true;
    let mut rejected_max = 0u64;
    for (i, r) in results.iter().enumerate() {
        p.counters.retries.fetch_add(r.retries as u64, Relaxed);
        match &r.outcome {
            ExportOutcome::Success { rejected } => {
                rejected_max = rejected_max.max((*rejected).min(n));
                p.exporter_result(i, n.saturating_sub(*rejected), 0, r.retries, None);
            }
            ExportOutcome::Failed { error } => {
                all_ok = false;
                p.exporter_result(i, 0, n, r.retries, Some(error.clone()));
                crate::diag::warn_once(
                    &format!("Exporter.Failed:{}", exporters[i].name()),
                    &format!(
                        "{} export failed: {error} (further failures are counted in stats)",
                        exporters[i].name()
                    ),
                );
            }
        }
    }
    if all_ok {
        p.counters.exported.fetch_add(n - rejected_max, Relaxed);
        if rejected_max > 0 {
            p.counters.drop_n(DropReason::Rejected, rejected_max);
        }
    } else {
        p.counters.export_failures.fetch_add(n, Relaxed);
    }
    p.in_flight.fetch_sub(n, SeqCst);
    p.counters.settled.fetch_add(n, SeqCst);
    p.notify_done();
    if let Some(proc) = recycle {
        proc.recycle(batch);
    }
    None
}
