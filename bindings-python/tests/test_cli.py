"""`python -m tokentrace` and the `tokentrace` console script: the CLI compiled
into the extension, over a store written by the demo agent (file exporter,
the default without an endpoint)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


DEMO = Path(__file__).resolve().parents[1] / "examples" / "agent_demo.py"

def run(args, env, **kw):
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=120, **kw)


def demo_env(tmp_path, fake_url):
    """The environment of a user running the demo: no tracing settings but the store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TOKENTRACE_"))}
    return env | {"TOKENTRACE_DIR": str(tmp_path / "store"), "FAKE_LLM_URL": fake_url}


def test_demo_then_view_and_stats(tmp_path, fake_url):
    env = demo_env(tmp_path, fake_url)
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


def test_console_script_and_help(tmp_path):
    # `pip install tokentrace` puts a `tokentrace` script beside the interpreter.
    script = Path(sys.executable).parent / "tokentrace"
    env = dict(os.environ) | {"TOKENTRACE_DIR": str(tmp_path / "missing")}
    help_ = subprocess.run([str(script), "--help"], env=env, capture_output=True, text=True, timeout=60)
    assert help_.returncode == 0, help_.stderr
    for command in ("view", "stats", "tail", "replay"):
        assert command in help_.stdout
    p = subprocess.run([str(script), "stats"], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "no trace store" in p.stderr


def test_tail_stops_at_its_timeout(tmp_path, fake_url):
    env = demo_env(tmp_path, fake_url)
    assert run([str(DEMO)], env).returncode == 0
    tail = run(["-m", "tokentrace", "tail", "--timeout", "0.5"], env)
    assert tail.returncode == 0, tail.stderr
    assert "gpt-4o-mini" in tail.stdout
