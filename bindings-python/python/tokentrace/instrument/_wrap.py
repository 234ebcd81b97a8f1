"""Wrappers that turn a client method into a traced model call.

They are transparent: the original is called with the same arguments, its
return value is returned as is (streams are not proxied: their end is seen
at the HTTP layer, see `_http.py`) and its exceptions propagate unchanged.
The tracing work around the call (the parent and sampling; the entry of a
buffered response) never raises.

The common case runs in the wrapper's own frame: a traced call's path is cold
(the client's ~9.5 M instructions between two calls evict it from the
caches), and every Python frame on it costs ~0.5–1 µs there, more than the
work it holds (bench/README.md, "The call path in one frame"). So the start
(`_http.begin`'s job) and the entry of a buffered response (`_http._record`'s
layout) are written inline, and the sync and async wrappers are one source,
compiled twice. Anything unusual (a stream, an error, a mask hook, a body not
read) goes through `_http.ended`.
"""

from __future__ import annotations

import linecache
import sys
from time import time_ns
from typing import Any, Callable, Dict

from .. import _runtime as rt
from ._http import _NEW_TRACE, _OTEL_TRACE, Call, _active, _current, _parent_context, _reset, _set, ended

# `{async_}` / `{await_}` make the async flavour. Each step says which
# `_http.py` function it stands for; keep them in step (the tests compare
# this path's spans with the general one's: `test_fast_and_general_paths_agree`).
_TEMPLATE = '''
def make(api, orig):
    {async_}def traced(self, *args, **kwargs):
        # _http.begin: the parent, sampling, and the call made ACTIVE.
        try:
            if rt.tracer is None or _active() is not None:
                return {await_}orig(self, *args, **kwargs)
            parent = _current()
            if parent is None:
                ctx = _NEW_TRACE if rt.root_always and _OTEL_TRACE not in sys.modules else _parent_context(None)
            else:
                ctx = parent if rt.parent_based and parent.sampled else _parent_context(parent)
            if ctx is None:
                return {await_}orig(self, *args, **kwargs)
            call = _new(Call)
            call.api = api
            call.ctx = ctx
            call.request = call.response = call.stream = None
            call.start = time_ns()
            call.token = _set(call)
        except Exception:
            return {await_}orig(self, *args, **kwargs)
        try:
            result = {await_}orig(self, *args, **kwargs)
        except BaseException as e:
            ended(call, e)
            raise
        # _http._record for a buffered response: both bodies already read.
        entry = None
        try:
            if call.stream is None and rt.mask is None:
                req = call.request
                resp = call.response
                url = req.url
                ref = getattr(url, "_uri_reference", None) or url
                entry = (
                    api, ctx.trace_hi, ctx.trace_lo, ctx.span_id, ctx.remote, ctx.inherited,
                    call.start, time_ns(), ref.host, ref.port or (443 if ref.scheme == "https" else 80),
                    None, None, req._content, resp._content, resp.status_code, False, 0, False, ref.path,
                )
        except Exception:
            entry = None
        if entry is None:
            ended(call)
            return result
        try:
            _reset(call.token)
        except Exception:
            pass
        try:
            pending = rt.pending
            pending.append(entry)
            if len(pending) >= rt.BATCH:
                t = rt.tracer
                if t is not None:
                    t.drain()
        except Exception:
            pass
        return result

    return traced
'''


def _compile(is_async: bool) -> Callable[[int, Any], Any]:
    src = _TEMPLATE.format(async_="async " if is_async else "", await_="await " if is_async else "")
    # A name linecache knows, so tracebacks through the wrapper show its lines.
    filename = f"<tokentrace.instrument._wrap {'async' if is_async else 'sync'}>"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    namespace: Dict[str, Any] = {
        "rt": rt,
        "sys": sys,
        "time_ns": time_ns,
        "_new": object.__new__,
        "Call": Call,
        "_NEW_TRACE": _NEW_TRACE,
        "_OTEL_TRACE": _OTEL_TRACE,
        "_active": _active,
        "_current": _current,
        "_parent_context": _parent_context,
        "_set": _set,
        "_reset": _reset,
        "ended": ended,
    }
    exec(compile(src, filename, "exec"), namespace)
    return namespace["make"]  # type: ignore[no-any-return]


_make_sync = _compile(False)
_make_async = _compile(True)


def sync_method(api: int) -> Callable[[Any], Any]:
    """A wrapper factory for a sync client method making `api` calls."""
    return lambda orig: _make_sync(api, orig)


def async_method(api: int) -> Callable[[Any], Any]:
    """A wrapper factory for an async client method making `api` calls."""
    return lambda orig: _make_async(api, orig)
