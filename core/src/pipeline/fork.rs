//! The fork protocol (after libdatadog's): before fork the worker is paused at
//! a safe point and its runtime dropped, so no tokio thread or lock exists in
//! the child; the parent resumes afterwards; the child gets a fresh queue and
//! worker and never exports what it inherited (the parent does).
//!
//! Bindings call `before_fork` / `after_fork_parent` / `after_fork_child` from
//! their fork hooks (Python: `os.register_at_fork`). As a safety net for forks
//! no hook announced, a `pthread_atfork` child handler bumps an epoch counter
//! (an async-signal-safe store) and the next call into the tracer rebuilds the
//! pipeline. Nothing here logs or blocks in the child.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::time::{Duration, Instant};

use super::{Pipeline, Tracer, WorkerState};

static FORK_EPOCH: AtomicU64 = AtomicU64::new(0);

/// Incremented in every forked child.
pub fn fork_epoch() -> u64 {
    FORK_EPOCH.load(Relaxed)
}

extern "C" fn on_fork_child() {
    FORK_EPOCH.fetch_add(1, SeqCst);
    reseed_ids();
}

/// The child inherits the forking thread's id generator: reseed it from the
/// pid and the clock, or parent and workers would draw the same trace and
/// span ids. Async-signal-safe: a thread-local write, `getpid` and
/// `clock_gettime`.
fn reseed_ids() {
    // SAFETY: plain libc calls with a valid out-pointer.
    let (pid, nanos) = unsafe {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
        (
            libc::getpid() as u64,
            (ts.tv_sec as u64).wrapping_mul(1_000_000_000) ^ ts.tv_nsec as u64,
        )
    };
    fastrand::seed(
        fastrand::u64(..) ^ pid.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ nanos.rotate_left(29),
    );
}

pub(crate) fn install_atfork_handler() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: registers a handler that only performs an atomic add.
        unsafe {
            libc::pthread_atfork(None, None, Some(on_fork_child));
        }
    });
}

/// How long `before_fork` waits for the worker to reach a safe point.
const PAUSE_TIMEOUT: Duration = Duration::from_secs(2);

impl Tracer {
    /// Pauses the worker at a safe point: an export in flight is abandoned
    /// and kept for resending after the fork. Returns whether it paused in time.
    pub fn before_fork(&self) -> bool {
        let p = self.pipeline().clone();
        if p.state() != WorkerState::Running {
            return true;
        }
        p.pause.store(true, SeqCst);
        p.wake();
        p.wait_until(Instant::now() + PAUSE_TIMEOUT, |_, st| {
            st != WorkerState::Running
        })
    }

    /// Resumes the worker in the parent.
    pub fn after_fork_parent(&self) {
        let p = self.inner.pipeline.load_full();
        p.pause.store(false, SeqCst);
        if p.state() == WorkerState::Paused {
            p.set_state(WorkerState::NotStarted);
            if !p.shutdown.load(SeqCst) || !p.queue.is_empty() {
                self.ensure_worker(&p);
            }
        }
    }

    /// Gives the child a fresh pipeline. Idempotent per fork.
    pub fn after_fork_child(&self) {
        if self.inner.epoch.load(Relaxed) == fork_epoch() {
            // Announced fork whose pthread handler has not run (or a platform
            // without it): advance the epoch so the rebuild happens once.
            FORK_EPOCH.fetch_add(1, SeqCst);
        }
        self.reinit_after_fork();
    }

    pub(crate) fn reinit_after_fork(&self) {
        // The child has one thread; try_lock only guards against two calls.
        let Ok(_g) = self.inner.reinit.try_lock() else {
            return;
        };
        let epoch = fork_epoch();
        if self.inner.epoch.load(SeqCst) == epoch {
            return;
        }
        let fresh = Arc::new(Pipeline::new(
            &self.inner.shared.config,
            self.inner.shared.metrics,
        ));
        let old = self.inner.pipeline.swap(fresh);
        // Inherited records belong to the parent, which exports them: count,
        // never export. A shutdown in the parent is not inherited.
        let inherited = old.queue.len() as u64 + old.in_flight.load(Relaxed);
        self.inner.fork_inherited.fetch_add(inherited, Relaxed);
        // Leak the old generation: its queue may hold a slot a parent thread
        // was writing at fork time, and its runtime/threads don't exist here.
        std::mem::forget(old);
        self.inner.epoch.store(epoch, SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use crate::model::TraceId;

    /// Forked children draw trace ids of their own, not the parent's next ones.
    #[test]
    fn forked_children_draw_different_ids() {
        super::install_atfork_handler();
        let _ = TraceId::random(); // the thread's generator exists before the fork
        let mut fds = [0i32; 2];
        // SAFETY: a pipe, a fork whose child only draws ids, writes and
        // `_exit`s, and reads on the parent side.
        unsafe {
            assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
            let mut children = Vec::new();
            for _ in 0..2 {
                let pid = libc::fork();
                assert!(pid >= 0);
                if pid == 0 {
                    let id = TraceId::random();
                    libc::write(fds[1], id.0.as_ptr().cast(), 16);
                    libc::_exit(0);
                }
                children.push(pid);
            }
            let mine = TraceId::random();
            let mut seen = vec![mine.0];
            for _ in 0..2 {
                let mut b = [0u8; 16];
                assert_eq!(libc::read(fds[0], b.as_mut_ptr().cast(), 16), 16);
                seen.push(b);
            }
            for pid in children {
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
            libc::close(fds[0]);
            libc::close(fds[1]);
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), 3, "parent and children drew the same trace id");
        }
    }
}
