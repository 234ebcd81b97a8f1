//! Per-thread CPU time of this process, from `/proc/self/task/<tid>/`.
//! `schedstat` gives nanoseconds; `stat` (10 ms ticks) is the fallback.
//! Take the second snapshot before the measured threads exit: an exited
//! thread's time is gone from `/proc`.

use std::collections::BTreeMap;
use std::fs;

#[derive(Debug, Clone)]
pub struct ThreadCpu {
    pub tid: u32,
    /// `comm`: the thread name, cut to 15 bytes by the kernel.
    pub name: String,
    pub cpu_ns: u64,
    /// User and system time (`stat`, in clock ticks of 10 ms).
    pub user_sys_ticks: (u64, u64),
}

/// `utime` and `stime` of a thread, in clock ticks.
fn user_sys_ticks(tid: &str) -> Option<(u64, u64)> {
    let stat = fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // Fields after the parenthesised name; utime and stime are fields 14, 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((f.get(11)?.parse().ok()?, f.get(12)?.parse().ok()?))
}

fn ticks_to_ns(ticks: u64) -> u64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    ticks * 1_000_000_000 / hz
}

fn cpu_ns(tid: &str) -> Option<u64> {
    if let Ok(s) = fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))
        && let Some(v) = s.split_whitespace().next().and_then(|v| v.parse().ok())
    {
        return Some(v);
    }
    let (user, sys) = user_sys_ticks(tid)?;
    Some(ticks_to_ns(user + sys))
}

/// Every live thread of this process.
pub fn snapshot() -> Vec<ThreadCpu> {
    let mut out = Vec::new();
    let Ok(dir) = fs::read_dir("/proc/self/task") else {
        return out;
    };
    for e in dir.flatten() {
        let tid = e.file_name().to_string_lossy().to_string();
        let name = fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
            .unwrap_or_default()
            .trim()
            .to_string();
        if let (Ok(t), Some(ns)) = (tid.parse(), cpu_ns(&tid)) {
            out.push(ThreadCpu {
                tid: t,
                name,
                cpu_ns: ns,
                user_sys_ticks: user_sys_ticks(&tid).unwrap_or_default(),
            });
        }
    }
    out
}

/// CPU nanoseconds spent between two snapshots, summed by thread name.
pub fn delta_by_name(before: &[ThreadCpu], after: &[ThreadCpu]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for a in after {
        let prev = before
            .iter()
            .find(|b| b.tid == a.tid)
            .map_or(0, |b| b.cpu_ns);
        *out.entry(a.name.clone()).or_insert(0) += a.cpu_ns.saturating_sub(prev);
    }
    out
}

/// User and system nanoseconds spent between two snapshots (10 ms ticks),
/// summed by thread name: the thread's own work against the kernel's.
pub fn user_sys_by_name(before: &[ThreadCpu], after: &[ThreadCpu]) -> BTreeMap<String, (u64, u64)> {
    let mut out = BTreeMap::new();
    for a in after {
        let (u0, s0) = before
            .iter()
            .find(|b| b.tid == a.tid)
            .map_or((0, 0), |b| b.user_sys_ticks);
        let e = out.entry(a.name.clone()).or_insert((0, 0));
        e.0 += ticks_to_ns(a.user_sys_ticks.0.saturating_sub(u0));
        e.1 += ticks_to_ns(a.user_sys_ticks.1.saturating_sub(s0));
    }
    out
}

/// Sum of the deltas of threads whose name starts with one of `prefixes`.
pub fn sum_prefixed(delta: &BTreeMap<String, u64>, prefixes: &[&str]) -> u64 {
    delta
        .iter()
        .filter(|(k, _)| prefixes.iter().any(|p| k.starts_with(p)))
        .map(|(_, v)| *v)
        .sum()
}

/// CPU time of the calling thread (nanoseconds).
pub fn this_thread_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// `VmHWM` / `VmRSS` of this process in KiB.
pub fn rss_kib() -> (u64, u64) {
    let s = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}
