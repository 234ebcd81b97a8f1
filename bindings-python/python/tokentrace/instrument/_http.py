"""Raw capture of model API exchanges at the HTTP client.

The resource-method wrappers (`_wrap.py`) start a native `Call` (see
`bindings-python/src/call.rs`), which is the `ACTIVE` context variable while
the method runs. The patched `Client.send` / `AsyncClient.send` of `httpx`
and `httpx2` give it the request and the response. A buffered response is
recorded by the native call when the method returns: request and response
bytes go to core as one `Exchange`, and core parses them on its worker, so
no field is ever picked out of a pydantic object on the application's thread.

A streamed response hands the call over to a `StreamCall` here: that
response alone gets hooks on `iter_bytes` / `aiter_bytes` (a tee that copies
each decoded chunk onto one `bytearray`) and on `close`, and the call
is recorded exactly once, at the first of: the stream read to its end; the
response closed (early or after the provider's terminal event); the tee
generator closed; or the `StreamCall` collected with nothing of the above.
"""

from __future__ import annotations

from contextvars import ContextVar
from time import time_ns
import sys
from typing import Any, List, Optional, Tuple, cast

from .. import _native
from .. import _runtime as rt
from ..context import CURRENT, otel_fallback_parent

# API codes understood by the native `record_exchange`.
CHAT = 1
RESPONSES = 2
EMBEDDINGS = 3
COMPLETIONS = 4
ANTHROPIC_MESSAGES = 5

#: The model call whose HTTP traffic is being captured (set and reset by the
#: native `Call`).
ACTIVE: ContextVar[Optional[_native.Call]] = ContextVar("tokentrace.llm_call", default=None)

# Phases of a call.
_IN_CALL = 0
_RETURNED = 1

#: Events that end a provider's stream; seeing one means the stream was
#: complete even if the client stopped reading before end-of-file.
_TERMINAL = (b"[DONE]", b"message_stop", b"response.completed", b"response.failed", b"response.incomplete")


def _mask_bytes(data: Any) -> bytes:
    hook = rt.mask
    if hook is None or not data:
        return cast(bytes, data)  # no copy: whatever buffer the client handed over
    out = hook(bytes(data).decode("utf-8", "replace"))
    if not isinstance(out, str):
        raise TypeError("mask must return str")
    return out.encode("utf-8")


def _apply_mask(req: Any, body: Any) -> Tuple[Any, Any]:
    """Runs the application's mask hook over the captured bodies; a failing
    hook drops the content (never records it unmasked)."""
    try:
        return _mask_bytes(req), _mask_bytes(body)
    except Exception:
        return None, None


class StreamCall:
    """A model call whose response is streamed. The native `Call` hands over
    to it at the first streamed response; it records once, at the first of:
    the stream read to its end, the response closed, the tee closed, or
    itself collected unfinished (the finaliser)."""

    status: Optional[int] = None
    first_ns = 0
    eof = False
    closed = False
    phase = _IN_CALL
    done = False
    gen: Any = None
    stream_error: Optional[BaseException] = None

    def __init__(self, call: _native.Call) -> None:
        self.api = call.api
        self.hi = call.trace_hi  # hi = lo = 0: a new trace whose id the core draws
        self.lo = call.trace_lo
        self.parent = call.parent
        self.remote = call.remote
        self.inherited = call.inherited
        self.start = call.start
        self.request: Any = None
        # The streamed body so far. Copied, not a list of the chunks: kept
        # alive until the stream ends, hundreds of small `bytes` objects made
        # CPython's allocator work harder on every chunk the client parsed
        # (~450 instructions per chunk in `_PyObject_Free` alone).
        self.body = bytearray()

    # -- from the HTTP patches -------------------------------------------

    def on_response(self, request: Any, resp: Any) -> None:
        # A retry streams again: the last response is the call's.
        self.request = request
        self.status = resp.status_code
        self.body = bytearray()
        self.first_ns = 0
        self.eof = False
        self.closed = False
        self.gen = None

    def on_stream_end(self, eof: bool, error: Optional[BaseException] = None) -> None:
        try:
            if eof:
                self.eof = True
            if error is not None:
                self.stream_error = error
            if self.phase == _RETURNED:
                self.finish_stream()
        except Exception:
            pass

    def on_close(self) -> None:
        self.closed = True
        if self.done or self.phase != _RETURNED:
            return
        g = self.gen
        # Closed from inside the tee's own read (httpx closes at end of
        # stream): the tee reports the outcome itself.
        if g is not None and _running(g):
            return
        self.finish_stream()

    # -- from the native call, when the method returns or raises ----------

    def stream_returned(self) -> None:
        """The wrapped method returned the stream, which may still be open."""
        try:
            self.phase = _RETURNED
            if self.eof or self.closed:
                self.finish_stream()
        except Exception:
            pass

    def failed(self, exc: BaseException) -> None:
        try:
            self.phase = _RETURNED
            msg = str(exc)
            if len(msg) > 2048:
                msg = msg[:2048]
            self.finish(time_ns(), type(exc).__name__, msg, incomplete=not self.eof)
        except Exception:
            pass

    # -- ending ----------------------------------------------------------

    def finish_stream(self) -> None:
        if self.done:
            return
        complete = self.eof or _saw_terminal(self.body)
        err = self.stream_error
        if err is not None and not complete:
            self.finish(time_ns(), type(err).__name__, str(err)[:2048], incomplete=True)
        else:
            self.finish(time_ns(), incomplete=not complete)

    def finish(
        self,
        end_ns: int,
        error_type: Optional[str] = None,
        error_message: Optional[str] = None,
        incomplete: bool = False,
    ) -> None:
        """Records the call once. Never raises."""
        try:
            if self.done:
                return
            self.done = True
            _record(
                self.hi,
                self.lo,
                self.parent,
                self.remote,
                self.inherited,
                self.start,
                end_ns,
                self.api,
                self.request,
                self.status,
                self.body,
                True,
                error_type,
                error_message,
                self.first_ns,
                incomplete,
            )
        except Exception:
            pass

    def __del__(self) -> None:
        # Collected with the stream never finished nor closed.
        if not self.done and self.phase == _RETURNED:
            try:
                self.finish_stream()
            except Exception:
                pass


def _running(g: Any) -> bool:
    r = getattr(g, "gi_running", None)
    if r is None:
        r = getattr(g, "ag_running", False)
    return bool(r)


def _saw_terminal(body: bytearray) -> bool:
    tail = body[-256:]
    return any(m in tail for m in _TERMINAL)


def _server(req: Any) -> Tuple[Optional[str], Optional[int]]:
    try:
        # httpx/httpx2 keep the parsed URL as a named tuple: plain field reads instead of
        # three properties (`host` also IDNA-decodes).
        url = req.url
        ref = getattr(url, "_uri_reference", None) or url
        return ref.host, ref.port or (443 if ref.scheme == "https" else 80)
    except Exception:
        return None, None


def _record(
    hi: int,
    lo: int,
    parent: int,
    remote: bool,
    inherited: Any,
    start: int,
    end_ns: int,
    api: int,
    req: Any,
    status: Optional[int],
    body: Any,
    streaming: bool,
    error_type: Optional[str],
    error_message: Optional[str],
    first_ns: int,
    incomplete: bool,
) -> None:
    """The Python record path: streamed calls, and plain ones under a mask hook."""
    t = rt.tracer
    if t is None:
        return
    server = port = None
    req_body = None
    if req is not None:
        try:
            req_body = req.content
        except Exception:
            req_body = None
        server, port = _server(req)
    if rt.mask is not None:
        req_body, body = _apply_mask(req_body, body)
    t.record_exchange(
        hi,
        lo,
        parent,
        remote,
        start,
        end_ns,
        api,
        req_body,
        body,
        streaming,
        status,
        error_type,
        error_message,
        server,
        port,
        first_ns,
        incomplete,
        inherited,
        None,
    )


def finish_masked(call: _native.Call, end_ns: int, error_type: Optional[str], error_message: Optional[str]) -> None:
    """The native `Call`'s record when the application set a mask hook."""
    resp = call.response
    status = body = None
    if resp is not None:
        status = resp.status_code
        try:
            body = resp.content
        except Exception:
            body = None
    _record(
        call.trace_hi,
        call.trace_lo,
        call.parent,
        call.remote,
        call.inherited,
        call.start,
        end_ns,
        call.api,
        call.request,
        status,
        body,
        False,
        error_type,
        error_message,
        0,
        False,
    )


# -- the httpx / httpx2 patches ------------------------------------------------


def _tee(call: StreamCall, it: Any) -> Any:
    extend = call.body.extend
    try:
        for chunk in it:
            call.first_ns = time_ns()
            extend(chunk)
            yield chunk
            break
        for chunk in it:
            extend(chunk)
            yield chunk
    except GeneratorExit:
        call.on_stream_end(False)
        raise
    except BaseException as e:
        call.on_stream_end(False, e)
        raise
    call.on_stream_end(True)


async def _atee(call: StreamCall, it: Any) -> Any:
    extend = call.body.extend
    first = True
    try:
        async for chunk in it:
            if first:
                first = False
                call.first_ns = time_ns()
            extend(chunk)
            yield chunk
    except GeneratorExit:
        call.on_stream_end(False)
        raise
    except BaseException as e:
        call.on_stream_end(False, e)
        raise
    call.on_stream_end(True)


def _stream_response(call: _native.Call, request: Any, resp: Any, is_async: bool) -> None:
    st = call.stream
    if st is None:
        st = StreamCall(call)
        call.stream = st
    st.on_response(request, resp)
    (_hook_async if is_async else _hook_sync)(resp, st)


# A streamed response gets its own `iter_bytes` / `close` (instance
# attributes shadow the class's methods, and httpx and the clients reach
# them through `self`): the body is teed and closing ends the call. Plain
# responses, the common case, keep the class untouched and pay nothing.


def _hook_iter(resp: Any, st: StreamCall, name: str, tee: Any) -> None:
    orig = getattr(type(resp), name)

    def byte_iter(*args: Any, **kwargs: Any) -> Any:
        it = orig(resp, *args, **kwargs)
        if st.done:
            return it
        g = tee(st, it)
        st.gen = g
        return g

    setattr(resp, name, byte_iter)


def _hook_sync(resp: Any, st: StreamCall) -> None:
    _hook_iter(resp, st, "iter_bytes", _tee)
    orig = type(resp).close

    def close() -> None:
        try:
            orig(resp)
        finally:
            _closed(st)

    resp.close = close


def _hook_async(resp: Any, st: StreamCall) -> None:
    _hook_iter(resp, st, "aiter_bytes", _atee)
    orig = type(resp).aclose

    async def aclose() -> None:
        try:
            await orig(resp)
        finally:
            _closed(st)

    resp.aclose = aclose


def _closed(st: StreamCall) -> None:
    if not st.done:
        try:
            st.on_close()
        except Exception:
            pass


def make_send(orig: Any) -> Any:
    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        call = ACTIVE.get()
        if call is None or not call.sending(request):
            return orig(self, request, *args, **kwargs)
        resp = orig(self, request, *args, **kwargs)
        try:
            if kwargs.get("stream"):
                _stream_response(call, request, resp, False)
            else:
                call.exchange(resp)
        except Exception:
            pass
        return resp

    return send


def make_async_send(orig: Any) -> Any:
    async def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        call = ACTIVE.get()
        if call is None or not call.sending(request):
            return await orig(self, request, *args, **kwargs)
        resp = await orig(self, request, *args, **kwargs)
        try:
            if kwargs.get("stream"):
                _stream_response(call, request, resp, True)
            else:
                call.exchange(resp)
        except Exception:
            pass
        return resp

    return send


def targets(module: str) -> List[Any]:
    """(module, class, attribute, wrapper factory) for one httpx flavour."""
    return [
        (module, "Client", "send", make_send),
        (module, "AsyncClient", "send", make_async_send),
    ]


TARGETS = targets("httpx") + targets("httpx2")


_native.install_call_hooks(ACTIVE, CURRENT, sys.modules, otel_fallback_parent, rt, finish_masked)
