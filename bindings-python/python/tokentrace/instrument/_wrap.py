"""Wrappers that turn a client method into a traced model call.

They are transparent: the original is called with the same arguments, its
return value is returned as is (streams are not proxied: their end is seen
at the HTTP layer, see `_http.py`) and its exceptions propagate unchanged.
The tracing work is three native entries that never raise: `Tracer.begin`
(parent, sampling, the `ACTIVE` context variable), `Call.returned` (records
a plain response; a stream records itself when it ends) and `Call.failed`.
"""

from __future__ import annotations

from typing import Any, Callable

from .. import _runtime as rt


def sync_method(api: int) -> Callable[[Any], Any]:
    def factory(orig: Any) -> Any:
        def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
            t = rt.tracer
            call = t.begin(api) if t is not None else None
            if call is None:
                return orig(self, *args, **kwargs)
            try:
                result = orig(self, *args, **kwargs)
            except BaseException as e:
                call.failed(e)
                raise
            call.returned()
            return result

        return traced

    return factory


def async_method(api: int) -> Callable[[Any], Any]:
    def factory(orig: Any) -> Any:
        async def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
            t = rt.tracer
            call = t.begin(api) if t is not None else None
            if call is None:
                return await orig(self, *args, **kwargs)
            try:
                result = await orig(self, *args, **kwargs)
            except BaseException as e:
                call.failed(e)
                raise
            call.returned()
            return result

        return traced

    return factory
