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
/// request bytes, written in requests of [`BATCH`] spans to a reader on
/// loopback that drops them. Each request buffer is written before it is
/// sent, as an encoder writes it (so the kernel reads it from the same
/// caches); only the sends are timed. `congestion`: the connection's
/// congestion control (`None`: the host's).
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
    let mut request = vec![0u8; span_bytes * BATCH];
    let requests = spans.div_ceil(BATCH as u64);
    let mut sending = 0u64;
    for i in 0..requests {
        request.fill(i as u8);
        let t0 = cpu::this_thread_ns();
        s.write_all(&request).expect("send to the floor's reader");
        sending += cpu::this_thread_ns().saturating_sub(t0);
    }
    drop(s);
    let _ = reader.join();
    sending as f64 / 1000.0 / (requests * BATCH as u64) as f64
}

/// The writing thread's CPU µs per span for `spans` spans of `span_bytes`
/// bytes appended to a new file in `dir` in lines of [`BATCH`] spans, as
/// the local store appends a batch (the file is removed after). Only the
/// writes are timed.
pub fn file_per_span_us(spans: u64, span_bytes: usize, dir: &Path) -> f64 {
    let path = dir.join("floor.jsonl");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .expect("open the floor's file");
    let mut line = vec![0u8; span_bytes * BATCH];
    let lines = spans.div_ceil(BATCH as u64);
    let mut writing = 0u64;
    for i in 0..lines {
        line.fill(b'a' + (i % 26) as u8);
        let t0 = cpu::this_thread_ns();
        f.write_all(&line).expect("write the floor's file");
        writing += cpu::this_thread_ns().saturating_sub(t0);
    }
    drop(f);
    let _ = std::fs::remove_file(&path);
    writing as f64 / 1000.0 / (lines * BATCH as u64) as f64
}
