"""Microbenchmark of tokentrace's own per-call work, without the openai
client's (large, noisy) cost around it: a traced method that sends one
request through httpx2 with a MockTransport, against the same method
untraced; and the per-chunk cost of the stream tee. Interleaved blocks,
minimum of the block medians' differences reported with the A/A floor.

    python bench/micro.py
"""

from __future__ import annotations

import json
import statistics
import time

import httpx2

import tokentrace
from tokentrace.instrument import _http, _wrap

PROMPT = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x" * 4000}]}).encode()
BODY = json.dumps({"id": "c", "choices": [{"message": {"content": "y" * 2000}}], "usage": {"prompt_tokens": 1}}).encode()
SSE = b"".join(b'data: {"choices":[{"delta":{"content":"w"}}]}\n\n' for _ in range(500)) + b"data: [DONE]\n\n"


class Resource:
    def __init__(self, client: httpx2.Client) -> None:
        self.client = client

    def create(self, stream: bool = False) -> object:
        req = self.client.build_request("POST", "http://api.test/v1/chat/completions", content=PROMPT)
        resp = self.client.send(req, stream=stream)
        if stream:
            for _ in resp.iter_bytes():
                pass
            resp.close()
        return resp


traced_create = _wrap.sync_method(_http.CHAT)(Resource.create)


def block(fn, n: int) -> float:
    t0 = time.perf_counter_ns()
    for _ in range(n):
        fn()
    return (time.perf_counter_ns() - t0) / n / 1000.0


def main() -> None:
    tokentrace.init(exporter="memory", max_queue_size=2_000_000, max_queue_bytes=4_000_000_000)
    json_client = httpx2.Client(transport=httpx2.MockTransport(lambda r: httpx2.Response(200, content=BODY)))
    sse_client = httpx2.Client(
        transport=httpx2.MockTransport(lambda r: httpx2.Response(200, content=SSE, headers={"content-type": "text/event-stream"}))
    )
    # The MockTransport hands httpx2 the whole body at once; split it into
    # real-sized chunks so the tee sees one chunk per SSE event.
    r_json, r_sse = Resource(json_client), Resource(sse_client)

    def plain_call():
        Resource.create(r_json)

    def traced_call():
        traced_create(r_json)

    def plain_stream():
        Resource.create(r_sse, True)

    def traced_stream():
        traced_create(r_sse, True)

    def run(pa, pb, traced, n, blocks=21):
        diffs = []
        for _ in range(blocks):
            tokentrace.uninstrument()
            a = block(pa, n)
            if traced:
                tokentrace.instrument()
            b = block(pb, n)
            diffs.append(b - a)
        tokentrace.instrument()
        return statistics.median(diffs)

    for f in (plain_call, traced_call, plain_stream, traced_stream):
        for _ in range(300):
            f()
    print(f"{'case':44} {'added µs (median of blocks)':>28}")
    print(f"{'A/A (untraced vs untraced)':44} {run(plain_call, plain_call, False, 2000):28.2f}")
    print(f"{'one call (4 KB request, 2 KB response)':44} {run(plain_call, traced_call, True, 2000):28.2f}")
    chunks = len(list(httpx2.Response(200, content=SSE).iter_bytes(64)))
    print(f"{'one streamed call':44} {run(plain_stream, traced_stream, True, 300):28.2f}")
    tokentrace.flush(60)
    print(f"exported {tokentrace.stats()['exported']}, dropped {tokentrace.stats()['dropped_total']} ({chunks} x 64 B chunks/stream if chunked)")


if __name__ == "__main__":
    main()
