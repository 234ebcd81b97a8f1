"""Quick interleaved overhead check of the Python binding (the full peer
comparison lives in bench/python/). Canned responses through an httpx
MockTransport; tracing toggled between blocks inside one process so machine
noise hits both arms alike; an A/A row shows the noise floor.

    python bench/overhead.py [--calls 2000] [--blocks 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import httpx2
import openai

import tokentrace

PROMPT = [
    {"role": "system", "content": "You are a helpful assistant. " * 20},
    {"role": "user", "content": "Context: " + "Lorem ipsum dolor sit amet. " * 40},
    {"role": "assistant", "content": "Sure. " * 30},
    {"role": "user", "content": "Question about the context above, please answer briefly?"},
]
BODY = json.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Answer text. " * 60}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 420, "completion_tokens": 180, "total_tokens": 600},
    }
).encode()


def sse_body(n_chunks: int) -> bytes:
    out = []
    for i in range(n_chunks):
        chunk = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": {"content": f" w{i}"}, "finish_reason": None}],
        }
        out.append(b"data: " + json.dumps(chunk).encode() + b"\n\n")
    out.append(b"data: [DONE]\n\n")
    return b"".join(out)


SSE = sse_body(200)


def handler(request: httpx2.Request) -> httpx2.Response:
    if b'"stream":true' in request.content:
        return httpx2.Response(200, content=SSE, headers={"content-type": "text/event-stream"})
    return httpx2.Response(200, content=BODY, headers={"content-type": "application/json"})


def per_call(fn, calls: int) -> float:
    t0 = time.perf_counter_ns()
    for _ in range(calls):
        fn()
    return (time.perf_counter_ns() - t0) / calls / 1000.0


def interleave(fn, calls: int, blocks: int, traced_b: bool) -> tuple:
    a, b = [], []
    for _ in range(blocks):
        tokentrace.uninstrument()
        a.append(per_call(fn, calls))
        if traced_b:
            tokentrace.instrument()
        b.append(per_call(fn, calls))
    tokentrace.instrument()
    return statistics.median(a), statistics.median(b)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--blocks", type=int, default=15)
    args = ap.parse_args()
    tokentrace.init(exporter="memory", max_queue_size=1_000_000, max_queue_bytes=2_000_000_000)
    client = openai.OpenAI(api_key="k", base_url="http://bench.invalid/v1", http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))

    def chat() -> None:
        client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT)

    def stream() -> None:
        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT, stream=True):
            pass

    aclient = openai.AsyncOpenAI(api_key="k", base_url="http://bench.invalid/v1", http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)))
    loop = asyncio.new_event_loop()

    def achat() -> None:
        loop.run_until_complete(aclient.chat.completions.create(model="gpt-4o-mini", messages=PROMPT))

    for f in (chat, stream, achat):  # warm up
        for _ in range(200):
            f()
    rows = []
    a, b = interleave(chat, args.calls, args.blocks, traced_b=False)
    rows.append(("A/A chat (both untraced)", a, b, b - a))
    a, b = interleave(chat, args.calls, args.blocks, traced_b=True)
    rows.append(("chat.completions.create", a, b, b - a))
    a, b = interleave(achat, args.calls // 2, args.blocks, traced_b=True)
    rows.append(("async chat.completions.create", a, b, b - a))
    a, b = interleave(stream, args.calls // 10, args.blocks, traced_b=True)
    rows.append(("stream, 200 chunks (per chunk below)", a, b, b - a))
    print(f"{'case':40} {'plain µs':>10} {'traced µs':>10} {'added µs':>10}")
    for name, a, b, d in rows:
        print(f"{name:40} {a:10.1f} {b:10.1f} {d:10.2f}")
    print(f"{'  added per stream chunk':40} {'':10} {'':10} {rows[-1][3] / 201:10.3f}")
    st = tokentrace.stats()
    tokentrace.flush(30)
    print(f"spans exported: {tokentrace.stats()['exported']} dropped: {st['dropped_total']}")


if __name__ == "__main__":
    main()
