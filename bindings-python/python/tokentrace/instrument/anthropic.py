"""anthropic (0.x and newer): `messages.create` and `messages.parse` (sync,
async, `stream=True`), the `messages.stream(...)` helper, whose request is
made when its manager is entered (`with client.messages.stream(...) as s`),
and the same three on `client.beta.messages` (a separate resource: beta
features such as MCP servers, files and `tool_runner`, which calls the beta
`create` / `stream`). `parse` posts by itself, not through `create`. A
method missing from an older client line is skipped."""

from __future__ import annotations

from typing import List

from ._hooks import Target
from ._http import ANTHROPIC_MESSAGES
from ._wrap import async_method, sync_method

_SYNC = sync_method(ANTHROPIC_MESSAGES)
_ASYNC = async_method(ANTHROPIC_MESSAGES)


def _resource(module: str) -> List[Target]:
    return [
        (module, cls, method, wrap)
        for method in ("create", "parse")
        for cls, wrap in (("Messages", _SYNC), ("AsyncMessages", _ASYNC))
    ]


TARGETS: List[Target] = (
    _resource("anthropic.resources.messages")
    + _resource("anthropic.resources.beta.messages")
    + [
        ("anthropic.lib.streaming", "MessageStreamManager", "__enter__", _SYNC),
        ("anthropic.lib.streaming", "AsyncMessageStreamManager", "__aenter__", _ASYNC),
        ("anthropic.lib.streaming", "BetaMessageStreamManager", "__enter__", _SYNC),
        ("anthropic.lib.streaming", "BetaAsyncMessageStreamManager", "__aenter__", _ASYNC),
    ]
)
