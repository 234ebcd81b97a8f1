//! The queue's default byte budget, sized from the memory the process may use
//! (as the JVM sizes its default heap): a fixed figure is either too small
//! for a burst on a large server or too large for a 512 MiB container, where
//! a backend outage would let the queue push the process into the OOM killer.
//!
//! Budget = 1/32 of the limit, clamped to [`MIN`, `MAX`]. The limit is the
//! tightest of the cgroup's memory limit (v2 `memory.max` of the process's
//! cgroup and its ancestors, or v1 `memory.limit_in_bytes`) and the physical
//! memory (`MemTotal`). Where none can be read (macOS, iOS, Windows), the
//! budget is [`FALLBACK`].

use std::sync::OnceLock;

const MIB: usize = 1024 * 1024;
/// The smallest default budget (a 1 GiB container or less).
pub const MIN: usize = 32 * MIB;
/// The largest default budget (16 GiB of memory or more).
pub const MAX: usize = 512 * MIB;
/// When the memory limit cannot be read.
pub const FALLBACK: usize = 256 * MIB;
/// The share of the memory limit the queue may hold.
const DIVISOR: u64 = 32;

/// The default `max_queue_bytes` on this host (computed once per process).
pub fn default_max_queue_bytes() -> usize {
    static BUDGET: OnceLock<usize> = OnceLock::new();
    *BUDGET.get_or_init(|| budget_for(memory_limit()))
}

/// The budget for a memory limit in bytes (`None`: unknown).
pub fn budget_for(limit: Option<u64>) -> usize {
    match limit {
        Some(l) => usize::try_from(l / DIVISOR).unwrap_or(MAX).clamp(MIN, MAX),
        None => FALLBACK,
    }
}

/// The memory this process may use: physical memory, or less under a cgroup
/// limit.
fn memory_limit() -> Option<u64> {
    let total = read("/proc/meminfo").and_then(|t| parse_meminfo(&t));
    [total, cgroup_limit()].into_iter().flatten().min()
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// `MemTotal` from `/proc/meminfo`, in bytes.
pub(crate) fn parse_meminfo(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut fields = line.split_whitespace().skip(1);
    let n: u64 = fields.next()?.parse().ok()?;
    match fields.next() {
        Some("kB") | None => n.checked_mul(1024),
        Some(_) => None,
    }
}

/// A cgroup limit file's value: v2 writes `max` for none; v1 writes a huge
/// number (page-rounded `i64::MAX`) for none.
pub(crate) fn parse_limit(text: &str) -> Option<u64> {
    let v: u64 = text.trim().parse().ok()?;
    (v < 1 << 60).then_some(v)
}

/// This process's cgroup paths from `/proc/self/cgroup`: the v2 one
/// (`0::/path`) and the v1 memory controller's (`N:memory:/path`).
pub(crate) fn cgroup_paths(text: &str) -> (Option<&str>, Option<&str>) {
    let mut v2 = None;
    let mut v1 = None;
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if controllers.is_empty() {
            v2 = Some(path);
        } else if controllers.split(',').any(|c| c == "memory") {
            v1 = Some(path);
        }
    }
    (v2, v1)
}

/// The tightest limit in `file` of the cgroup at `path` under `root` and of
/// its ancestors (a limit set on any ancestor applies too).
fn tightest(root: &str, path: &str, file: &str) -> Option<u64> {
    let mut dir = std::path::PathBuf::from(root);
    let depth = path
        .split('/')
        .filter(|s| !s.is_empty() && *s != "..")
        .map(|s| dir.push(s))
        .count();
    let mut best: Option<u64> = None;
    for _ in 0..=depth {
        if let Some(v) = read(&format!("{}/{file}", dir.display())).and_then(|t| parse_limit(&t)) {
            best = Some(best.map_or(v, |b| b.min(v)));
        }
        dir.pop();
    }
    best
}

fn cgroup_limit() -> Option<u64> {
    let own = read("/proc/self/cgroup")?;
    let (v2, v1) = cgroup_paths(&own);
    let v2 = v2.and_then(|p| tightest("/sys/fs/cgroup", p, "memory.max"));
    let v1 = v1.and_then(|p| tightest("/sys/fs/cgroup/memory", p, "memory.limit_in_bytes"));
    [v2, v1].into_iter().flatten().min()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1024 * 1024 * 1024;

    #[test]
    fn budget_is_a_thirty_second_of_the_limit_within_bounds() {
        assert_eq!(budget_for(Some(8 * GIB)), 256 * MIB);
        assert_eq!(budget_for(Some(24 * GIB)), MAX, "large hosts are capped");
        assert_eq!(
            budget_for(Some(512 * 1024 * 1024)),
            MIN,
            "small containers get the floor"
        );
        assert_eq!(budget_for(Some(2 * GIB)), 64 * MIB);
        assert_eq!(budget_for(None), FALLBACK);
        assert_eq!(budget_for(Some(u64::MAX)), MAX);
    }

    #[test]
    fn reads_meminfo_and_cgroup_files() {
        let meminfo = "MemTotal:       24600000 kB\nMemFree:         1000 kB\n";
        assert_eq!(parse_meminfo(meminfo), Some(24_600_000 * 1024));
        assert_eq!(parse_meminfo("MemFree: 10 kB\n"), None);
        assert_eq!(parse_meminfo("MemTotal: lots kB\n"), None);
        assert_eq!(parse_limit("max\n"), None, "v2: no limit");
        assert_eq!(parse_limit("9223372036854771712\n"), None, "v1: no limit");
        assert_eq!(parse_limit("1073741824\n"), Some(GIB));
        assert_eq!(parse_limit(""), None);
        let own = "12:pids:/x\n4:memory:/ctr/abc\n0::/system.slice/app.service\n";
        assert_eq!(
            cgroup_paths(own),
            (Some("/system.slice/app.service"), Some("/ctr/abc"))
        );
        assert_eq!(cgroup_paths("3:cpu,memory:/k\n"), (None, Some("/k")));
        assert_eq!(cgroup_paths("1:name=systemd:/\n"), (None, None));
    }

    #[test]
    fn an_ancestor_limit_applies() {
        let root = crate::store::test_support::temp_dir("cgroup");
        let leaf = root.join("a/b");
        std::fs::create_dir_all(&leaf).unwrap();
        std::fs::write(root.join("memory.max"), "max\n").unwrap();
        std::fs::write(root.join("a/memory.max"), "1073741824\n").unwrap();
        std::fs::write(leaf.join("memory.max"), "2147483648\n").unwrap();
        let r = root.to_str().unwrap();
        assert_eq!(tightest(r, "/a/b", "memory.max"), Some(GIB));
        assert_eq!(tightest(r, "/", "memory.max"), None);
        assert_eq!(
            tightest(r, "/../a", "memory.max"),
            Some(GIB),
            "never above the root"
        );
    }

    #[test]
    fn this_host_is_sized_from_its_memory() {
        let limit = memory_limit();
        if cfg!(target_os = "linux") {
            assert!(limit.is_some(), "/proc/meminfo is readable on Linux");
        }
        assert_eq!(default_max_queue_bytes(), budget_for(limit));
    }
}
