"""Process-wide state: the native tracer, the id generator, the drain
thread, fork and exit hooks.

The hot path reads the module attributes `tracer`, `pending`, `BATCH`,
`mask`, `root_always` and `parent_based` directly (one module-dict lookup
each).
"""

from __future__ import annotations

import atexit
import os
import random
import threading
import time
from typing import Any, Callable, List, Optional

from . import _native

#: Application masking hook (str -> str) applied to captured model-call
#: bodies before they reach core, or None.
mask: Optional[Callable[[str], str]] = None

#: The active native tracer, or None before init() / after shutdown().
tracer: Optional[_native.Tracer] = None
#: Root spans are always sampled (skip the native sampling call).
root_always: bool = True
#: Children follow their parent's sampling decision.
parent_based: bool = True
#: Seconds the exit hook may spend delivering queued spans.
exit_timeout: float = 5.0
#: The tracer's list of captured model calls not yet recorded (its `pending`).
pending: List[Any] = []

#: Calls recorded together: the native record runs once per batch, with its
#: code cold only for the first (see `instrument/_http.py`).
BATCH = 64
#: Seconds a captured call may wait in `pending` when fewer than `BATCH`
#: calls come: the drain thread then records them.
DRAIN_INTERVAL = 0.25

_lock = threading.Lock()

# Ids come from a private generator seeded from the OS: an app calling
# random.seed() must not make ids collide, and forked children reseed.
_rand = random.Random(os.urandom(32))
getrandbits = _rand.getrandbits


def new_id() -> int:
    """A random non-zero 64-bit id."""
    return getrandbits(64) or 1


def set_tracer(t: Optional[_native.Tracer], exit_timeout_s: Optional[float] = None) -> None:
    global tracer, root_always, parent_based, exit_timeout, pending
    with _lock:
        if t is not None:
            root_always = t.root_always
            parent_based = t.parent_based
            if exit_timeout_s is None:
                exit_timeout_s = min(t.export_timeout, 5.0)
            exit_timeout = exit_timeout_s
            pending = t.pending
        tracer = t
    if t is not None:
        _start_drainer()


_drainer: Optional[threading.Thread] = None


def _drain_loop() -> None:
    while True:
        time.sleep(DRAIN_INTERVAL)
        t = tracer
        if t is not None and pending:
            try:
                t.drain()
            except Exception:
                pass


def _start_drainer() -> None:
    """Starts the drain thread unless it runs (a forked child has none)."""
    global _drainer
    if _drainer is not None and _drainer.is_alive():
        return
    th = threading.Thread(target=_drain_loop, name="tokentrace-drain", daemon=True)
    th.start()
    _drainer = th


def _before_fork() -> None:
    t = tracer
    if t is not None:
        try:
            t.before_fork()
        except Exception:
            pass


def _after_fork_parent() -> None:
    t = tracer
    if t is not None:
        try:
            t.after_fork_parent()
        except Exception:
            pass


def _after_fork_child() -> None:
    # No logging, no blocking: only reseed and hand the child a fresh pipeline.
    global _lock
    _lock = threading.Lock()
    try:
        _rand.seed(os.urandom(32))
    except Exception:
        pass
    t = tracer
    if t is not None:
        try:
            t.after_fork_child()
            _start_drainer()
        except Exception:
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_parent,
        after_in_child=_after_fork_child,
    )


def _at_exit() -> None:
    """Delivers what is queued, bounded by `exit_timeout` (never hangs)."""
    t = tracer
    if t is None or t.is_shutdown:
        return
    try:
        t.shutdown(exit_timeout)
    except Exception:
        pass


atexit.register(_at_exit)
