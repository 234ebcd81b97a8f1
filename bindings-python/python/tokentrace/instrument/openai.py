"""openai (1.x through 3.x): chat completions, responses, embeddings, legacy
completions, sync and async. Streams, `.with_raw_response` and
`.with_streaming_response` go through the same methods."""

from __future__ import annotations

from ._http import CHAT, COMPLETIONS, EMBEDDINGS, RESPONSES
from ._wrap import async_method, sync_method

_R = "openai.resources"

TARGETS = [
    (f"{_R}.chat.completions", "Completions", "create", sync_method(CHAT)),
    (f"{_R}.chat.completions", "AsyncCompletions", "create", async_method(CHAT)),
    (f"{_R}.chat.completions", "Completions", "parse", sync_method(CHAT)),
    (f"{_R}.chat.completions", "AsyncCompletions", "parse", async_method(CHAT)),
    (f"{_R}.responses", "Responses", "create", sync_method(RESPONSES)),
    (f"{_R}.responses", "AsyncResponses", "create", async_method(RESPONSES)),
    (f"{_R}.responses", "Responses", "parse", sync_method(RESPONSES)),
    (f"{_R}.responses", "AsyncResponses", "parse", async_method(RESPONSES)),
    (f"{_R}.embeddings", "Embeddings", "create", sync_method(EMBEDDINGS)),
    (f"{_R}.embeddings", "AsyncEmbeddings", "create", async_method(EMBEDDINGS)),
    (f"{_R}.completions", "Completions", "create", sync_method(COMPLETIONS)),
    (f"{_R}.completions", "AsyncCompletions", "create", async_method(COMPLETIONS)),
]
