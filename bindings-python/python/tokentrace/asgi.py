"""ASGI servers: flush in the lifespan shutdown.

uvicorn ends workers by re-raising SIGTERM, so `atexit` never runs there.
tokentrace patches `uvicorn.Server.shutdown` to flush automatically; for
other servers, or to flush before your own shutdown code, wrap the app:

    app = tokentrace.asgi.FlushOnShutdown(app)

or, with FastAPI/Starlette lifespans:

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await tokentrace.aflush()
"""

from __future__ import annotations

from typing import Any

from .instrument._servers import flush_off_loop


class FlushOnShutdown:
    """ASGI middleware: flushes (off the event loop, bounded by `timeout`)
    before reporting `lifespan.shutdown.complete` to the server."""

    def __init__(self, app: Any, timeout: float = 5.0) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_then_flush(message: Any) -> None:
            if message.get("type") in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await flush_off_loop(self.timeout)
            await send(message)

        await self.app(scope, receive, send_then_flush)
