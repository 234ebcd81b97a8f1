"""Wrappers that turn a client method into a traced model call.

They are transparent: the original is called with the same arguments, its
return value is returned as is (streams are not proxied: their end is seen
at the HTTP layer, see `_http.py`) and its exceptions propagate unchanged.
Tracing work is confined to `begin` / `finish` / `stream_returned` / `failed`, none of which
can raise.
"""

from __future__ import annotations

from time import time_ns
from typing import Any, Callable

from ._http import ACTIVE, begin


def sync_method(api: int) -> Callable[[Any], Any]:
    def factory(orig: Any) -> Any:
        def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
            call = begin(api)
            if call is None:
                return orig(self, *args, **kwargs)
            token = ACTIVE.set(call)
            try:
                result = orig(self, *args, **kwargs)
            except BaseException as e:
                ACTIVE.reset(token)
                call.failed(e)
                raise
            ACTIVE.reset(token)
            if call.chunks is None:
                call.finish(time_ns())  # the common case in one frame; streams end later
            else:
                call.stream_returned()
            return result

        return traced

    return factory


def async_method(api: int) -> Callable[[Any], Any]:
    def factory(orig: Any) -> Any:
        async def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
            call = begin(api)
            if call is None:
                return await orig(self, *args, **kwargs)
            token = ACTIVE.set(call)
            try:
                result = await orig(self, *args, **kwargs)
            except BaseException as e:
                ACTIVE.reset(token)
                call.failed(e)
                raise
            ACTIVE.reset(token)
            if call.chunks is None:
                call.finish(time_ns())  # the common case in one frame; streams end later
            else:
                call.stream_returned()
            return result

        return traced

    return factory
