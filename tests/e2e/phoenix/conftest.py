"""Fixtures: one Phoenix server for the session, and the example binary."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from phoenix_server import PhoenixServer, PhoenixStartError

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_EXAMPLE = REPO_ROOT / "target" / "debug" / "examples" / "agent_workflow"

_server: PhoenixServer | None = None


@pytest.fixture(scope="session")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PhoenixServer]:
    """`phoenix serve` on free loopback ports with a throwaway working dir.

    Stopped (SIGTERM, then SIGKILL) in the finalizer, which pytest runs
    whether the tests passed, failed or were interrupted.
    """
    global _server
    timeout = float(os.environ.get("PHOENIX_START_TIMEOUT", "180"))
    server = PhoenixServer(tmp_path_factory.mktemp("phoenix"), start_timeout=timeout)
    # `timeout`, CI runners and `kill` send SIGTERM, which Python does not turn
    # into an exception: without this pytest would die without tearing down.
    # (If pytest dies anyway, Phoenix gets SIGTERM from the kernel: see
    # phoenix_server._die_with_parent.)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        start_error: str | None = None
        try:
            server.start()
        except PhoenixStartError as e:
            start_error = str(e)
        if start_error is not None:
            pytest.fail(start_error, pytrace=False)
        _server = server
        yield server
    finally:
        _server = None
        server.stop()
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def example_bin() -> Path:
    path = Path(os.environ.get("TOKENTRACE_EXAMPLE", str(DEFAULT_EXAMPLE)))
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"example binary not found at {path}: run "
            "`cargo build -p tokentrace-core --examples` or set TOKENTRACE_EXAMPLE",
            pytrace=False,
        )
    return path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Attaches Phoenix's log tail to every failing test's report."""
    report = yield
    if report.failed and _server is not None:
        report.sections.append(("Phoenix log tail", _server.log_tail()))
    return report
