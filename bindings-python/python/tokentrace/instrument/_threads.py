"""Context for `concurrent.futures` executors: `ThreadPoolExecutor.submit`
does not copy `contextvars`, so a task submitted inside a trace would start
a new trace. The patch runs the task in a copy of the submitter's context,
only when a tokentrace span is current (otherwise it is a pass-through)."""

from __future__ import annotations

import contextvars
from typing import Any

from ..context import CURRENT


def make_submit(orig: Any) -> Any:
    def submit(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        if CURRENT.get() is None:
            return orig(self, fn, *args, **kwargs)
        return orig(self, contextvars.copy_context().run, fn, *args, **kwargs)

    return submit


TARGETS = [("concurrent.futures.thread", "ThreadPoolExecutor", "submit", make_submit)]
