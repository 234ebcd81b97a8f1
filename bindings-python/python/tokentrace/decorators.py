"""Manual spans: `trace(...)`, `span(...)` and the `@observe` decorator.

A span takes its parent when it starts (the current tokentrace span, an
incoming `traceparent`, or an active OpenTelemetry span) and is recorded
once, when it ends. Generators and async generators are spans over their
whole iteration, and the span is current only while their body runs: the
context is set on each resumption and reset before each `yield`, so a
consumer in another task never sees it.
"""

from __future__ import annotations

import functools
import inspect
import traceback
from time import time_ns
from typing import Any, Callable, Dict, List, Optional, TypeVar

from . import _native
from . import _runtime as rt
from .context import CURRENT, SpanContext, parent_context

F = TypeVar("F", bound=Callable[..., Any])

#: `trace()` keywords with a conventional attribute name.
ASSOCIATION_KEYS = {
    "user_id": "user.id",
    "session_id": "session.id",
    "request_id": "request.id",
    "feature": "feature.name",
}

#: Recent traces started here: trace id -> root span id (for `feedback`).
recent_roots: "dict[str, int]" = {}
_RECENT_MAX = 4096


class LiveSpan:
    """An open span. Use as a (async) context manager."""

    __slots__ = ("name", "kind", "ctx", "parent", "start_ns", "attrs", "events", "_token", "_assoc", "_explicit_parent")

    def __init__(
        self,
        name: str,
        kind: Optional[str] = None,
        attrs: Optional[Dict[str, Any]] = None,
        assoc: Optional[Dict[str, Any]] = None,
        parent: Optional[SpanContext] = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.attrs = attrs
        self.events: Optional[List[Any]] = None
        self.ctx: Optional[SpanContext] = None
        self.parent: Optional[SpanContext] = None
        self.start_ns = 0
        self._token: Any = None
        self._assoc = assoc
        self._explicit_parent = parent

    # -- lifecycle -------------------------------------------------------

    def start(self) -> "LiveSpan":
        """Opens the span without making it current."""
        try:
            parent = self._explicit_parent or parent_context()
            self.parent = parent
            t = rt.tracer
            span_id = rt.getrandbits(64) or 1
            if parent is None:
                hi = rt.getrandbits(64)
                lo = rt.getrandbits(64) or 1
                sampled = t is not None and (rt.root_always or t.should_sample(hi, lo, 0))
                inherited = None
            else:
                hi, lo = parent.trace_hi, parent.trace_lo
                if t is None:
                    sampled = False
                elif rt.parent_based:
                    sampled = parent.sampled
                else:
                    sampled = t.should_sample(hi, lo, 1 if parent.sampled else 2)
                inherited = parent.inherited
            if self._assoc:
                inherited = inherited.merged(self._assoc) if inherited is not None else _native.Attrs(self._assoc)
            self.ctx = SpanContext(hi, lo, span_id, sampled, False, inherited, self)
            if parent is None or parent.remote:
                trace_hex = f"{hi:016x}{lo:016x}"
                if len(recent_roots) >= _RECENT_MAX:
                    recent_roots.pop(next(iter(recent_roots)))
                recent_roots.setdefault(trace_hex, span_id)
        except Exception:
            self.ctx = None
        self.start_ns = time_ns()
        return self

    def end(self, exc: Optional[BaseException] = None) -> None:
        end_ns = time_ns()
        ctx = self.ctx
        t = rt.tracer
        if ctx is None or t is None or not ctx.sampled:
            return
        try:
            parent = self.parent
            error_type = error_message = None
            events = self.events
            if exc is not None:
                error_type = type(exc).__qualname__
                error_message = str(exc)
                ev_attrs = {
                    "exception.type": f"{type(exc).__module__}.{type(exc).__qualname__}",
                    "exception.message": error_message,
                }
                try:
                    ev_attrs["exception.stacktrace"] = "".join(
                        traceback.format_exception(type(exc), exc, exc.__traceback__)
                    )
                except Exception:
                    pass
                events = (events or []) + [("exception", end_ns, ev_attrs)]
            t.record_span(
                ctx.trace_hi,
                ctx.trace_lo,
                ctx.span_id,
                parent.span_id if parent is not None else 0,
                parent.remote if parent is not None else False,
                self.name,
                self.kind,
                self.start_ns,
                end_ns,
                error_type,
                error_message,
                ctx.inherited,
                self.attrs,
                events,
            )
        except Exception:
            pass

    def _attach(self) -> None:
        self._token = CURRENT.set(self.ctx) if self.ctx is not None else None

    def _detach(self) -> None:
        tok = self._token
        self._token = None
        if tok is not None:
            try:
                CURRENT.reset(tok)
            except (ValueError, RuntimeError):
                # Ended in another context (a generator closed from another
                # task): that context was never ours to change.
                pass

    def __enter__(self) -> "LiveSpan":
        self.start()
        self._attach()
        return self

    def __exit__(self, et: Any, ev: Any, tb: Any) -> None:
        self._detach()
        self.end(ev)

    async def __aenter__(self) -> "LiveSpan":
        return self.__enter__()

    async def __aexit__(self, et: Any, ev: Any, tb: Any) -> None:
        self.__exit__(et, ev, tb)

    # -- user API ----------------------------------------------------------

    def set_attributes(self, **attrs: Any) -> None:
        if self.attrs is None:
            self.attrs = {}
        self.attrs.update(attrs)

    def set_attribute(self, key: str, value: Any) -> None:
        if self.attrs is None:
            self.attrs = {}
        self.attrs[key] = value

    def add_event(self, name: str, **attrs: Any) -> None:
        if self.events is None:
            self.events = []
        self.events.append((name, time_ns(), attrs or None))

    @property
    def trace_id(self) -> Optional[str]:
        return self.ctx.trace_id if self.ctx is not None else None

    @property
    def span_id(self) -> Optional[str]:
        return self.ctx.span_id_hex if self.ctx is not None else None


def trace(name: str, *, parent: Optional[SpanContext] = None, **attributes: Any) -> LiveSpan:
    """A workflow span. `user_id`, `session_id`, `request_id` and `feature`
    become `user.id`, `session.id`, `request.id` and `feature.name` on it and
    on every span under it; other keywords become attributes of this span."""
    assoc = None
    attrs = None
    for k, v in attributes.items():
        if v is None:
            continue
        conv = ASSOCIATION_KEYS.get(k)
        if conv is not None:
            if assoc is None:
                assoc = {}
            assoc[conv] = v
        else:
            if attrs is None:
                attrs = {}
            attrs[k] = v
    return LiveSpan(name, "workflow", attrs, assoc, parent)


def span(name: str, *, kind: Optional[str] = None, **attributes: Any) -> LiveSpan:
    """A step inside a trace. `kind` is free text; `tool`, `agent`,
    `retriever` and `workflow` also set the matching GenAI operation."""
    return LiveSpan(name, kind, attributes or None)


def observe(
    fn: Optional[Callable[..., Any]] = None, *, name: Optional[str] = None, kind: Optional[str] = None
) -> Any:
    """Decorator: each call of the function is a span (sync, async,
    generator and async generator functions)."""

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        span_name = name or str(getattr(f, "__qualname__", None) or getattr(f, "__name__", "call"))
        if inspect.isasyncgenfunction(f):
            return _wrap_async_gen(f, span_name, kind)
        if inspect.isgeneratorfunction(f):
            return _wrap_gen(f, span_name, kind)
        if inspect.iscoroutinefunction(f):

            @functools.wraps(f)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with LiveSpan(span_name, kind):
                    return await f(*args, **kwargs)

            return async_wrapper

        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with LiveSpan(span_name, kind):
                return f(*args, **kwargs)

        return wrapper

    if fn is not None and callable(fn):
        return decorate(fn)
    return decorate


def _wrap_gen(f: Callable[..., Any], span_name: str, kind: Optional[str]) -> Callable[..., Any]:
    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        live = LiveSpan(span_name, kind).start()
        gen = f(*args, **kwargs)
        error: Optional[BaseException] = None
        try:
            send_value: Any = None
            thrown: Optional[BaseException] = None
            while True:
                live._attach()
                try:
                    if thrown is not None:
                        exc, thrown = thrown, None
                        item = gen.throw(exc)
                    else:
                        item = gen.send(send_value)
                except StopIteration as stop:
                    return stop.value
                finally:
                    live._detach()
                try:
                    send_value = yield item
                except GeneratorExit:
                    gen.close()
                    raise
                except BaseException as e:
                    thrown = e
        except GeneratorExit:
            raise
        except BaseException as e:
            error = e
            raise
        finally:
            live.end(error)

    return wrapper


def _wrap_async_gen(f: Callable[..., Any], span_name: str, kind: Optional[str]) -> Callable[..., Any]:
    @functools.wraps(f)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        live = LiveSpan(span_name, kind).start()
        agen = f(*args, **kwargs)
        error: Optional[BaseException] = None
        try:
            send_value: Any = None
            thrown: Optional[BaseException] = None
            while True:
                live._attach()
                try:
                    if thrown is not None:
                        exc, thrown = thrown, None
                        item = await agen.athrow(exc)
                    else:
                        item = await agen.asend(send_value)
                except StopAsyncIteration:
                    return
                finally:
                    live._detach()
                try:
                    send_value = yield item
                except GeneratorExit:
                    await agen.aclose()
                    raise
                except BaseException as e:
                    thrown = e
        except GeneratorExit:
            raise
        except BaseException as e:
            error = e
            raise
        finally:
            live.end(error)

    return wrapper
