//! The fork protocol, with real fork(2): a parent that initialised tracing
//! forks a child (gunicorn-style); the child's spans arrive, nothing
//! deadlocks, and no span is exported twice — even when the fork happens in
//! the middle of an export. One test per binary: fork copies only the calling
//! thread, so no other test may run beside it.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use fake_otlp::{Behavior, FakeOtlp};
use tokentrace_core::*;

/// Runs `child` in a forked child with the tracer re-initialised; returns
/// the child's exit status. The child never unwinds into the test harness.
fn fork_with(t: &Tracer, child: impl FnOnce(&Tracer) -> bool) -> i32 {
    assert!(t.before_fork(), "worker paused in time");
    // SAFETY: the child only runs tracer code and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        t.after_fork_child();
        let ok =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| child(t))).unwrap_or(false);
        // SAFETY: leave without running the parent's destructors or atexit.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    t.after_fork_parent();
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        libc::WIFEXITED(status),
        "child did not exit normally: {status}"
    );
    libc::WEXITSTATUS(status)
}

/// A tracer whose first export (of what `record` records) hangs at
/// the receiver: returned once that request is in flight.
fn export_hanging(b: ConfigBuilder, record: impl FnOnce(&Tracer)) -> (FakeOtlp, Tracer) {
    let rx = FakeOtlp::start();
    rx.push(Behavior::Hang);
    let t = Tracer::new(b.with_endpoint(rx.http_endpoint()).build().unwrap()).unwrap();
    record(&t);
    let _ = t.flush(Duration::from_millis(1));
    assert!(
        rx.wait_for_attempts(1, Duration::from_secs(10)),
        "export in flight"
    );
    (rx, t)
}

fn by_name(rx: &FakeOtlp) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for s in rx.spans() {
        let prefix = s.span.name.split('-').next().unwrap_or("").to_string();
        *m.entry(prefix).or_insert(0) += 1;
    }
    m
}

#[test]
fn fork_delivers_every_span_once() {
    // 1. A plain fork: spans before, in the child, and after, each once.
    let rx = FakeOtlp::start();
    let t = Tracer::new(builder().with_endpoint(rx.http_endpoint()).build().unwrap()).unwrap();
    for i in 0..100 {
        t.record(simple(&format!("before-{i}")));
    }
    t.flush(Duration::from_secs(10)).unwrap();
    for i in 0..50 {
        t.record(simple(&format!("queued-{i}")));
    }
    let code = fork_with(&t, |t| {
        for i in 0..20 {
            t.record(simple(&format!("child-{i}")));
        }
        let flushed = t.flush(Duration::from_secs(10)).is_ok();
        let s = t.stats();
        flushed
            && s.exported == 20
            && s.enqueued == 20
            && s.dropped(DropReason::ForkInherited) <= 50
    });
    assert_eq!(code, 0, "child flushed its own spans only");
    for i in 0..30 {
        t.record(simple(&format!("after-{i}")));
    }
    t.flush(Duration::from_secs(10)).unwrap();
    let counts = by_name(&rx);
    assert_eq!(counts.get("before"), Some(&100));
    assert_eq!(
        counts.get("queued"),
        Some(&50),
        "inherited spans exported by the parent only"
    );
    assert_eq!(counts.get("child"), Some(&20));
    assert_eq!(counts.get("after"), Some(&30));

    // 2. Fork while an export hangs in flight: the parent resends it after
    //    the fork, the child never sends it.
    let (rx2, t2) = export_hanging(builder(), |t| {
        for i in 0..10 {
            t.record(simple(&format!("inflight-{i}")));
        }
    });
    let code = fork_with(&t2, |t| {
        for i in 0..5 {
            t.record(simple(&format!("kid-{i}")));
        }
        t.flush(Duration::from_secs(10)).is_ok() && t.stats().exported == 5
    });
    assert_eq!(code, 0);
    t2.flush(Duration::from_secs(10)).unwrap();
    let counts = by_name(&rx2);
    assert_eq!(
        counts.get("inflight"),
        Some(&10),
        "resent once by the parent"
    );
    assert_eq!(counts.get("kid"), Some(&5));
    let ids: std::collections::HashSet<Vec<u8>> =
        rx2.spans().into_iter().map(|s| s.span.span_id).collect();
    assert_eq!(ids.len(), 15, "no duplicates");

    // 2b. The same when records leaving together were split into several
    //     batches by the byte budget: the batches not yet sent are kept as
    //     well. (A drain of the queue stops at the budget; a trace the tail
    //     sampler held is released whole, here six spans of one byte-budget
    //     batch each.)
    let split = builder().with_max_batch_bytes(1usize).with_tail_sampling(
        tokentrace_core::sample::TailConfig {
            keep_ratio: 1.0,
            ..Default::default()
        },
    );
    let (rx4, t4) = export_hanging(split, |t| {
        let root = simple("split-root");
        for i in 0..5 {
            let mut child = simple(&format!("split-{i}"));
            child.trace_id = root.trace_id;
            child.parent_span_id = Some(root.span_id);
            t.record(child);
        }
        t.record(root);
    });
    let code = fork_with(&t4, |t| t.flush(Duration::from_secs(10)).is_ok());
    assert_eq!(code, 0);
    t4.flush(Duration::from_secs(10))
        .expect("every batch of the drain settles after the fork");
    assert_eq!(by_name(&rx4).get("split"), Some(&6), "each batch sent once");
    let st = t4.stats();
    assert_eq!((st.exported, st.dropped_total()), (6, 0));

    // 3. A fork no hook announced (e.g. from C code): the pthread_atfork
    //    epoch makes the child's next call rebuild the pipeline.
    let rx3 = FakeOtlp::start();
    let t3 = Tracer::new(
        builder()
            .with_endpoint(rx3.http_endpoint())
            .build()
            .unwrap(),
    )
    .unwrap();
    t3.record(simple("pre-0"));
    t3.flush(Duration::from_secs(10)).unwrap();
    // SAFETY: as above.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            t3.record(simple("unannounced-0"));
            t3.flush(Duration::from_secs(10)).is_ok() && t3.stats().exported == 1
        }))
        .unwrap_or(false);
        // SAFETY: as above.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: as above.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(libc::WEXITSTATUS(status), 0);
    let counts = by_name(&rx3);
    assert_eq!(counts.get("pre"), Some(&1));
    assert_eq!(counts.get("unannounced"), Some(&1));
}
