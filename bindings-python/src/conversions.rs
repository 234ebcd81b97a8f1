//! Python values → core types, and core results → Python objects.
//!
//! Conversions run on the application thread, so they stay shallow: ids
//! arrive as integers, payloads as `bytes` (one copy into `Bytes`), and only
//! user attributes are converted value by value.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::Value as Json;
use tokentrace_core::{KeyValue, SpanId, Stats, Str, TraceId, Value};

/// A trace id from its high and low 64 bits (cheaper to pass than one
/// 128-bit integer under the stable ABI).
#[inline]
pub fn trace_id(hi: u64, lo: u64) -> TraceId {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&hi.to_be_bytes());
    b[8..].copy_from_slice(&lo.to_be_bytes());
    TraceId(b)
}

/// A span id; 0 means "none".
#[inline]
pub fn span_id(v: u64) -> Option<SpanId> {
    (v != 0).then(|| SpanId(v.to_be_bytes()))
}

#[inline]
pub fn text(s: &Bound<'_, PyString>) -> Str {
    match s.to_cow() {
        Ok(c) => Str::from(c.as_ref()),
        // Lone surrogates: keep what can be shown rather than fail.
        Err(_) => Str::from(s.to_string_lossy()),
    }
}

fn json_dumps<'py>(v: &Bound<'py, PyAny>) -> Option<Str> {
    static DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let py = v.py();
    let dumps = DUMPS
        .get_or_try_init(py, || -> PyResult<Py<PyAny>> {
            Ok(py.import("json")?.getattr("dumps")?.unbind())
        })
        .ok()?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("default", py.get_type::<PyString>()).ok()?;
    kwargs.set_item("ensure_ascii", false).ok()?;
    let out = dumps.bind(py).call((v,), Some(&kwargs)).ok()?;
    out.cast::<PyString>().ok().map(text)
}

fn str_of(v: &Bound<'_, PyAny>) -> Value {
    match v.str() {
        Ok(s) => Value::Str(text(&s)),
        Err(_) => Value::Str(Str::from("<unprintable>")),
    }
}

/// One attribute value. Lists of one primitive type become OTel arrays;
/// mappings and mixed lists travel as JSON text; anything else as `str(v)`.
pub fn value_of(v: &Bound<'_, PyAny>) -> Value {
    if let Ok(s) = v.cast::<PyString>() {
        return Value::Str(text(s));
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Value::Bool(b.is_true());
    }
    if v.is_instance_of::<PyInt>() {
        return match v.extract::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => str_of(v),
        };
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        return Value::Float(f.value());
    }
    if v.is_none() {
        return Value::Str(Str::default());
    }
    let sequence = v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>();
    if sequence && let Some(a) = array_of(v) {
        return a;
    }
    if (sequence || v.is_instance_of::<PyDict>())
        && let Some(j) = json_dumps(v)
    {
        return Value::Json(j);
    }
    str_of(v)
}

fn array_of(v: &Bound<'_, PyAny>) -> Option<Value> {
    let items: Vec<Bound<'_, PyAny>> = v.try_iter().ok()?.filter_map(Result::ok).collect();
    let first = items.first()?;
    if first.is_instance_of::<PyString>() {
        let out: Option<Vec<Str>> = items
            .iter()
            .map(|i| i.cast::<PyString>().ok().map(text))
            .collect();
        return out.map(Value::StrArray);
    }
    if first.is_instance_of::<PyBool>() {
        let out: Option<Vec<bool>> = items
            .iter()
            .map(|i| i.cast::<PyBool>().ok().map(|b| b.is_true()))
            .collect();
        return out.map(Value::BoolArray);
    }
    if first.is_instance_of::<PyInt>()
        && items
            .iter()
            .all(|i| i.is_instance_of::<PyInt>() && !i.is_instance_of::<PyBool>())
    {
        let out: Option<Vec<i64>> = items.iter().map(|i| i.extract::<i64>().ok()).collect();
        return out.map(Value::IntArray);
    }
    if first.is_instance_of::<PyFloat>() || first.is_instance_of::<PyInt>() {
        let out: Option<Vec<f64>> = items
            .iter()
            .map(|i| {
                if i.is_instance_of::<PyBool>() {
                    None
                } else {
                    i.extract::<f64>().ok()
                }
            })
            .collect();
        return out.map(Value::FloatArray);
    }
    None
}

/// A `dict[str, Any]` into attributes. Non-string keys are stringified.
pub fn attrs_from_dict(d: &Bound<'_, PyDict>, out: &mut Vec<KeyValue>) {
    out.reserve(d.len());
    for (k, v) in d.iter() {
        let key = match k.cast::<PyString>() {
            Ok(s) => text(s),
            Err(_) => match k.str() {
                Ok(s) => text(&s),
                Err(_) => continue,
            },
        };
        out.push(KeyValue {
            key,
            value: value_of(&v),
        });
    }
}

/// Attributes converted once and attached to many spans (a trace's user,
/// session, request and feature ids travel down to every span under it).
#[pyclass(frozen, name = "Attrs", module = "tokentrace._native")]
pub struct PyAttrs {
    pub inner: Arc<[KeyValue]>,
}

#[pymethods]
impl PyAttrs {
    #[new]
    fn new(attrs: &Bound<'_, PyDict>) -> Self {
        let mut v = Vec::new();
        attrs_from_dict(attrs, &mut v);
        PyAttrs { inner: v.into() }
    }

    /// A new set with `attrs` added to (and overriding) these.
    fn merged(&self, attrs: &Bound<'_, PyDict>) -> Self {
        let mut extra = Vec::new();
        attrs_from_dict(attrs, &mut extra);
        let mut v: Vec<KeyValue> = self
            .inner
            .iter()
            .filter(|kv| !extra.iter().any(|e| e.key == kv.key))
            .cloned()
            .collect();
        v.extend(extra);
        PyAttrs { inner: v.into() }
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn keys(&self) -> Vec<String> {
        self.inner.iter().map(|kv| kv.key.to_string()).collect()
    }
}

/// JSON (core's `FinishedSpan::to_json`) into plain Python objects.
pub fn json_to_py<'py>(py: Python<'py>, v: &Json) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Json::Null => py.None().into_bound(py),
        Json::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Json::String(s) => PyString::new(py, s).into_any(),
        Json::Array(a) => {
            let l = PyList::empty(py);
            for x in a {
                l.append(json_to_py(py, x)?)?;
            }
            l.into_any()
        }
        Json::Object(o) => {
            let d = PyDict::new(py);
            for (k, x) in o {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// `stats()` as a dict of plain values.
pub fn stats_to_py<'py>(
    py: Python<'py>,
    s: &Stats,
    binding_panics: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("enqueued", s.enqueued)?;
    d.set_item("exported", s.exported)?;
    d.set_item("export_failures", s.export_failures)?;
    d.set_item("retries", s.retries)?;
    let dropped = PyDict::new(py);
    for (k, v) in &s.dropped {
        dropped.set_item(*k, *v)?;
    }
    d.set_item("dropped", dropped)?;
    d.set_item("dropped_total", s.dropped_total())?;
    d.set_item("attributes_dropped", s.attributes_dropped)?;
    d.set_item("attributes_truncated", s.attributes_truncated)?;
    d.set_item("events_dropped", s.events_dropped)?;
    d.set_item("worker_panics", s.worker_panics)?;
    d.set_item("binding_errors", binding_panics)?;
    d.set_item("pending", s.pending)?;
    d.set_item("queue_len", s.queue_len)?;
    d.set_item("queue_bytes", s.queue_bytes)?;
    d.set_item("queue_capacity", s.queue_capacity)?;
    d.set_item("queue_max_bytes", s.queue_max_bytes)?;
    let exporters = PyList::empty(py);
    for e in &s.exporters {
        let x = PyDict::new(py);
        x.set_item("name", &e.name)?;
        x.set_item("exported", e.exported)?;
        x.set_item("failed", e.failed)?;
        x.set_item("retries", e.retries)?;
        x.set_item("last_error", e.last_error.as_deref())?;
        exporters.append(x)?;
    }
    d.set_item("exporters", exporters)?;
    Ok(d)
}
