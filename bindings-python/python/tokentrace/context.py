"""Span context: which span is current, carried by `contextvars`.

Each span captures its parent once, when it starts, and keeps it: the parent
is never re-derived from ambient state at the end (which is what breaks
traces when a generator or stream is finished from another task). asyncio
tasks copy the context when created; `concurrent.futures` executors do not,
so instrumentation wraps `ThreadPoolExecutor.submit` and `Thread.start` (see
`instrument/_threads.py`).
"""

from __future__ import annotations

import sys
from contextvars import ContextVar
from typing import Any, Optional

from . import _native


class SpanContext:
    """The identity of a span as its children see it."""

    __slots__ = ("trace_hi", "trace_lo", "span_id", "sampled", "remote", "inherited", "live")

    def __init__(
        self,
        trace_hi: int,
        trace_lo: int,
        span_id: int,
        sampled: bool,
        remote: bool = False,
        inherited: Optional[_native.Attrs] = None,
        live: Any = None,
    ) -> None:
        self.trace_hi = trace_hi
        self.trace_lo = trace_lo
        self.span_id = span_id
        self.sampled = sampled
        #: The span lives elsewhere (another process, or another SDK).
        self.remote = remote
        #: Attributes every descendant carries (user, session, request, feature).
        self.inherited = inherited
        #: The open span object when it is ours (for `set_attributes`).
        self.live = live

    @property
    def trace_id(self) -> str:
        return f"{self.trace_hi:016x}{self.trace_lo:016x}"

    @property
    def span_id_hex(self) -> str:
        return f"{self.span_id:016x}"

    def __repr__(self) -> str:
        return f"SpanContext(trace_id={self.trace_id}, span_id={self.span_id_hex}, sampled={self.sampled})"


CURRENT: ContextVar[Optional[SpanContext]] = ContextVar("tokentrace.current_span", default=None)

#: Look at OpenTelemetry's current span when no tokentrace span is current.
otel_interop = True


def _otel_parent(trace_mod: Any) -> Optional[SpanContext]:
    try:
        sc = trace_mod.get_current_span().get_span_context()
        if not sc.is_valid:
            return None
        tid = sc.trace_id
        return SpanContext(
            tid >> 64,
            tid & 0xFFFFFFFFFFFFFFFF,
            sc.span_id,
            bool(sc.trace_flags & 1),
            remote=True,
        )
    except Exception:
        return None


def otel_fallback_parent() -> Optional[SpanContext]:
    """The active OpenTelemetry span, when interop is on and OpenTelemetry is
    imported (the native model-call start asks only when no tokentrace span
    is current and `opentelemetry.trace` is in `sys.modules`)."""
    if otel_interop:
        trace_mod = sys.modules.get("opentelemetry.trace")
        if trace_mod is not None:
            return _otel_parent(trace_mod)
    return None


def parent_context() -> Optional[SpanContext]:
    """The parent a span starting now gets: tokentrace's current span, else an
    active OpenTelemetry span (tokentrace spans then join its trace)."""
    ctx = CURRENT.get()
    if ctx is not None:
        return ctx
    return otel_fallback_parent()
