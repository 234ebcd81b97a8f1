"""Capture of model calls at the client method and at the HTTP client.

The resource-method wrappers (`_wrap.py`) start a `Call`, which is the
`ACTIVE` context variable while the method runs. The patched
`Client.send` / `AsyncClient.send` of `httpx` and `httpx2` give it the request
and the response. When the method returns, a buffered response's call is
appended to the tracer's pending list as one tuple of plain values (ids,
times, the client's own body `bytes`...); the native side records the list in
batches (`bindings-python/src/pending.rs`) and core parses the bodies on its
worker, so no field is picked out of a
pydantic object and no native code runs per call on the application's thread:
everything on a call's path is cold (the client's own work evicts it from the
caches), native code as much as each Python frame, so the path is kept to few
frames and no native entry.

A streamed response hands the call over to a `StreamCall` here: that
response alone gets hooks on `iter_bytes` / `aiter_bytes` (a tee that copies
each decoded chunk onto one `bytearray`) and on `close`, and the call
is recorded exactly once, at the first of: the stream read to its end; the
response closed (early or after the provider's terminal event); the tee
generator closed; or the `StreamCall` collected with nothing of the above.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from time import time_ns
import sys
from typing import Any, List, Optional, Tuple, cast

from .. import _runtime as rt
from ..context import CURRENT, SpanContext, otel_fallback_parent

# API codes understood by the native record (`pending.rs`).
CHAT = 1
RESPONSES = 2
EMBEDDINGS = 3
COMPLETIONS = 4
ANTHROPIC_MESSAGES = 5

_OTEL_TRACE = "opentelemetry.trace"

# Phases of a streamed call.
_IN_CALL = 0
_RETURNED = 1

#: Events that end a provider's stream; seeing one means the stream was
#: complete even if the client stopped reading before end-of-file.
_TERMINAL = (b"[DONE]", b"message_stop", b"response.completed", b"response.failed", b"response.incomplete")


#: The parent of a model call that starts a trace whose id the core draws
#: (ids 0, 0; span id 0: no parent span).
_NEW_TRACE = SpanContext(0, 0, 0, True)


class Call:
    """One model call in flight, from the client method's entry to its record.
    Made by the method wrapper (`_wrap.py`) with `object.__new__` and its
    fields set there: an `__init__` would be one more cold frame per call."""

    __slots__ = ("api", "ctx", "start", "request", "response", "stream", "token")
    api: int
    #: The parent span's context: the call's trace and parent span, its
    #: remoteness and the attributes it inherits.
    ctx: SpanContext
    start: int
    #: The last request sent (retries resend) and the last buffered response.
    request: Any
    response: Any
    #: The `StreamCall` once a response is streamed.
    stream: Optional[StreamCall]
    #: Resets `ACTIVE` when the method ends.
    token: Token[Optional[Call]]


#: The model call whose HTTP traffic is being captured.
ACTIVE: ContextVar[Optional[Call]] = ContextVar("tokentrace.llm_call", default=None)
# Bound once: one global load per use on the call path instead of two.
_active = ACTIVE.get
_set = ACTIVE.set
_reset = ACTIVE.reset
_current = CURRENT.get


def _parent_context(parent: Optional[SpanContext]) -> Optional[SpanContext]:
    """The parent context of a call the method wrapper did not decide: OpenTelemetry's
    active span when there is no tokentrace one, and the sampler's decision
    when it is not the default. None: not traced."""
    t = rt.tracer
    if t is None:
        return None
    if parent is None and _OTEL_TRACE in sys.modules:
        parent = otel_fallback_parent()
    if parent is None:
        if rt.root_always:
            return _NEW_TRACE
        hi, lo = rt.new_id(), rt.new_id()
        if not t.should_sample(hi, lo, 0):
            return None
        return SpanContext(hi, lo, 0, True)
    if rt.parent_based:
        return parent if parent.sampled else None
    if not t.should_sample(parent.trace_hi, parent.trace_lo, 1 if parent.sampled else 2):
        return None
    return parent


def ended(call: Call, exc: Optional[BaseException] = None) -> None:
    """The wrapped method returned (`exc` None) or raised `exc`: `ACTIVE` is
    reset, then a streamed call is handed to its `StreamCall`, any other is
    recorded now. Never raises.

    Few Python frames on purpose: the path runs cold (the client's own work
    evicts it between two calls); cutting it from eleven frames to five, with
    batches of 64, took 5–12 µs off a sync call (bench/README.md, "Fewer
    frames")."""
    try:
        _reset(call.token)
    except Exception:
        pass
    try:
        st = call.stream
        if st is not None:
            if exc is None:
                st.stream_returned()
            else:
                st.failed(exc)
            return
        status = body = None
        resp = call.response
        if resp is not None:
            status = resp.status_code
            body = _content(resp)
        error_type = error_message = None
        if exc is not None:
            error_type, error_message = _describe(exc)
        _record(call, time_ns(), call.request, status, body, False, error_type, error_message, 0, False)
    except Exception:
        pass


def _describe(exc: BaseException) -> Tuple[str, str]:
    """An error's type name and message, the message cut to 2,048 characters."""
    return type(exc).__name__, str(exc)[:2048]


def _content(obj: Any) -> Any:
    """An httpx request's or response's body once read (what the `content`
    property returns, without its frame), else None."""
    body = getattr(obj, "_content", None)
    if body is None:
        try:
            body = obj.content
        except Exception:
            body = None
    return body


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
    """A model call whose response is streamed. The `Call` hands over to it at
    the first streamed response; it records once, at the first of:
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

    def __init__(self, call: Call) -> None:
        # Copied, not the call referenced: the call holds this object, and a
        # cycle would leave an abandoned stream to the cycle collector.
        self.api = call.api
        self.ctx = call.ctx
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

    # -- from the `Call`, when the method returns or raises ----------------

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
            self.finish(time_ns(), *_describe(exc), incomplete=not self.eof)
        except Exception:
            pass

    # -- ending ----------------------------------------------------------

    def finish_stream(self) -> None:
        if self.done:
            return
        complete = self.eof or _saw_terminal(self.body)
        err = self.stream_error
        if err is not None and not complete:
            self.finish(time_ns(), *_describe(err), incomplete=True)
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
            _record(self, end_ns, self.request, self.status, self.body, True, error_type, error_message, self.first_ns, incomplete)
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


def _record(
    call: Any,
    end_ns: int,
    req: Any,
    status: Optional[int],
    body: Any,
    streaming: bool,
    error_type: Optional[str],
    error_message: Optional[str],
    first_ns: int,
    incomplete: bool,
) -> None:
    """Appends the call's entry (`bindings-python/src/pending.rs` has its
    layout). `call` is a `Call` or a `StreamCall`. Only plain values go in:
    the bodies as the client's own `bytes`, never the httpx objects, which
    would keep a batch's worth of requests and responses alive and make
    the client allocate into cold memory."""
    host = port = path = req_body = None
    if req is not None:
        req_body = _content(req)
        try:
            # httpx/httpx2 keep the parsed URL as a named tuple: plain field
            # reads instead of four properties (`host` also IDNA-decodes).
            url = req.url
            ref = getattr(url, "_uri_reference", None) or url
            host = ref.host
            port = ref.port or (443 if ref.scheme == "https" else 80)
            path = ref.path
        except Exception:
            pass
    if rt.mask is not None:
        req_body, body = _apply_mask(req_body, body)
    ctx = call.ctx
    pending = rt.pending
    pending.append(
        (
            call.api,
            ctx.trace_hi,
            ctx.trace_lo,
            ctx.span_id,
            ctx.remote,
            ctx.inherited,
            call.start,
            end_ns,
            host,
            port,
            error_type,
            error_message,
            req_body,
            body,
            status,
            streaming,
            first_ns,
            incomplete,
            path,
        )
    )
    # A full batch is recorded now; a partial one by the drain thread
    # (`_runtime`) or the next native entry that needs it (flush, stats...).
    if len(pending) >= rt.BATCH:
        t = rt.tracer
        if t is not None:
            t.drain()


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


def _stream_response(call: Call, request: Any, resp: Any, is_async: bool) -> None:
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


# `send(request, *, stream=False, auth=..., follow_redirects=...)` in httpx
# and httpx2: `stream` named in the signature instead of read from a packed
# `**kwargs` (0.4-1.0 µs less on a cold call, `bench/python/coldpath.py`).


def make_send(orig: Any) -> Any:
    def send(self: Any, request: Any, *, stream: bool = False, **kwargs: Any) -> Any:
        call = _active()
        if call is None or (call.stream is not None and call.stream.done):
            return orig(self, request, stream=stream, **kwargs)
        call.request = request
        resp = orig(self, request, stream=stream, **kwargs)
        try:
            if stream:
                _stream_response(call, request, resp, False)
            else:
                call.response = resp
        except Exception:
            pass
        return resp

    return send


def make_async_send(orig: Any) -> Any:
    async def send(self: Any, request: Any, *, stream: bool = False, **kwargs: Any) -> Any:
        call = _active()
        if call is None or (call.stream is not None and call.stream.done):
            return await orig(self, request, stream=stream, **kwargs)
        call.request = request
        resp = await orig(self, request, stream=stream, **kwargs)
        try:
            if stream:
                _stream_response(call, request, resp, True)
            else:
                call.response = resp
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

