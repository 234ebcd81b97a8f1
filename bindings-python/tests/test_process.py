"""Process life: import order, fork (gunicorn-style), exit, uvicorn, and an
end-to-end export to an OTLP receiver. Each case runs in its own interpreter."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from conftest import otlp_env, run_script

CALL = """
client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
"""


def _count_llm(stdout: str) -> int:
    spans = json.loads(stdout.strip().splitlines()[-1])
    return sum(1 for s in spans if "gen_ai.provider.name" in s["attributes"])


@pytest.mark.parametrize(
    "order",
    [
        # init before the client library is imported
        "import tokentrace; tokentrace.init(exporter='memory')\nimport openai\nclient = openai.OpenAI(base_url=URL, api_key='k')",
        # init after import
        "import openai\nimport tokentrace; tokentrace.init(exporter='memory')\nclient = openai.OpenAI(base_url=URL, api_key='k')",
        # init after a client was created (and used)
        "import openai\nclient = openai.OpenAI(base_url=URL, api_key='k')\n" + CALL.strip()
        + "\nimport tokentrace; tokentrace.init(exporter='memory')",
        # a resource module imported lazily only after init
        "import tokentrace; tokentrace.init(exporter='memory')\nimport sys\nimport openai\n"
        "assert 'openai.resources.embeddings' in sys.modules or True\nclient = openai.OpenAI(base_url=URL, api_key='k')",
    ],
    ids=["init-before-import", "init-after-import", "init-after-client", "lazy-resources"],
)
def test_import_order_does_not_matter(fake_url, order):
    code = f"URL = {fake_url + '/v1'!r}\n{order}\n{CALL}\nimport json, tokentrace\nprint(json.dumps(tokentrace.testing.finished_spans()))\n"
    p = run_script(code)
    assert p.returncode == 0, p.stderr
    assert _count_llm(p.stdout) == 1


def test_anthropic_imported_after_init(fake_url):
    code = f"""
    import tokentrace; tokentrace.init(exporter='memory')
    import anthropic, json
    c = anthropic.Anthropic(base_url={fake_url!r}, api_key='k')
    c.messages.create(model='claude-haiku-4-5', max_tokens=20, messages=[{{'role': 'user', 'content': 'hi'}}])
    print(json.dumps(tokentrace.testing.finished_spans()))
    """
    p = run_script(code)
    assert p.returncode == 0, p.stderr
    assert _count_llm(p.stdout) == 1


def test_end_to_end_otlp_http_json(receiver, fake_url):
    code = f"""
    import tokentrace, openai
    tokentrace.init(service_name="e2e")
    client = openai.OpenAI(base_url={fake_url + '/v1'!r}, api_key='k')
    with tokentrace.trace("answer", user_id="u-1"):
        {CALL.strip()}
    """
    p = run_script(code, env=otlp_env(receiver))
    assert p.returncode == 0, p.stderr
    spans = receiver.wait_for(2)
    names = sorted(s["name"] for s in spans)
    assert len(spans) == 2, names
    root = next(s for s in spans if s["name"] == "answer")
    call = next(s for s in spans if s["name"] != "answer")
    assert call["parent_span_id"] == root["span_id"]
    assert call["trace_id"] == root["trace_id"]
    assert call["attributes"]["gen_ai.provider.name"] == "openai"
    assert call["attributes"]["user.id"] == "u-1"


def test_gunicorn_style_fork_every_worker_delivers(receiver):
    # The parent initialises and records (so its export thread is running),
    # then forks 3 workers; each records and leaves through sys.exit like a
    # gunicorn worker (atexit flushes). The parent keeps recording too.
    code = """
    import os, sys, tokentrace
    tokentrace.init(service_name="prefork")
    with tokentrace.span("parent-before"):
        pass
    tokentrace.flush(5)
    pids = []
    for w in range(3):
        pid = os.fork()
        if pid == 0:
            for i in range(5):
                with tokentrace.span(f"worker-{w}-{i}", worker=w):
                    pass
            sys.exit(0)
        pids.append(pid)
    with tokentrace.span("parent-after"):
        pass
    codes = [os.waitpid(p, 0)[1] for p in pids]
    tokentrace.flush(5)
    print(codes)
    """
    p = run_script(code, env=otlp_env(receiver), timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-1] == "[0, 0, 0]"
    spans = receiver.wait_for(17)
    names = sorted(s["name"] for s in spans)
    assert len(spans) == 17, names
    assert len({s["span_id"] for s in spans}) == 17  # none duplicated
    for w in range(3):
        assert [n for n in names if n.startswith(f"worker-{w}-")] == [f"worker-{w}-{i}" for i in range(5)]
    assert "parent-before" in names and "parent-after" in names


def test_exit_with_unreachable_backend_does_not_hang():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    code = f"""
    import tokentrace
    tokentrace.init(endpoint="http://127.0.0.1:{port}", protocol="http/json", exit_timeout=1.0)
    for i in range(100):
        with tokentrace.span("s"):
            pass
    """
    start = time.monotonic()
    p = run_script(code, timeout=30)
    assert p.returncode == 0, p.stderr
    # Bounded by exit_timeout plus interpreter start-up, not by retries.
    assert time.monotonic() - start < 20


def test_exit_flushes_queued_spans(receiver):
    code = """
    import tokentrace
    tokentrace.init(schedule_delay=60)
    for i in range(10):
        with tokentrace.span(f"s{i}"):
            pass
    """
    p = run_script(code, env=otlp_env(receiver) | {"OTEL_BSP_SCHEDULE_DELAY": "60000"})
    assert p.returncode == 0, p.stderr
    assert len(receiver.wait_for(10, timeout=5)) == 10


APP = '''
import openai, tokentrace, os
tokentrace.init(service_name="asgi")
client = openai.AsyncOpenAI(base_url=os.environ["FAKE_URL"] + "/v1", api_key="k")

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            m = await receive()
            if m["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif m["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    with tokentrace.trace("request"):
        await client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
'''


def test_uvicorn_sigterm_flushes_in_shutdown(receiver, fake_url, tmp_path):
    pytest.importorskip("uvicorn")
    (tmp_path / "asgi_app.py").write_text(APP)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    env = dict(os.environ) | otlp_env(receiver) | {"FAKE_URL": fake_url, "OTEL_BSP_SCHEDULE_DELAY": "60000"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "asgi_app:app", "--port", str(port), "--log-level", "warning"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        import urllib.request

        deadline = time.monotonic() + 30
        while True:
            try:
                assert urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read() == b"ok"
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        # The schedule delay is a minute: only the shutdown hook can deliver now.
        assert receiver.spans == []
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    # uvicorn re-raises SIGTERM: the process dies by the signal, atexit never runs.
    assert proc.returncode == -signal.SIGTERM, err.decode()
    spans = receiver.wait_for(2, timeout=5)
    assert sorted(s["name"] for s in spans)[-1] == "request"
    assert len(spans) == 2


def test_flush_on_shutdown_middleware(receiver):
    code = """
    import asyncio, tokentrace
    from tokentrace.asgi import FlushOnShutdown
    tokentrace.init(service_name="mw")

    async def inner(scope, receive, send):
        m = await receive()
        await send({"type": "lifespan.startup.complete"})
        with tokentrace.span("work"):
            pass
        m = await receive()
        await send({"type": "lifespan.shutdown.complete"})

    async def main():
        msgs = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
        async def receive():
            return msgs.pop(0)
        async def send(m):
            pass
        await FlushOnShutdown(inner)({"type": "lifespan"}, receive, send)

    asyncio.run(main())
    import os
    os._exit(0)  # like a signal death: no atexit
    """
    p = run_script(code, env=otlp_env(receiver) | {"OTEL_BSP_SCHEDULE_DELAY": "60000"})
    assert p.returncode == 0, p.stderr
    assert [s["name"] for s in receiver.wait_for(1, timeout=5)] == ["work"]
