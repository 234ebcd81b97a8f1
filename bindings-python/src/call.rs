//! `Call`: one model call in flight, from the client method's entry to its
//! record. Native because it runs inside every model call: each Python frame
//! on that path costs 1–3 µs with the caches cold from the client's own work,
//! so the start (parent lookup, sampling, the `ACTIVE` context variable), the
//! capture of a plain response and the record are one native entry each.
//!
//! Streamed responses hand over to the Python `StreamCall` (`_http.py`): it
//! tees the chunks and records when the stream ends, however it ends.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyString};
use pyo3::{PyTraverseError, PyVisit, intern};
use tokentrace_core::{Exchange, ParentSampling, Str, TraceId};

use crate::conversions::{PyAttrs, text, trace_id};
use crate::tracer::{CallSpan, PyTracer, api_kind};

/// The Python objects the native start and end need, installed once by
/// `_http.py` when it is imported.
///
/// The context variables' `get` / `set` / `reset` are kept as bound methods:
/// looking a method up builds a new bound-method object on every call.
struct Hooks {
    /// `_http.ACTIVE.get` / `.set` / `.reset`: the call whose HTTP traffic
    /// is being captured.
    active_get: Py<PyAny>,
    active_set: Py<PyAny>,
    active_reset: Py<PyAny>,
    /// `context.CURRENT.get`: tokentrace's current span.
    current_get: Py<PyAny>,
    /// `sys.modules`: is OpenTelemetry imported at all?
    modules: Py<PyDict>,
    /// `context.otel_fallback_parent()`: the active OpenTelemetry span, or None.
    otel_parent: Py<PyAny>,
    /// `_runtime`: its `mask` attribute is the application's masking hook.
    runtime: Py<PyAny>,
    /// `_http.finish_masked(call, end_ns, error_type, error_message)`.
    finish_masked: Py<PyAny>,
}

static HOOKS: PyOnceLock<Hooks> = PyOnceLock::new();

/// Called once by `_http.py` at import.
#[pyfunction]
pub fn install_call_hooks(
    active: &Bound<'_, PyAny>,
    current: &Bound<'_, PyAny>,
    modules: Py<PyDict>,
    otel_parent: Py<PyAny>,
    runtime: Py<PyAny>,
    finish_masked: Py<PyAny>,
) -> PyResult<()> {
    let py = active.py();
    let method = |o: &Bound<'_, PyAny>, name: &str| o.getattr(name).map(Bound::unbind);
    let hooks = Hooks {
        active_get: method(active, "get")?,
        active_set: method(active, "set")?,
        active_reset: method(active, "reset")?,
        current_get: method(current, "get")?,
        modules,
        otel_parent,
        runtime,
        finish_masked,
    };
    // A second import (importlib.reload) keeps the first objects: calls in
    // flight hold tokens of the first ACTIVE.
    let _ = HOOKS.set(py, hooks);
    Ok(())
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

#[pyclass(name = "Call", module = "tokentrace._native")]
pub struct PyCall {
    tracer: Py<PyTracer>,
    #[pyo3(get)]
    api: u8,
    /// 0, 0: a new trace whose id the core draws.
    #[pyo3(get)]
    trace_hi: u64,
    #[pyo3(get)]
    trace_lo: u64,
    #[pyo3(get)]
    parent: u64,
    #[pyo3(get)]
    remote: bool,
    #[pyo3(get)]
    inherited: Option<Py<PyAttrs>>,
    #[pyo3(get)]
    start: u64,
    /// The `ACTIVE.set` token, reset when the method returns or raises.
    token: Option<Py<PyAny>>,
    /// The last request sent (retries resend), from the `send` patch.
    #[pyo3(get)]
    request: Option<Py<PyAny>>,
    /// The last buffered response.
    #[pyo3(get)]
    response: Option<Py<PyAny>>,
    /// The Python `StreamCall` once a response is streamed.
    #[pyo3(get, set)]
    stream: Option<Py<PyAny>>,
    recorded: bool,
}

impl PyTracer {
    /// Starts a model call under the current span and makes it `ACTIVE`, or
    /// returns None: not traced (unsampled, nested in another traced call,
    /// hooks not installed) or anything failed.
    pub(crate) fn begin_call(slf: &Bound<'_, PyTracer>, api: u8) -> Option<Py<PyCall>> {
        catch_unwind(AssertUnwindSafe(|| begin(slf, api).ok().flatten())).unwrap_or(None)
    }
}

fn begin(slf: &Bound<'_, PyTracer>, api: u8) -> PyResult<Option<Py<PyCall>>> {
    let py = slf.py();
    let Some(h) = HOOKS.get(py) else {
        return Ok(None);
    };
    if !h.active_get.bind(py).call0()?.is_none() {
        return Ok(None);
    }
    let t = slf.get();
    let mut parent = h.current_get.bind(py).call0()?;
    if parent.is_none()
        && h.modules
            .bind(py)
            .contains(intern!(py, "opentelemetry.trace"))?
    {
        parent = h.otel_parent.bind(py).call0()?;
    }
    let (hi, lo, parent_id, remote, inherited) = if parent.is_none() {
        if t.root_always {
            (0, 0, 0, false, None)
        } else {
            let id = TraceId::random();
            if !t.inner.should_sample(&id, ParentSampling::None) {
                return Ok(None);
            }
            let (hi, lo) = id.0.split_at(8);
            let hi = u64::from_be_bytes(hi.try_into().unwrap_or_default());
            let lo = u64::from_be_bytes(lo.try_into().unwrap_or_default());
            (hi, lo, 0, false, None)
        }
    } else {
        let hi: u64 = parent.getattr(intern!(py, "trace_hi"))?.extract()?;
        let lo: u64 = parent.getattr(intern!(py, "trace_lo"))?.extract()?;
        let sampled = parent.getattr(intern!(py, "sampled"))?.is_truthy()?;
        if t.parent_based {
            if !sampled {
                return Ok(None);
            }
        } else {
            let p = if sampled {
                ParentSampling::Sampled
            } else {
                ParentSampling::NotSampled
            };
            if !t.inner.should_sample(&trace_id(hi, lo), p) {
                return Ok(None);
            }
        }
        let span: u64 = parent.getattr(intern!(py, "span_id"))?.extract()?;
        let remote = parent.getattr(intern!(py, "remote"))?.is_truthy()?;
        let inherited = parent
            .getattr(intern!(py, "inherited"))?
            .cast_into::<PyAttrs>()
            .ok()
            .map(Bound::unbind);
        (hi, lo, span, remote, inherited)
    };
    let call = Bound::new(
        py,
        PyCall {
            tracer: slf.clone().unbind(),
            api,
            trace_hi: hi,
            trace_lo: lo,
            parent: parent_id,
            remote,
            inherited,
            start: now_ns(),
            token: None,
            request: None,
            response: None,
            stream: None,
            recorded: false,
        },
    )?;
    let token = h.active_set.bind(py).call1((&call,))?;
    call.borrow_mut().token = Some(token.unbind());
    Ok(Some(call.unbind()))
}

/// `obj._content` (what httpx's `content` property returns once read,
/// without the property's Python frame), else `obj.content`.
fn content<'py>(obj: &Bound<'py, PyAny>) -> Option<Bound<'py, PyAny>> {
    let py = obj.py();
    obj.getattr(intern!(py, "_content"))
        .or_else(|_| obj.getattr(intern!(py, "content")))
        .ok()
}

/// A body the record owns: copied, so the client's `bytes` die as they
/// would untraced (kept alive until the worker ran, they made the heap grow
/// and shrink in bursts that the application thread paid for in page faults).
fn owned_body(v: Option<Bound<'_, PyAny>>) -> Bytes {
    match v {
        Some(v) => match v.cast::<PyBytes>() {
            Ok(b) => Bytes::copy_from_slice(b.as_bytes()),
            Err(_) => Bytes::new(),
        },
        None => Bytes::new(),
    }
}

/// Host and port of an httpx request, read from the URL's parsed tuple.
fn server(request: &Bound<'_, PyAny>) -> (Option<Str>, Option<u16>) {
    let py = request.py();
    let Ok(url) = request.getattr(intern!(py, "url")) else {
        return (None, None);
    };
    let r = url.getattr(intern!(py, "_uri_reference")).unwrap_or(url);
    let host = r
        .getattr(intern!(py, "host"))
        .ok()
        .and_then(|h| h.cast_into::<PyString>().ok())
        .map(|h| text(&h));
    // The default port reads as None: checked first, since a failed
    // extraction builds a Python exception on every call.
    let port = match r
        .getattr(intern!(py, "port"))
        .ok()
        .filter(|p| !p.is_none())
        .and_then(|p| p.extract::<u16>().ok())
    {
        Some(p) => Some(p),
        None => {
            let https = r
                .getattr(intern!(py, "scheme"))
                .ok()
                .is_some_and(|s| s.eq(intern!(py, "https")).unwrap_or(false));
            Some(if https { 443 } else { 80 })
        }
    };
    (host, port)
}

impl PyCall {
    /// Recorded (or handed to a stream that is): the `send` patch then
    /// leaves further traffic alone.
    fn done(&self, py: Python<'_>) -> bool {
        if self.recorded {
            return true;
        }
        match &self.stream {
            Some(s) => s
                .bind(py)
                .getattr(intern!(py, "done"))
                .and_then(|d| d.is_truthy())
                .unwrap_or(true),
            None => false,
        }
    }

    fn reset_active(&mut self, py: Python<'_>) {
        if let (Some(tok), Some(h)) = (self.token.take(), HOOKS.get(py)) {
            // A token from another context (not expected from the wrappers)
            // must not raise into the application.
            let _ = h.active_reset.bind(py).call1((tok,));
        }
    }
}

/// Records a call that got a buffered response, or none, once.
fn finish(slf: &Bound<'_, PyCall>, end_ns: u64, error: Option<(Str, Str)>) -> PyResult<()> {
    let py = slf.py();
    let mut c = slf.borrow_mut();
    if c.recorded {
        return Ok(());
    }
    c.recorded = true;
    let Some(h) = HOOKS.get(py) else {
        return Ok(());
    };
    if !h.runtime.bind(py).getattr(intern!(py, "mask"))?.is_none() {
        drop(c);
        let (et, em) = match &error {
            Some((t, m)) => (Some(t.as_ref()), Some(m.as_ref())),
            None => (None, None),
        };
        h.finish_masked.bind(py).call1((slf, end_ns, et, em))?;
        return Ok(());
    }
    let request = c.request.take().map(|r| r.into_bound(py));
    let response = c.response.take().map(|r| r.into_bound(py));
    let (server_address, server_port) = request.as_ref().map_or((None, None), server);
    let status = match &response {
        Some(r) => r.getattr(intern!(py, "status_code"))?.extract::<u16>().ok(),
        None => None,
    };
    let (error_type, error_message) = match error {
        Some((t, m)) => (Some(t), Some(m)),
        None => (None, None),
    };
    let span = CallSpan {
        trace_hi: c.trace_hi,
        trace_lo: c.trace_lo,
        parent: c.parent,
        parent_remote: c.remote,
        start_ns: c.start,
        end_ns,
    };
    let ex = Exchange {
        api: api_kind(c.api),
        request_body: owned_body(request.as_ref().and_then(content)),
        response_body: owned_body(response.as_ref().and_then(content)),
        status,
        error_type,
        error_message,
        server_address,
        server_port,
        ..Exchange::default()
    };
    let inherited = c.inherited.as_ref().map(|i| i.bind(py).clone());
    let tracer = c.tracer.clone_ref(py);
    drop(c);
    tracer.get().record_call(span, ex, inherited.as_ref(), None);
    Ok(())
}

/// `type(e).__name__` and `str(e)` cut to 2,048 characters.
fn describe(e: &Bound<'_, PyAny>) -> (Str, Str) {
    let name = e
        .get_type()
        .name()
        .map(|n| text(&n))
        .unwrap_or_else(|_| Str::from("Exception"));
    let msg = e.str().map(|s| text(&s)).unwrap_or_else(|_| Str::from(""));
    let msg = match msg.char_indices().nth(2048) {
        Some((i, _)) => Str::from(&msg[..i]),
        None => msg,
    };
    (name, msg)
}

/// The wrapped method is over: `ACTIVE` is reset, then a streamed call is
/// handed to its `StreamCall` (`to_stream`), any other is recorded now.
/// Never raises.
fn ended(
    slf: &Bound<'_, PyCall>,
    to_stream: impl FnOnce(&Bound<'_, PyAny>) -> PyResult<()>,
    error: impl FnOnce() -> Option<(Str, Str)>,
) {
    let py = slf.py();
    let stream = {
        let mut c = slf.borrow_mut();
        c.reset_active(py);
        c.stream.as_ref().map(|s| s.clone_ref(py))
    };
    let _ = catch_unwind(AssertUnwindSafe(|| match stream {
        Some(s) => to_stream(s.bind(py)),
        None => finish(slf, now_ns(), error()),
    }));
}

#[pymethods]
impl PyCall {
    /// The `send` patch is about to send `request`: kept as the call's last
    /// request (retries resend) unless the call is done, in which case the
    /// traffic is left alone (False).
    fn sending(&mut self, py: Python<'_>, request: Py<PyAny>) -> bool {
        if self.done(py) {
            return false;
        }
        self.request = Some(request);
        true
    }

    /// A buffered response to the last request (from the `send` patch).
    fn exchange(&mut self, response: Py<PyAny>) {
        self.response = Some(response);
    }

    /// The method returned: a plain response is recorded now; a stream
    /// records itself when it ends.
    fn returned(slf: &Bound<'_, Self>) {
        ended(
            slf,
            |s| s.call_method0(intern!(s.py(), "stream_returned")).map(drop),
            || None,
        );
    }

    /// The method raised `exc` (which the wrapper re-raises unchanged).
    fn failed(slf: &Bound<'_, Self>, exc: &Bound<'_, PyAny>) {
        ended(
            slf,
            |s| s.call_method1(intern!(s.py(), "failed"), (exc,)).map(drop),
            || Some(describe(exc)),
        );
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.tracer)?;
        for o in [&self.token, &self.request, &self.response, &self.stream]
            .into_iter()
            .flatten()
        {
            visit.call(o)?;
        }
        if let Some(i) = &self.inherited {
            visit.call(i)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.token = None;
        self.request = None;
        self.response = None;
        self.stream = None;
        self.inherited = None;
    }
}
