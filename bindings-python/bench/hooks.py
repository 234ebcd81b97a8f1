"""The exact work tokentrace adds to one non-streamed call and to one stream
chunk, run in a loop without the HTTP client around it (whose own cost and
noise dwarf it): the method wrapper (parent, sampling, ACTIVE, the call's
entry) around a stub method whose `send` goes through the send hook and hands
back a canned response, and the batched native record. Thread CPU time, gc off, best of several repeats.

    python bench/hooks.py
"""

from __future__ import annotations

import gc
import json
import time

import httpx2

import tokentrace
from tokentrace.instrument import _http, _wrap

REQ = httpx2.Request(
    "POST",
    "https://api.openai.com/v1/chat/completions",
    content=json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x" * 4000}]}).encode(),
)
RESP = httpx2.Response(200, content=b'{"choices":[{"message":{"content":"' + b"y" * 2000 + b'"}}]}', request=REQ)
RESP.read()


def _transport_send(self: object, request: object, **kwargs: object) -> httpx2.Response:
    return RESP


_send = _http.make_send(_transport_send)


def _create(self: object) -> httpx2.Response:
    return _send(None, REQ)


_traced_create = _wrap.sync_method(_http.CHAT)(_create)


def one_call() -> None:
    _traced_create(None)


def best(fn, n: int, repeat: int = 7) -> float:
    out = []
    for _ in range(repeat):
        t = time.thread_time_ns()
        fn(n)
        out.append((time.thread_time_ns() - t) / n / 1000)
    return min(out)


def calls(n: int) -> None:
    for _ in range(n):
        one_call()


def chunks(n: int) -> None:
    call = _http.StreamCall.__new__(_http.StreamCall)
    call.body = bytearray()
    src = [b"data: {}\n\n"] * n
    for _ in _http._tee(call, iter(src)):
        pass


def plain_chunks(n: int) -> None:
    src = [b"data: {}\n\n"] * n

    def gen(it):
        yield from it

    for _ in gen(iter(src)):
        pass


def main() -> None:
    tokentrace.init(exporter="none", max_queue_size=4_000_000, max_queue_bytes=8_000_000_000)
    gc.disable()
    calls(2000)
    per_call = best(calls, 20000)
    per_chunk = best(chunks, 200000) - best(plain_chunks, 200000)
    print(f"added per non-streamed call: {per_call:.2f} µs (thread CPU)")
    print(f"added per stream chunk:      {per_chunk * 1000:.0f} ns (over a plain generator hop)")


if __name__ == "__main__":
    main()
