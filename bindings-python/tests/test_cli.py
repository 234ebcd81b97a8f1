"""`python -m tokentrace`: the CLI shipped in the wheel, over a store written
by the demo agent (file exporter, the default without an endpoint)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tokentrace.__main__ import binary

DEMO = Path(__file__).resolve().parents[1] / "examples" / "agent_demo.py"

pytestmark = pytest.mark.skipif(
    binary() is None,
    reason="no CLI binary in this install: `make -C bindings-python cli-bin` (the wheel built by `make test` has it)",
)


def run(args, env, **kw):
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=120, **kw)


def test_demo_then_view_and_stats(tmp_path, fake_url):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith(("OTEL_", "TOKENTRACE_")):
            del env[k]
    env |= {"TOKENTRACE_DIR": str(tmp_path / "store"), "FAKE_LLM_URL": fake_url}
    demo = run([str(DEMO)], env)
    assert demo.returncode == 0, demo.stderr
    assert "Tool said" in demo.stdout
    view = run(["-m", "tokentrace", "view"], env)
    assert view.returncode == 0, view.stderr
    assert "answer_question" in view.stdout
    assert "gpt-4o-mini" in view.stdout
    stats = run(["-m", "tokentrace", "stats"], env)
    assert stats.returncode == 0, stats.stderr
    assert "gpt-4o-mini" in stats.stdout
    assert "weather-qa" in stats.stdout  # the trace's feature, by feature


def test_cli_errors_keep_their_exit_code(tmp_path):
    env = dict(os.environ) | {"TOKENTRACE_DIR": str(tmp_path / "missing")}
    p = run(["-m", "tokentrace", "view"], env)
    assert p.returncode == 1
    assert "no trace store" in p.stderr
    assert run(["-m", "tokentrace", "--no-such-flag"], env).returncode == 2
