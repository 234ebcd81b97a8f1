//! Shared by the benches: the realistic LLM span (for tokentrace and for the
//! OpenTelemetry SDK peer), an OTLP/HTTP receiver on loopback that decodes
//! every request, per-thread CPU accounting and the peer pipelines.
//!
//! Every bench binary compiles this module and uses a different subset of it.
#![allow(dead_code)]

pub mod cpu;
pub mod floor;
pub mod payload;
pub mod peer;
pub mod receiver;
pub mod sink;

use std::time::Duration;

/// Formats a count with thousands separators (tables are read by people).
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn ns_per(d: Duration, n: u64) -> f64 {
    if n == 0 {
        return f64::NAN;
    }
    d.as_nanos() as f64 / n as f64
}

/// `a / b` as a ratio column (`1.00x`), `-` when undefined.
pub fn ratio(a: f64, b: f64) -> String {
    if a.is_finite() && b.is_finite() && b > 0.0 {
        format!("{:.2}x", a / b)
    } else {
        "-".to_string()
    }
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "tokentrace-bench-{tag}-{}-{}",
            std::process::id(),
            tokentrace_core::now_unix_nanos()
        ));
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A loopback port with nothing listening on it (bound, then released), for
/// "receiver down" runs: connecting to it is refused immediately.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}
