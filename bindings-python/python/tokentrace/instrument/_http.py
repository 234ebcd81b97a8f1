"""Raw capture of model API exchanges at the HTTP client.

The resource-method wrappers (openai.py, anthropic.py) decide where a model
call starts and ends; this module captures its data. While a traced call is
active (the `ACTIVE` context variable), the patched `Client.send` /
`AsyncClient.send` of `httpx` and `httpx2` keep a reference to the request
and the response. A buffered response's body is already in memory; a
streamed one gets a tee on `Response.iter_bytes` / `aiter_bytes` that keeps
each decoded chunk (one list append per chunk). When the call ends, the
request bytes and the response bytes (or chunk list) go to core as one
`Exchange`, and core parses them on its worker, so no field is ever picked
out of a pydantic object on the application's thread.

A streamed call ends exactly once, at the first of: the stream read to its
end; the response closed (early or after the provider's terminal event); the
tee generator closed; or the call object collected with nothing of the above.
"""

from __future__ import annotations

from contextvars import ContextVar
from time import time_ns
from typing import Any, List, Optional, cast

from .. import _runtime as rt
from .._runtime import getrandbits
from ..context import parent_context

# API codes understood by the native `record_exchange`.
CHAT = 1
RESPONSES = 2
EMBEDDINGS = 3
COMPLETIONS = 4
ANTHROPIC_MESSAGES = 5

#: The model call whose HTTP traffic is being captured.
ACTIVE: ContextVar[Optional["Call"]] = ContextVar("tokentrace.llm_call", default=None)

_KEY = "_tokentrace_call"

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


def _apply_mask(req: Any, body: Any, chunks: Any) -> Any:
    """Runs the application's mask hook over the captured bodies; a failing
    hook drops the content (never records it unmasked)."""
    try:
        req = _mask_bytes(req)
        if chunks is not None:
            chunks = [_mask_bytes(b"".join(bytes(c) for c in chunks))]
        else:
            body = _mask_bytes(body)
        return req, body, chunks
    except Exception:
        return None, None, ([] if chunks is not None else None)


class Call:
    """One model call in flight. Fields that most calls never change are
    class-level defaults, so creating one sets only the identity."""

    request: Any = None
    status: Optional[int] = None
    body: Optional[bytes] = None
    chunks: Optional[List[Any]] = None
    first_ns = 0
    eof = False
    closed = False
    phase = _IN_CALL
    done = False
    gen: Any = None
    stream_error: Optional[BaseException] = None

    def __init__(self, api: int, hi: int, lo: int, parent: int, remote: bool, inherited: Any) -> None:
        self.api = api
        self.hi = hi  # hi = lo = 0: a new trace whose id the core draws
        self.lo = lo
        self.parent = parent
        self.remote = remote
        self.inherited = inherited
        self.start = time_ns()

    # -- from the HTTP patches -------------------------------------------

    def on_response(self, resp: Any, stream: bool) -> None:
        self.status = resp.status_code
        if stream:
            self.__class__ = StreamCall
            self.chunks = []
            self.first_ns = 0
            self.eof = False
            self.closed = False
            self.gen = None
            resp.__dict__[_KEY] = self
        else:
            self.chunks = None
            try:
                self.body = resp.content
            except Exception:
                self.body = None

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

    # -- from the method wrappers ----------------------------------------

    def stream_returned(self) -> None:
        """The wrapped method returned a stream, which may still be open (a
        plain response is recorded by `finish` straight from the wrapper)."""
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
            self.finish(time_ns(), type(exc).__name__, msg, incomplete=self.chunks is not None and not self.eof)
        except Exception:
            pass

    # -- ending ----------------------------------------------------------

    def finish_stream(self) -> None:
        if self.done:
            return
        complete = self.eof or _saw_terminal(self.chunks)
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
        """Records the call once. Never raises (called straight from the method wrappers)."""
        try:
            if self.done:
                return
            self.done = True
            t = rt.tracer
            if t is None:
                return
            server = None
            port = None
            req_body = None
            req = self.request
            if req is not None:
                try:
                    req_body = req.content
                except Exception:
                    req_body = None
                try:
                    # httpx/httpx2 keep the parsed URL as a named tuple: plain field reads instead of
                    # three properties (`host` also IDNA-decodes) on every call.
                    url = req.url
                    ref = getattr(url, "_uri_reference", None) or url
                    server = ref.host
                    port = ref.port or (443 if ref.scheme == "https" else 80)
                except Exception:
                    pass
            chunks = self.chunks
            body = self.body
            if rt.mask is not None:
                req_body, body, chunks = _apply_mask(req_body, body, chunks)
            t.record_exchange(
                self.hi,
                self.lo,
                self.parent,
                self.remote,
                self.start,
                end_ns,
                self.api,
                req_body,
                chunks if chunks is not None else body,
                chunks is not None,
                self.status,
                error_type,
                error_message,
                server,
                port,
                self.first_ns,
                incomplete,
                self.inherited,
                None,
            )
        except Exception:
            pass


class StreamCall(Call):
    """A call whose response is a stream: it may be dropped unfinished, so it
    records itself when collected. Plain calls have no finaliser to run."""

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


def _saw_terminal(chunks: Optional[List[Any]]) -> bool:
    if not chunks:
        return False
    tail = chunks[-1] if len(chunks) == 1 else chunks[-2] + chunks[-1]
    tail = tail[-256:]
    return any(m in tail for m in _TERMINAL)


def begin(api: int) -> Optional[Call]:
    """Starts a model call under the current span, or None when it must not
    be traced (no tracer, unsampled, or nested inside another traced call)."""
    try:
        if ACTIVE.get() is not None:
            return None
        t = rt.tracer
        if t is None:
            return None
        parent = parent_context()
        if parent is None:
            if rt.root_always:
                return Call(api, 0, 0, 0, False, None)
            hi = getrandbits(64)
            lo = getrandbits(64) or 1
            if not t.should_sample(hi, lo, 0):
                return None
            return Call(api, hi, lo, 0, False, None)
        if rt.parent_based:
            if not parent.sampled:
                return None
        elif not t.should_sample(parent.trace_hi, parent.trace_lo, 1 if parent.sampled else 2):
            return None
        return Call(api, parent.trace_hi, parent.trace_lo, parent.span_id, parent.remote, parent.inherited)
    except Exception:
        return None


# -- the httpx / httpx2 patches ------------------------------------------------


def _tee(call: Call, it: Any) -> Any:
    chunks = call.chunks
    if chunks is None:
        yield from it
        return
    append = chunks.append
    try:
        for chunk in it:
            call.first_ns = time_ns()
            append(chunk)
            yield chunk
            break
        for chunk in it:
            append(chunk)
            yield chunk
    except GeneratorExit:
        call.on_stream_end(False)
        raise
    except BaseException as e:
        call.on_stream_end(False, e)
        raise
    call.on_stream_end(True)


async def _atee(call: Call, it: Any) -> Any:
    chunks = call.chunks
    if chunks is None:
        async for chunk in it:
            yield chunk
        return
    append = chunks.append
    first = True
    try:
        async for chunk in it:
            if first:
                first = False
                call.first_ns = time_ns()
            append(chunk)
            yield chunk
    except GeneratorExit:
        call.on_stream_end(False)
        raise
    except BaseException as e:
        call.on_stream_end(False, e)
        raise
    call.on_stream_end(True)


def make_send(orig: Any) -> Any:
    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        call = ACTIVE.get()
        if call is None or call.done:
            return orig(self, request, *args, **kwargs)
        call.request = request
        resp = orig(self, request, *args, **kwargs)
        try:
            call.on_response(resp, bool(kwargs.get("stream", False)))
        except Exception:
            pass
        return resp

    return send


def make_async_send(orig: Any) -> Any:
    async def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        call = ACTIVE.get()
        if call is None or call.done:
            return await orig(self, request, *args, **kwargs)
        call.request = request
        resp = await orig(self, request, *args, **kwargs)
        try:
            call.on_response(resp, bool(kwargs.get("stream", False)))
        except Exception:
            pass
        return resp

    return send


def _make_byte_iter(orig: Any, tee: Any) -> Any:
    """`Response.iter_bytes` / `aiter_bytes`: tee the stream of a traced call."""

    def byte_iter(self: Any, *args: Any, **kwargs: Any) -> Any:
        it = orig(self, *args, **kwargs)
        call = self.__dict__.get(_KEY)
        if call is None or call.done:
            return it
        g = tee(call, it)
        call.gen = g
        return g

    return byte_iter


def make_iter_bytes(orig: Any) -> Any:
    return _make_byte_iter(orig, _tee)


def make_aiter_bytes(orig: Any) -> Any:
    return _make_byte_iter(orig, _atee)


def make_close(orig: Any) -> Any:
    def close(self: Any) -> None:
        try:
            orig(self)
        finally:
            call = self.__dict__.get(_KEY)
            if call is not None and not call.done:
                try:
                    call.on_close()
                except Exception:
                    pass

    return close


def make_aclose(orig: Any) -> Any:
    async def aclose(self: Any) -> None:
        try:
            await orig(self)
        finally:
            call = self.__dict__.get(_KEY)
            if call is not None and not call.done:
                try:
                    call.on_close()
                except Exception:
                    pass

    return aclose


def targets(module: str) -> List[Any]:
    """(module, class, attribute, wrapper factory) for one httpx flavour."""
    return [
        (module, "Client", "send", make_send),
        (module, "AsyncClient", "send", make_async_send),
        (module, "Response", "iter_bytes", make_iter_bytes),
        (module, "Response", "aiter_bytes", make_aiter_bytes),
        (module, "Response", "close", make_close),
        (module, "Response", "aclose", make_aclose),
    ]


TARGETS = targets("httpx") + targets("httpx2")
