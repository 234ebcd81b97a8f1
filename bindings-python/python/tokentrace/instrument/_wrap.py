"""Wrappers that turn a client method into a traced model call.

They are transparent: the original is called with the same arguments, its
return value is returned as is (streams are not proxied: their end is seen
at the HTTP layer, see `_http.py`) and its exceptions propagate unchanged.
The tracing work is `begin` (parent, sampling) and `ended` (records a plain
response; a stream records itself when it ends), neither of which raises.
"""

from __future__ import annotations

from typing import Any, Callable

from ._http import begin, ended


def sync_method(api: int) -> Callable[[Any], Any]:
    def factory(orig: Any) -> Any:
        def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
            call = begin(api)
            if call is None:
                return orig(self, *args, **kwargs)
            try:
                result = orig(self, *args, **kwargs)
            except BaseException as e:
                ended(call, e)
                raise
            ended(call)
            return result

        return traced

    return factory


def async_method(api: int) -> Callable[[Any], Any]:
    def factory(orig: Any) -> Any:
        async def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
            call = begin(api)
            if call is None:
                return await orig(self, *args, **kwargs)
            try:
                result = await orig(self, *args, **kwargs)
            except BaseException as e:
                ended(call, e)
                raise
            ended(call)
            return result

        return traced

    return factory
