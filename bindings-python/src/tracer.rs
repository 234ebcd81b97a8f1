//! `PyTracer`: the Python handle on the core tracer.
//!
//! Two record paths, both shaped to do as little as possible on the
//! application thread: model calls are appended by Python to the `pending`
//! list and recorded in batches from the raw request/response bytes the HTTP
//! client already holds (`pending.rs`; core parses them on the worker), and
//! `record_span` takes a manual span. Neither ever raises: a panic is caught
//! and counted (`stats()["binding_errors"]`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use tokentrace_core::sample::RootSampler;
use tokentrace_core::{
    ApiKind, Config, ConfigBuilder, Event, Exchange, KeyValue, ParentSampling, Sampler, SpanKind,
    SpanRecord, Status, Str, Tracer, Value,
};

use crate::conversions::{
    PyAttrs, attrs_from_dict, json_to_py, span_id, stats_to_py, text, trace_id,
};
use crate::error::{CoreError, EnterCore, invalid_option, seconds};
use crate::pending;

/// Panics caught at the record boundary (each one lost a span).
pub static BINDING_ERRORS: AtomicU64 = AtomicU64::new(0);

/// Runs a hot-path body; a panic becomes `false` plus a count.
#[inline]
pub(crate) fn guarded(f: impl FnOnce() -> bool) -> bool {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(_) => {
            BINDING_ERRORS.fetch_add(1, Relaxed);
            false
        }
    }
}

#[pyclass(frozen, name = "Tracer", module = "tokentrace._native")]
pub struct PyTracer {
    pub inner: Tracer,
    /// Model calls captured and not yet recorded (see `pending.rs`).
    pub(crate) pending: Py<PyList>,
    /// Root spans are always sampled: no sampling call for them.
    pub(crate) root_always: bool,
    /// Children follow their parent's decision: no sampling call for them.
    pub(crate) parent_based: bool,
}

pub(crate) fn api_kind(code: u8) -> Option<ApiKind> {
    Some(match code {
        1 => ApiKind::OpenAiChatCompletions,
        2 => ApiKind::OpenAiResponses,
        3 => ApiKind::OpenAiEmbeddings,
        4 => ApiKind::OpenAiCompletions,
        5 => ApiKind::AnthropicMessages,
        _ => return None,
    })
}

/// Where a model call sits: its trace, its parent span and its times.
pub(crate) struct CallSpan {
    /// 0, 0: a new trace (the binding left the id to the core).
    pub trace_hi: u64,
    pub trace_lo: u64,
    pub parent: u64,
    pub parent_remote: bool,
    pub start_ns: u64,
    pub end_ns: u64,
}

impl PyTracer {
    /// Queues one model call. Never panics out (a panic is counted).
    pub(crate) fn record_call(
        &self,
        x: CallSpan,
        ex: Exchange,
        inherited: Option<&Bound<'_, PyAttrs>>,
    ) -> bool {
        guarded(|| {
            let mut r = SpanRecord::new("");
            // 0, 0: a new trace (the binding left the id to the core)
            if x.trace_hi != 0 || x.trace_lo != 0 {
                r.trace_id = trace_id(x.trace_hi, x.trace_lo);
            }
            // The span id stays the one `SpanRecord::new` drew: nothing nests under a model call.
            r.parent_span_id = span_id(x.parent);
            r.parent_is_remote = x.parent_remote;
            r.kind = SpanKind::Client;
            r.start_unix_nanos = x.start_ns;
            r.end_unix_nanos = x.end_ns;
            if let Some(t) = &ex.error_type {
                r.status = Status::error(ex.error_message.clone().unwrap_or_else(|| t.clone()));
            }
            if let Some(i) = inherited {
                r.attributes.extend(i.get().inner.iter().cloned());
            }
            r.exchange = Some(Box::new(ex));
            self.inner.record(r)
        })
    }
}

fn opt_text(v: Option<&Bound<'_, PyString>>) -> Option<Str> {
    v.map(text)
}

/// `tokentrace.span(kind=...)` kinds that map onto GenAI operations.
fn kind_attributes(kind: &str, name: &Str, out: &mut Vec<KeyValue>) {
    out.push(KeyValue::new("tokentrace.span.kind", kind));
    let (op, name_key) = match kind {
        "tool" => ("execute_tool", Some("gen_ai.tool.name")),
        "agent" => ("invoke_agent", Some("gen_ai.agent.name")),
        "retriever" | "retrieval" => ("retrieval", None),
        "workflow" => ("invoke_workflow", None),
        _ => return,
    };
    out.push(KeyValue::new("gen_ai.operation.name", op));
    if let Some(k) = name_key {
        out.push(KeyValue::new(k, Value::Str(name.clone())));
    }
}

fn apply_option(b: ConfigBuilder, key: &str, v: &Bound<'_, PyAny>) -> PyResult<ConfigBuilder> {
    let bad = |what: &str| {
        let shown = v.repr().map(|r| r.to_string()).unwrap_or_default();
        invalid_option(key, shown, what)
    };
    let string =
        || -> PyResult<String> { v.extract::<String>().map_err(|_| bad("expected a string")) };
    let count = || -> PyResult<usize> {
        v.extract::<usize>()
            .map_err(|_| bad("expected a positive integer"))
    };
    let secs = || -> PyResult<std::time::Duration> {
        let s = v
            .extract::<f64>()
            .map_err(|_| bad("expected seconds as a number"))?;
        seconds(key, s)
    };
    let flag = || -> PyResult<bool> {
        v.extract::<bool>()
            .map_err(|_| bad("expected True or False"))
    };
    let path = |what: &str| -> PyResult<std::path::PathBuf> {
        v.extract::<std::path::PathBuf>().map_err(|_| bad(what))
    };
    Ok(match key {
        "service_name" => b.with_service_name(string()?),
        "service_version" => b.with_service_version(string()?),
        "environment" => b.with_environment(string()?),
        "exporter" | "exporters" => {
            let s = if let Ok(s) = v.extract::<String>() {
                s
            } else {
                v.extract::<Vec<String>>()
                    .map_err(|_| bad("expected a string or a list of strings"))?
                    .join(",")
            };
            b.with_exporters_str(s)
        }
        "endpoint" => b.with_endpoint(string()?),
        "traces_endpoint" => b.with_traces_endpoint(string()?),
        "protocol" => b.with_protocol(string()?),
        "compression" => b.with_compression(string()?),
        "headers" => {
            if let Ok(s) = v.extract::<String>() {
                b.with_headers_str(s)
            } else if let Ok(d) = v.cast::<PyDict>() {
                let mut pairs = Vec::with_capacity(d.len());
                for (k, x) in d.iter() {
                    let k: String = k
                        .extract()
                        .map_err(|_| bad("header names must be strings"))?;
                    let x: String = x.str()?.extract()?;
                    pairs.push((k, x));
                }
                b.with_headers(pairs)
            } else {
                return Err(bad("expected a dict or a \"k=v,k2=v2\" string"));
            }
        }
        "timeout" => b.with_timeout(secs()?),
        "dir" => b.with_dir(path("expected a path")?),
        "capture_content" => b.with_capture_content(flag()?),
        "disabled" => b.with_disabled(flag()?),
        "sampler" => b.with_sampler_str(string()?, None),
        "max_queue_size" => b.with_max_queue_size(count()?),
        "max_queue_bytes" => b.with_max_queue_bytes(count()?),
        "max_export_batch_size" => b.with_max_export_batch_size(count()?),
        "max_batch_bytes" => b.with_max_batch_bytes(count()?),
        "attribute_count_limit" => b.with_attribute_count_limit(count()?),
        "attribute_value_length_limit" => b.with_attribute_value_length_limit(count()?),
        "event_count_limit" => b.with_event_count_limit(count()?),
        "store_max_file_bytes" => b.with_store_max_file_bytes(count()? as u64),
        "store_max_total_bytes" => b.with_store_max_total_bytes(count()? as u64),
        "schedule_delay" => b.with_schedule_delay(secs()?),
        "export_timeout" => b.with_export_timeout(secs()?),
        "retry_max_elapsed" => b.with_retry_max_elapsed(secs()?),
        "semconv" => b.with_semconv(string()?),
        "metrics" => b.with_metrics(flag()?),
        "metric_export_interval" => b.with_metric_export_interval(secs()?),
        "prices" => b.with_prices_file(path("expected the path of a JSON price file")?),
        "redact" => b.with_redaction_enabled(flag()?),
        "tail_sampling" => b.with_tail_sampling_enabled(flag()?),
        "resource_attributes" => {
            let d = v.cast::<PyDict>().map_err(|_| bad("expected a dict"))?;
            let mut b = b;
            for (k, x) in d.iter() {
                b = b.with_resource_attribute(k.str()?.to_string(), x.str()?.to_string());
            }
            b
        }
        _ => return Err(invalid_option(key, "", "unknown option")),
    })
}

/// Builds the config: options from code, then the environment, then defaults.
fn build_config(options: Option<&Bound<'_, PyDict>>) -> PyResult<Config> {
    let mut b = ConfigBuilder::new();
    let mut sampler: Option<String> = None;
    let mut sampler_arg: Option<String> = None;
    if let Some(opts) = options {
        for (k, v) in opts.iter() {
            if v.is_none() {
                continue;
            }
            let k: String = k.extract()?;
            match k.as_str() {
                "sampler" => {
                    sampler = Some(v.extract::<String>().map_err(|_| {
                        invalid_option("sampler", v.to_string(), "expected a string")
                    })?)
                }
                "sampler_arg" => sampler_arg = Some(v.str()?.to_string()),
                _ => b = apply_option(b, &k, &v)?,
            }
        }
    }
    match (sampler, sampler_arg) {
        (Some(s), arg) => b = b.with_sampler_str(s, arg),
        (None, Some(arg)) => b = b.with_sampler_str("parentbased_traceidratio", Some(arg)),
        (None, None) => {}
    }
    b.build().map_err(|e| CoreError::from(e).into())
}

#[pymethods]
impl PyTracer {
    /// Starts a tracer. Keyword options feed core's `ConfigBuilder`; `None`
    /// means "not set here" (the environment, then the default, decides).
    #[new]
    #[pyo3(signature = (**options))]
    fn new(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let config = build_config(options)?;
        let (root_always, parent_based) = match config.sampler {
            Sampler::AlwaysOn => (true, false),
            Sampler::ParentBased(RootSampler::AlwaysOn) => (true, true),
            Sampler::ParentBased(_) => (false, true),
            _ => (false, false),
        };
        let disabled = config.disabled;
        let inner =
            Tracer::with_exporters(config, "python", Vec::new()).map_err(CoreError::from)?;
        Ok(PyTracer {
            inner,
            pending: pending::new_list(py),
            root_always: root_always && !disabled,
            parent_based,
        })
    }

    #[getter]
    fn root_always(&self) -> bool {
        self.root_always
    }

    #[getter]
    fn parent_based(&self) -> bool {
        self.parent_based
    }

    #[getter]
    fn disabled(&self) -> bool {
        self.inner.config().disabled
    }

    #[getter]
    fn capture_content(&self) -> bool {
        self.inner.config().capture_content
    }

    #[getter]
    fn service_name(&self) -> String {
        self.inner.config().resource.service_name.clone()
    }

    #[getter]
    fn exporters(&self) -> Vec<String> {
        self.inner
            .config()
            .exporters
            .iter()
            .map(|e| format!("{e:?}").to_ascii_lowercase())
            .collect()
    }

    #[getter]
    fn export_timeout(&self) -> f64 {
        self.inner.config().batch.export_timeout.as_secs_f64()
    }

    /// Environment values that were ignored (each also warned once).
    #[getter]
    fn config_warnings(&self) -> Vec<String> {
        self.inner.config().warnings.clone()
    }

    #[getter]
    fn is_shutdown(&self) -> bool {
        self.inner.is_shutdown()
    }

    /// Head sampling for a span of trace `(hi, lo)`; `parent` is 0 (root),
    /// 1 (sampled parent) or 2 (unsampled parent).
    fn should_sample(&self, trace_hi: u64, trace_lo: u64, parent: u8) -> bool {
        let p = match parent {
            0 => ParentSampling::None,
            1 => ParentSampling::Sampled,
            _ => ParentSampling::NotSampled,
        };
        guarded(|| self.inner.should_sample(&trace_id(trace_hi, trace_lo), p))
    }

    /// Model calls captured and not yet recorded: the instrumentation
    /// appends one entry per call (see `pending.rs`).
    #[getter]
    fn pending(&self, py: Python<'_>) -> Py<PyList> {
        self.pending.clone_ref(py)
    }

    /// Records the pending model calls.
    fn drain(&self, py: Python<'_>) {
        pending::drain(self, py);
    }

    /// Records a manual span (`trace`, `span`, `observe`). Never raises.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (trace_hi, trace_lo, span, parent, parent_remote, name, kind, start_ns,
        end_ns, error_type, error_message, inherited, attrs, events))]
    fn record_span(
        &self,
        py: Python<'_>,
        trace_hi: u64,
        trace_lo: u64,
        span: u64,
        parent: u64,
        parent_remote: bool,
        name: &Bound<'_, PyString>,
        kind: Option<&Bound<'_, PyString>>,
        start_ns: u64,
        end_ns: u64,
        error_type: Option<&Bound<'_, PyString>>,
        error_message: Option<&Bound<'_, PyString>>,
        inherited: Option<&Bound<'_, PyAttrs>>,
        attrs: Option<&Bound<'_, PyDict>>,
        events: Option<&Bound<'_, PyList>>,
    ) -> bool {
        pending::drain(self, py);
        guarded(|| {
            let name = text(name);
            let mut r = SpanRecord::new(name.clone());
            r.trace_id = trace_id(trace_hi, trace_lo);
            r.span_id = span_id(span).unwrap_or(r.span_id);
            r.parent_span_id = span_id(parent);
            r.parent_is_remote = parent_remote;
            r.start_unix_nanos = start_ns;
            r.end_unix_nanos = end_ns;
            if let Some(i) = inherited {
                r.attributes.extend(i.get().inner.iter().cloned());
            }
            if let Some(k) = kind {
                kind_attributes(&text(k), &name, &mut r.attributes);
            }
            if let Some(a) = attrs {
                attrs_from_dict(a, &mut r.attributes);
            }
            if let Some(t) = error_type {
                let t = text(t);
                let msg = opt_text(error_message);
                r.attributes
                    .push(KeyValue::new("error.type", Value::Str(t.clone())));
                r.status = Status::error(msg.unwrap_or(t));
            }
            if let Some(evs) = events {
                for e in evs.iter() {
                    let Ok((n, ts, a)) =
                        e.extract::<(Bound<'_, PyString>, u64, Option<Bound<'_, PyDict>>)>()
                    else {
                        continue;
                    };
                    let mut attributes = Vec::new();
                    if let Some(a) = a {
                        attrs_from_dict(&a, &mut attributes);
                    }
                    r.events.push(Event {
                        name: text(&n),
                        time_unix_nanos: ts,
                        attributes,
                    });
                }
            }
            self.inner.record(r)
        })
    }

    /// User feedback on a trace, recorded by core as a `feedback` span with
    /// `gen_ai.evaluation.*` attributes (which the tail sampler reads).
    /// Raises `ValueError` for a non-finite score or an invalid trace id.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (trace_hi, trace_lo, parent, score, label = None, comment = None))]
    fn feedback(
        &self,
        py: Python<'_>,
        trace_hi: u64,
        trace_lo: u64,
        parent: u64,
        score: f64,
        label: Option<String>,
        comment: Option<String>,
    ) -> PyResult<bool> {
        pending::drain(self, py);
        self.inner
            .feedback(
                trace_id(trace_hi, trace_lo),
                span_id(parent),
                score,
                label.as_deref(),
                comment.as_deref(),
            )
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
    }

    /// Waits (GIL released) until everything recorded so far is exported.
    #[pyo3(signature = (timeout = 5.0))]
    fn flush(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let d = seconds("timeout", timeout)?;
        pending::drain(self, py);
        let t = self.inner.clone();
        py.enter_core(move || t.flush(d))
    }

    /// Stops the tracer, delivering what is queued within `timeout`.
    /// Returns the number of spans exported over the tracer's life.
    #[pyo3(signature = (timeout = 5.0))]
    fn shutdown(&self, py: Python<'_>, timeout: f64) -> PyResult<u64> {
        let d = seconds("timeout", timeout)?;
        pending::drain(self, py);
        let t = self.inner.clone();
        py.enter_core(move || t.shutdown(d).map(|r| r.exported))
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        pending::drain(self, py);
        stats_to_py(py, &self.inner.stats(), BINDING_ERRORS.load(Relaxed))
    }

    /// Spans the memory exporter holds, as dicts (oldest first).
    fn memory_spans<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        pending::drain(self, py);
        let spans = self.inner.memory_spans();
        let out = PyList::empty(py);
        for s in &spans {
            out.append(json_to_py(py, &s.to_json())?)?;
        }
        Ok(out)
    }

    fn clear_memory(&self, py: Python<'_>) {
        pending::drain(self, py);
        self.inner.clear_memory();
    }

    /// `os.register_at_fork(before=...)`: pauses the export worker at a safe
    /// point so the child inherits no running thread or held lock.
    fn before_fork(&self, py: Python<'_>) -> bool {
        pending::drain(self, py);
        let t = self.inner.clone();
        py.detach(move || guarded(|| t.before_fork()))
    }

    fn after_fork_parent(&self) {
        guarded(|| {
            self.inner.after_fork_parent();
            true
        });
    }

    /// Gives the child a fresh queue and worker (no locks, no logging), and
    /// an empty pending list: what it holds is the parent's to record.
    fn after_fork_child(&self, py: Python<'_>) {
        pending::discard(self, py);
        guarded(|| {
            self.inner.after_fork_child();
            true
        });
    }
}

/// For tests of the panic boundary: how many record calls panicked.
pub fn binding_errors() -> u64 {
    BINDING_ERRORS.load(Relaxed)
}
