//! Floors: what moving a span's bytes costs the sending thread when nothing
//! is encoded. Over loopback TCP, the kernel's copy, TCP, and the receive
//! path loopback runs in the sender's context; into a file, the copy into
//! the page cache. Every exporter pays them; measured in the same minutes
//! as the exporters, they show how much of an export figure is the
//! machine's state (a busy neighbour slows the copies) rather than the
//! exporter's own work.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;

use super::cpu;

/// Spans per request, as both pipelines batch them by default.
const BATCH: usize = 512;

/// The sending thread's CPU µs per span for `spans` spans of `span_bytes`
/// request bytes, sent in requests of [`BATCH`] spans to a reader on
/// loopback that drops them ([`timed_writes`]). `congestion`: the
/// connection's congestion control (`None`: the host's).
pub fn per_span_us(spans: u64, span_bytes: usize, congestion: Option<&str>) -> f64 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the floor's reader");
    let addr = listener.local_addr().expect("reader address");
    let reader = std::thread::Builder::new()
        .name("floor-reader".into())
        .spawn(move || {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            let mut buf = vec![0u8; 256 * 1024];
            while matches!(s.read(&mut buf), Ok(k) if k > 0) {}
        })
        .expect("spawn the floor's reader");
    let mut s = TcpStream::connect(addr).expect("connect to the floor's reader");
    s.set_nodelay(true).expect("TCP_NODELAY");
    if let Some(cc) = congestion {
        // As tokentrace's connector does; when refused, the host's applies.
        let _ = socket2::SockRef::from(&s).set_tcp_congestion(cc.as_bytes());
    }
    let us = timed_writes(&mut s, spans, span_bytes);
    drop(s);
    let _ = reader.join();
    us
}

/// The writing thread's CPU µs per span for `spans` spans of `span_bytes`
/// bytes appended to a new file in `dir` in lines of [`BATCH`] spans, as
/// the local store appends a batch ([`timed_writes`]; the file is removed
/// after).
pub fn file_per_span_us(spans: u64, span_bytes: usize, dir: &Path) -> f64 {
    let path = dir.join("floor.jsonl");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .expect("open the floor's file");
    let us = timed_writes(&mut f, spans, span_bytes);
    drop(f);
    let _ = std::fs::remove_file(&path);
    us
}

/// Writes not timed first: the exporters are measured after a warm-up, and
/// a new connection's first megabytes (slow start, socket buffers growing)
/// or a new file's first pages would otherwise count.
const WARM_UP_WRITES: u64 = 8;

/// Writes `spans` spans of `span_bytes` to `out` in writes of [`BATCH`]
/// spans, each buffer written before it goes (as an encoder writes it, so
/// the kernel reads it from the same caches), after [`WARM_UP_WRITES`]
/// untimed ones; returns this thread's CPU µs per span in the timed writes.
fn timed_writes(out: &mut impl Write, spans: u64, span_bytes: usize) -> f64 {
    let mut buf = vec![0u8; span_bytes * BATCH];
    for _ in 0..WARM_UP_WRITES {
        out.write_all(&buf).expect("the floor's warm-up write");
    }
    let writes = spans.div_ceil(BATCH as u64);
    let mut writing = 0u64;
    for i in 0..writes {
        buf.fill(b'a' + (i % 26) as u8);
        let t0 = cpu::this_thread_ns();
        out.write_all(&buf).expect("the floor's write");
        writing += cpu::this_thread_ns().saturating_sub(t0);
    }
    writing as f64 / 1000.0 / (writes * BATCH as u64) as f64
}
