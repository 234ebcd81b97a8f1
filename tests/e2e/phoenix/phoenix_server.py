"""A Phoenix server in a subprocess: loopback only, temp state, nothing phoned home."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import deque
from pathlib import Path

from phoenix_launcher import LOOPBACK_MARKER

HOST = "127.0.0.1"
LAUNCHER = Path(__file__).with_name("phoenix_launcher.py")

# Settings that make Phoenix a quiet, self-contained local receiver. Names come
# from phoenix/config.py of arize-phoenix 20.26.
QUIET_ENV = {
    # No FullStory / Scarf.sh pixels in the UI.
    "PHOENIX_TELEMETRY_ENABLED": "false",
    # No public-internet requests of its own (web fonts, WASM sandbox download...).
    "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
    # The in-app LLM assistant and the MCP endpoint are not under test.
    "PHOENIX_DISABLE_AGENT_ASSISTANT": "true",
    "PHOENIX_ENABLE_MCP_SERVER": "false",
    # Migrations log every CREATE TABLE; without them the log tail shows ingest.
    "PHOENIX_LOG_MIGRATIONS": "false",
}


class PhoenixStartError(RuntimeError):
    """Phoenix exited or did not answer in time; the message carries its log tail."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """Runs in the child before exec: Linux sends it SIGTERM when the test
    process dies, even by SIGKILL, so no Phoenix outlives a killed run."""
    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: stop() is the only guard


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


class PhoenixServer:
    """One `phoenix serve` process; `start()` blocks until both receivers answer."""

    def __init__(self, workdir: Path, start_timeout: float) -> None:
        self.workdir = workdir
        self.start_timeout = start_timeout
        self.http_port = free_port()
        self.grpc_port = free_port()
        while self.grpc_port == self.http_port:
            self.grpc_port = free_port()
        self.log_path = workdir / "phoenix.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    @property
    def grpc_endpoint(self) -> str:
        return f"http://{HOST}:{self.grpc_port}"

    def env(self) -> dict[str, str]:
        # A developer's own PHOENIX_* / OTEL_* settings (collector endpoint,
        # database URL, auth...) must not leak into the server under test.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PHOENIX_", "OTEL_"))
        }
        env.update(QUIET_ENV)
        env.update(
            PHOENIX_HOST=HOST,
            PHOENIX_PORT=str(self.http_port),
            PHOENIX_GRPC_PORT=str(self.grpc_port),
            PHOENIX_WORKING_DIR=str(self.workdir / "phoenix-home"),
            PYTHONUNBUFFERED="1",
        )
        return env

    def start(self) -> None:
        (self.workdir / "phoenix-home").mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(
                [sys.executable, str(LAUNCHER), "serve"],
                cwd=self.workdir,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own process group, so stop() reaches anything Phoenix spawns.
                start_new_session=True,
                # The test process starts no threads, so preexec_fn is safe here.
                preexec_fn=_die_with_parent,  # noqa: PLW1509
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            assert self._proc is not None
            code = self._proc.poll()
            if code is not None:
                raise PhoenixStartError(
                    f"phoenix serve exited with code {code} before answering\n"
                    f"{self.log_tail()}"
                )
            if self._healthy() and _port_open(self.grpc_port):
                if LOOPBACK_MARKER not in self.log_text():
                    raise PhoenixStartError(
                        "Phoenix's gRPC receiver started without the loopback rewrite "
                        "of phoenix_launcher.py (did Phoenix change how it binds?)\n"
                        f"{self.log_tail()}"
                    )
                return
            time.sleep(0.5)
        raise PhoenixStartError(
            f"Phoenix did not answer on {self.base_url}/healthz and gRPC port "
            f"{self.grpc_port} within {self.start_timeout:.0f}s\n{self.log_tail()}"
        )

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # The group may outlive its leader (worker processes): kill it anyway.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        tail = deque(self.log_text().splitlines(), maxlen=lines)
        body = "\n".join(tail) if tail else "(empty)"
        return f"--- last {lines} lines of {self.log_path} ---\n{body}\n--- end of Phoenix log ---"
