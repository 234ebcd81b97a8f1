"""The canned OpenAI traffic every arm sends and receives: a 4-message prompt
(~2 KB), an ~800 B completion and a 200-chunk SSE stream, served by an in-process httpx2 MockTransport (no socket,
so the client's own cost stays small and steady)."""

from __future__ import annotations

import json
from typing import Any

import httpx2

MODEL = "gpt-4o-mini"
STREAM_CHUNKS = 200

PROMPT: list[dict[str, Any]] = [
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
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Answer text. " * 60},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 420, "completion_tokens": 180, "total_tokens": 600},
    }
).encode()


def sse_body(n_chunks: int) -> bytes:
    """Exactly `n_chunks` chunks, as the API sends them with include_usage: content
    deltas, one with finish_reason, one with usage and no choices; then [DONE]."""

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        body = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": choices,
            **extra,
        }
        return b"data: " + json.dumps(body).encode() + b"\n\n"

    out = [chunk([{"index": 0, "delta": {"content": f" w{i}"}, "finish_reason": None}]) for i in range(n_chunks - 2)]
    out.append(chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    usage = {"prompt_tokens": 420, "completion_tokens": n_chunks - 2, "total_tokens": 418 + n_chunks}
    out.append(chunk([], usage=usage))
    out.append(b"data: [DONE]\n\n")
    return b"".join(out)


SSE = sse_body(STREAM_CHUNKS)


def handler(request: httpx2.Request) -> httpx2.Response:
    if b'"stream":true' in request.content:
        return httpx2.Response(200, content=SSE, headers={"content-type": "text/event-stream"})
    return httpx2.Response(200, content=BODY, headers={"content-type": "application/json"})
