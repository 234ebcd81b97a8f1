"""Flush hooks for servers that end without running `atexit`.

uvicorn ends a worker by re-raising the SIGTERM it caught, which kills the
process before `atexit` handlers run. Its `Server.shutdown` is the last
point where Python code runs, so the patch flushes there (off the event
loop, bounded by the exit timeout). gunicorn's own workers leave through
`sys.exit`, so `atexit` covers them; `os.register_at_fork` covers its fork.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .. import _runtime as rt


async def flush_off_loop(timeout: float) -> None:
    t = rt.tracer
    if t is None or t.is_shutdown:
        return
    try:
        await asyncio.get_running_loop().run_in_executor(None, t.flush, timeout)
    except Exception:
        pass


def make_shutdown(orig: Any) -> Any:
    async def shutdown(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await orig(self, *args, **kwargs)
        finally:
            await flush_off_loop(rt.exit_timeout)

    return shutdown


TARGETS = [("uvicorn.server", "Server", "shutdown", make_shutdown)]
