"""tokentrace: trace every LLM call as OpenTelemetry spans, with a Rust core.

    import tokentrace
    tokentrace.init(service_name="my-app")          # or configure by environment
    with tokentrace.trace("answer_question", user_id="u-1"):
        client.chat.completions.create(...)          # traced automatically
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, List, Optional, Union

from . import _native
from . import _runtime as rt
from . import testing
from .instrument import instrument as _instrument
from .instrument import uninstrument as _uninstrument
from .context import CURRENT, SpanContext, parent_context
from .decorators import LiveSpan, observe, recent_roots, span, trace
from .errors import AlreadyShutdownError, FlushTimeoutError, InvalidConfigError, TokentraceError
from .propagation import extract, inject

__version__: str = _native.__version__

_init_lock = threading.Lock()


def init(
    service_name: Optional[str] = None,
    environment: Optional[str] = None,
    exporter: Optional[Union[str, List[str]]] = None,
    endpoint: Optional[str] = None,
    protocol: Optional[str] = None,
    headers: Optional[Union[Dict[str, str], str]] = None,
    capture_content: Optional[bool] = None,
    instrument: bool = True,
    *,
    sampler: Optional[str] = None,
    sampler_arg: Optional[Union[str, float]] = None,
    exit_timeout: Optional[float] = None,
    mask: Optional[Callable[[str], str]] = None,
    **options: Any,
) -> None:
    """Starts tracing. Arguments left as None come from the environment
    (`OTEL_*`, `TOKENTRACE_*`), then defaults; without an endpoint, spans go
    to the local store (`.tokentrace/`, read by `python -m tokentrace view`).

    Further keyword options (all optional): service_version, traces_endpoint,
    timeout, compression, dir, disabled, resource_attributes, max_queue_size,
    max_queue_bytes, max_export_batch_size, max_batch_bytes, schedule_delay,
    export_timeout, retry_max_elapsed, attribute_count_limit,
    attribute_value_length_limit, event_count_limit, store_max_file_bytes,
    store_max_total_bytes; and the worker's policies: semconv ("genai",
    "openinference" or "both"), prices (path of a JSON price file merged over
    the built-in table), redact (False turns PII and secret redaction off),
    tail_sampling (True keeps whole traces by the default rules), metrics,
    metric_export_interval. Durations are seconds.

    `mask` is an optional application hook for masking of your own: it gets
    the raw JSON text of each captured model request and response (before
    core's built-in PII and secret redaction, which still runs) and returns
    the text to record. It runs on the calling thread when a call ends; if it
    raises, that call's content is dropped rather than recorded unmasked.

    Raises InvalidConfigError for an invalid value given here (invalid
    environment values only warn). Calling init() again replaces the tracer
    (the previous one is shut down, delivering what it holds).
    """
    if mask is not None and not callable(mask):
        raise InvalidConfigError(f"invalid mask {mask!r}: expected a callable taking and returning str")
    with _init_lock:
        t = _native.Tracer(
            service_name=service_name,
            environment=environment,
            exporter=exporter,
            endpoint=endpoint,
            protocol=protocol,
            headers=headers,
            capture_content=capture_content,
            sampler=sampler,
            sampler_arg=sampler_arg,
            **options,
        )
        old = rt.tracer
        rt.mask = mask
        rt.set_tracer(t, exit_timeout)
        if old is not None and not old.is_shutdown:
            try:
                old.shutdown(rt.exit_timeout)
            except TokentraceError:
                pass
    if instrument:
        _instrument()


def instrument() -> None:
    """Patches the supported client libraries (done by init() by default)."""
    _instrument()


def uninstrument() -> None:
    """Restores every patched method; spans stop being produced for client calls."""
    _uninstrument()


def flush(timeout: float = 5.0) -> None:
    """Blocks (GIL released) until every span recorded so far is exported.
    Raises FlushTimeoutError at the deadline, AlreadyShutdownError after shutdown()."""
    t = rt.tracer
    if t is None:
        return
    t.flush(timeout)


async def aflush(timeout: float = 5.0) -> None:
    """flush() for async code: waits in a worker thread, not on the event loop.
    Call it in an ASGI lifespan shutdown (see `tokentrace.asgi`)."""
    import asyncio

    t = rt.tracer
    if t is None:
        return
    await asyncio.get_running_loop().run_in_executor(None, t.flush, timeout)


def shutdown(timeout: float = 5.0) -> None:
    """Delivers what is queued (within `timeout`) and stops tracing."""
    t = rt.tracer
    if t is None:
        return
    t.shutdown(timeout)


def stats() -> Dict[str, Any]:
    """Counters: enqueued, exported, export_failures, retries, dropped (by
    reason), pending, queue_len, queue_bytes, queue_capacity and
    queue_max_bytes (the bounds in effect), exporters, ..."""
    t = rt.tracer
    if t is None:
        return {}
    return dict(t.stats())


def set_attributes(**attributes: Any) -> None:
    """Adds attributes to the current span (no-op outside a span)."""
    ctx = CURRENT.get()
    if ctx is not None and ctx.live is not None:
        ctx.live.set_attributes(**attributes)


def current_span() -> Optional[LiveSpan]:
    ctx = CURRENT.get()
    return ctx.live if ctx is not None else None


def current_trace_id() -> Optional[str]:
    """The current trace id as 32 hex digits, or None outside any trace."""
    ctx = parent_context()
    return ctx.trace_id if ctx is not None else None


def current_span_id() -> Optional[str]:
    ctx = parent_context()
    return ctx.span_id_hex if ctx is not None else None


def feedback(
    trace_id: str,
    score: float,
    label: Optional[str] = None,
    comment: Optional[str] = None,
) -> bool:
    """Attaches user feedback to a trace after the fact: a `feedback` span in
    that trace (a child of its root when the root was started in this
    process) with `gen_ai.evaluation.score.value` / `.score.label` /
    `gen_ai.evaluation.explanation`. A low score keeps the trace under tail
    sampling when it arrives in time. Returns False when tracing is not
    initialised; raises ValueError for an invalid trace id or score."""
    t = rt.tracer
    if t is None:
        return False
    tid = str(trace_id).strip().lower()
    try:
        hi, lo = int(tid[:16], 16), int(tid[16:], 16)
    except ValueError:
        hi = lo = 0
    if len(tid) != 32 or (hi == 0 and lo == 0):
        raise ValueError(f"invalid trace_id {trace_id!r}: expected 32 hex digits, not all zero")
    return bool(t.feedback(hi, lo, recent_roots.get(tid, 0), float(score), label, comment))


def is_initialized() -> bool:
    return rt.tracer is not None


__all__ = [
    "init",
    "instrument",
    "uninstrument",
    "trace",
    "span",
    "observe",
    "set_attributes",
    "current_span",
    "current_trace_id",
    "current_span_id",
    "feedback",
    "flush",
    "aflush",
    "shutdown",
    "stats",
    "inject",
    "extract",
    "testing",
    "SpanContext",
    "LiveSpan",
    "TokentraceError",
    "InvalidConfigError",
    "FlushTimeoutError",
    "AlreadyShutdownError",
    "__version__",
]
