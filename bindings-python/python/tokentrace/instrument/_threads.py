"""Context for threads: neither `ThreadPoolExecutor.submit` nor
`threading.Thread.start` copies `contextvars`, so work handed to another
thread inside a trace would start a new trace. The patches run it in a copy
of the caller's context.

A thread started inside a trace keeps that context for its whole life, and
an executor's worker threads are started by the first `submit`; so `submit`
always runs the task in its submitter's context (even outside a trace), or a
task submitted later, outside any trace, would join the trace that happened
to be open when the pool's thread was created."""

from __future__ import annotations

import contextvars
from typing import Any

from ..context import CURRENT


def make_submit(orig: Any) -> Any:
    def submit(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        return orig(self, contextvars.copy_context().run, fn, *args, **kwargs)

    return submit


def make_start(orig: Any) -> Any:
    def start(self: Any) -> Any:
        if CURRENT.get() is not None and "run" not in self.__dict__:
            ctx = contextvars.copy_context()
            run = self.run  # bound here, so a subclass's own `run` is the one wrapped

            def run_in_context() -> None:
                try:
                    ctx.run(run)
                finally:
                    # Break the thread -> wrapper -> thread cycle once the work is done.
                    self.__dict__.pop("run", None)

            self.run = run_in_context
        return orig(self)

    return start


TARGETS = [
    ("concurrent.futures.thread", "ThreadPoolExecutor", "submit", make_submit),
    ("threading", "Thread", "start", make_start),
]
