//! Model calls waiting to be recorded: the tracer's `pending` list.
//!
//! A model call's capture runs in Python (`instrument/_http.py`) and ends by
//! appending one tuple to this list; `drain` records the entries in batches.
//! Why not one native entry per call: between two calls the client runs
//! millions of instructions that evict tokentrace's code and data from the
//! caches, so every native entry on a call's path paid cold misses (≈15 µs a
//! call for ~3,000 instructions of work, bench/README). The interpreter code
//! the Python capture runs is the code the client keeps hot; the native record
//! runs once per batch, cold for its first entry and warm for the rest.
//!
//! An entry is a flat tuple of plain values, read by Python while the
//! client's objects were still hot (the httpx objects themselves are not
//! kept: a batch's worth of them alive made the client allocate into cold
//! memory):
//! `(api, trace_hi, trace_lo, parent, parent_remote, inherited, start_ns,
//!   end_ns, server_address, server_port, error_type, error_message,
//!   request_body, response_body, status, streaming, first_chunk_ns,
//!   incomplete, url_path)`.
//!
//! Every native entry that must see the calls made before it (flush,
//! shutdown, stats, manual spans, feedback, fork) drains first, so the list
//! never reorders what one thread recorded.

use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyList, PyString, PyTuple};
use tokentrace_core::{Exchange, Str};

use crate::conversions::{PyAttrs, text};
use crate::tracer::{BINDING_ERRORS, CallSpan, PyTracer, api_kind, guarded};

const ENTRY_LEN: usize = 19;

/// Records every pending entry; a malformed one is counted and skipped.
pub(crate) fn drain(tracer: &PyTracer, py: Python<'_>) {
    let list = tracer.pending.bind(py);
    let n = list.len();
    if n == 0 {
        return;
    }
    // Taken out in one step, then recorded: what another thread appends after
    // the take stays for the next drain, and nothing is recorded twice.
    let items = list.get_slice(0, n);
    if list.del_slice(0, n).is_err() {
        return;
    }
    for item in items.iter() {
        // A panic is counted by `guarded`, an entry that does not decode here.
        guarded(|| {
            let decoded = match item.cast::<PyTuple>() {
                Ok(e) if e.len() == ENTRY_LEN => record_entry(tracer, e).ok(),
                _ => None,
            };
            decoded.unwrap_or_else(|| {
                BINDING_ERRORS.fetch_add(1, Relaxed);
                false
            })
        });
    }
}

/// Forgets the entries (a forked child: they are its parent's to record).
pub(crate) fn discard(tracer: &PyTracer, py: Python<'_>) {
    let list = tracer.pending.bind(py);
    let _ = list.del_slice(0, list.len());
}

/// Whether core accepted the entry; an error for one that does not decode.
fn record_entry(tracer: &PyTracer, e: &Bound<'_, PyTuple>) -> PyResult<bool> {
    let item = |i: usize| e.get_borrowed_item(i);
    let api: u8 = item(0)?.extract()?;
    let span = CallSpan {
        trace_hi: item(1)?.extract()?,
        trace_lo: item(2)?.extract()?,
        parent: item(3)?.extract()?,
        parent_remote: item(4)?.is_truthy()?,
        start_ns: item(6)?.extract()?,
        end_ns: item(7)?.extract()?,
    };
    let inherited = item(5)?.cast::<PyAttrs>().ok().map(|a| a.to_owned());
    let first: u64 = item(16)?.extract()?;
    let ex = Exchange {
        api: api_kind(api),
        server_address: opt_text(&item(8)?),
        server_port: item(9)?.extract::<Option<u16>>().ok().flatten(),
        error_type: opt_text(&item(10)?),
        error_message: opt_text(&item(11)?),
        request_body: owned_body(&item(12)?),
        response_body: owned_body(&item(13)?),
        status: item(14)?.extract::<Option<u16>>().ok().flatten(),
        streaming: item(15)?.is_truthy()?,
        first_chunk_unix_nanos: (first != 0).then_some(first),
        stream_incomplete: item(17)?.is_truthy()?,
        url_path: opt_text(&item(18)?),
        ..Exchange::default()
    };
    Ok(tracer.record_call(span, ex, inherited.as_ref()))
}

fn opt_text(v: &Borrowed<'_, '_, PyAny>) -> Option<Str> {
    v.cast::<PyString>().ok().map(|s| text(&s))
}

/// A body the record owns: `bytes`, the `bytearray` a streamed response
/// was teed into, or text from the mask hook; copied, so the client's
/// objects are freed when the entry is.
fn owned_body(v: &Borrowed<'_, '_, PyAny>) -> Bytes {
    if let Ok(b) = v.cast::<PyBytes>() {
        return Bytes::copy_from_slice(b.as_bytes());
    }
    if let Ok(b) = v.cast::<PyByteArray>() {
        return Bytes::from(b.to_vec());
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Bytes::from(text(&s).as_bytes().to_vec());
    }
    Bytes::new()
}

/// A new, empty pending list (the tracer's).
pub(crate) fn new_list(py: Python<'_>) -> Py<PyList> {
    PyList::empty(py).unbind()
}
