"""W3C trace context (`traceparent`) across services.

`inject(headers)` writes the current span's `traceparent` (tokentrace's
current span, else an active OpenTelemetry span) into a mutable mapping.
`extract(headers)` reads one and returns a context that new spans can take as
their parent: `with tokentrace.trace("handle", parent=ctx)`, or
`with extract(headers): ...` to make it current for everything inside.
"""

from __future__ import annotations

from contextvars import Token
from typing import Any, MutableMapping, Optional

from .context import CURRENT, SpanContext, parent_context

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"


def format_traceparent(ctx: SpanContext) -> str:
    return f"00-{ctx.trace_hi:016x}{ctx.trace_lo:016x}-{ctx.span_id:016x}-{'01' if ctx.sampled else '00'}"


def parse_traceparent(value: str) -> Optional["RemoteContext"]:
    """Parses a `traceparent` header per W3C Trace Context level 1; None if invalid."""
    if not isinstance(value, str):
        return None
    parts = value.strip().split("-")
    if len(parts) < 4:
        return None
    version, trace_hex, span_hex, flags_hex = parts[0], parts[1], parts[2], parts[3]
    if len(version) != 2 or version == "ff" or len(trace_hex) != 32 or len(span_hex) != 16 or len(flags_hex) != 2:
        return None
    if version == "00" and len(parts) != 4:
        return None
    try:
        int(version, 16)
        trace_id = int(trace_hex, 16)
        span_id = int(span_hex, 16)
        flags = int(flags_hex, 16)
    except ValueError:
        return None
    if trace_id == 0 or span_id == 0 or trace_hex != trace_hex.lower() or span_hex != span_hex.lower():
        return None
    return RemoteContext(trace_id >> 64, trace_id & 0xFFFFFFFFFFFFFFFF, span_id, bool(flags & 1))


def _get(headers: Any, name: str) -> Optional[str]:
    try:
        v = headers.get(name)
        if v is not None:
            return v if isinstance(v, str) else str(v)
        for k in headers.keys():
            if isinstance(k, str) and k.lower() == name:
                v = headers[k]
                return v if isinstance(v, str) else str(v)
    except Exception:
        return None
    return None


class RemoteContext(SpanContext):
    """A parent that lives in another process. Also a context manager that
    makes it current."""

    __slots__ = ("_token",)

    def __init__(self, hi: int, lo: int, span_id: int, sampled: bool) -> None:
        super().__init__(hi, lo, span_id, sampled, remote=True)
        self._token: Optional["Token[Any]"] = None

    def __enter__(self) -> "RemoteContext":
        self._token = CURRENT.set(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._token is not None:
            try:
                CURRENT.reset(self._token)
            except (ValueError, RuntimeError):
                pass
            self._token = None


def inject(headers: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Adds `traceparent` for the current span (if any) and returns `headers`."""
    try:
        ctx = parent_context()
        if ctx is not None:
            headers[TRACEPARENT] = format_traceparent(ctx)
    except Exception:
        pass
    return headers


def extract(headers: Any) -> Optional[RemoteContext]:
    """The remote parent named by `headers` (any mapping), or None."""
    value = _get(headers, TRACEPARENT)
    if value is None:
        return None
    return parse_traceparent(value)
