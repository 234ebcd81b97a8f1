"""openai (1.x through 3.x): chat completions, responses, embeddings, legacy
completions, sync and async; 3.x's `client.beta.responses` (a separate
resource that posts by itself: `/responses?beta=true`, the same wire format)
and `responses.compact` (a billed model call that condenses a conversation:
the same request shape, its output one opaque compaction item).
Streams, `.with_raw_response`, `.with_streaming_response` and the `stream`
helpers go through the same methods. A module or method missing from an
older client line is skipped."""

from __future__ import annotations

from typing import List

from ._hooks import Target
from ._http import CHAT, COMPLETIONS, EMBEDDINGS, RESPONSES
from ._wrap import async_method, sync_method

_R = "openai.resources"

_RESPONSES = [
    (module, cls, method, wrap)
    for module in (f"{_R}.responses", f"{_R}.beta.responses.responses")
    for method in ("create", "parse", "compact")
    for cls, wrap in (("Responses", sync_method(RESPONSES)), ("AsyncResponses", async_method(RESPONSES)))
]

TARGETS: List[Target] = [
    (f"{_R}.chat.completions", "Completions", "create", sync_method(CHAT)),
    (f"{_R}.chat.completions", "AsyncCompletions", "create", async_method(CHAT)),
    (f"{_R}.chat.completions", "Completions", "parse", sync_method(CHAT)),
    (f"{_R}.chat.completions", "AsyncCompletions", "parse", async_method(CHAT)),
    *_RESPONSES,
    (f"{_R}.embeddings", "Embeddings", "create", sync_method(EMBEDDINGS)),
    (f"{_R}.embeddings", "AsyncEmbeddings", "create", async_method(EMBEDDINGS)),
    (f"{_R}.completions", "Completions", "create", sync_method(COMPLETIONS)),
    (f"{_R}.completions", "AsyncCompletions", "create", async_method(COMPLETIONS)),
]
