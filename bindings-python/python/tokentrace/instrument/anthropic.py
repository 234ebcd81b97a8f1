"""anthropic (0.x and newer): `messages.create` (sync, async, `stream=True`)
and the `messages.stream(...)` helper, whose request is made when its manager
is entered (`with client.messages.stream(...) as s`)."""

from __future__ import annotations

from ._http import ANTHROPIC_MESSAGES
from ._wrap import async_method, sync_method

TARGETS = [
    ("anthropic.resources.messages", "Messages", "create", sync_method(ANTHROPIC_MESSAGES)),
    ("anthropic.resources.messages", "AsyncMessages", "create", async_method(ANTHROPIC_MESSAGES)),
    ("anthropic.lib.streaming", "MessageStreamManager", "__enter__", sync_method(ANTHROPIC_MESSAGES)),
    ("anthropic.lib.streaming", "AsyncMessageStreamManager", "__aenter__", async_method(ANTHROPIC_MESSAGES)),
]
