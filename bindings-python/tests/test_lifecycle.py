"""init / flush / shutdown / stats, configuration errors, and the GIL."""

from __future__ import annotations

import json
import socket
import threading

import pytest
import tokentrace
from conftest import llm_spans, needs_redaction, one_llm_span, parsed, pending_entry, run_script, spans
from tokentrace import _native, testing


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"exporter": "bogus"}, "exporter"),
        ({"protocol": "smoke-signals"}, "protocol"),
        ({"max_queue_size": 0}, "max_queue_size"),
        ({"max_queue_size": "many"}, "max_queue_size"),
        ({"headers": 42}, "headers"),
        ({"sampler": "sometimes"}, "sampler"),
        ({"export_timeout": -1}, "export_timeout"),
        ({"no_such_option": 1}, "no_such_option"),
        ({"semconv": "klingon"}, "semconv"),
        ({"redact": "yes"}, "redact"),
        ({"prices": "/no/such/dir/prices.json"}, "prices"),
    ],
)
def test_invalid_config_in_code_raises_a_clear_error(kwargs, field):
    kwargs.setdefault("exporter", "memory")
    with pytest.raises(tokentrace.InvalidConfigError) as info:
        tokentrace.init(**kwargs)
    assert field.split("_")[0] in str(info.value)
    assert isinstance(info.value, tokentrace.TokentraceError)


def test_error_classes_form_one_tree():
    for cls in (tokentrace.InvalidConfigError, tokentrace.FlushTimeoutError, tokentrace.AlreadyShutdownError):
        assert issubclass(cls, tokentrace.TokentraceError)
    assert issubclass(tokentrace.TokentraceError, Exception)
    from tokentrace import errors

    assert errors.InvalidConfigError is _native.InvalidConfigError


def test_headers_as_dict_or_string_and_resource_options():
    tokentrace.init(
        exporter="memory",
        service_name="svc",
        environment="staging",
        headers={"x-api-key": "secret"},
        resource_attributes={"team": "search"},
    )
    with tokentrace.span("s"):
        pass
    (s,) = tokentrace.testing.finished_spans()
    assert s["resource"]["service.name"] == "svc"
    assert s["resource"]["deployment.environment.name"] == "staging"
    assert s["resource"]["team"] == "search"
    assert s["resource"]["telemetry.sdk.language"] == "python"
    tokentrace.init(exporter="memory", headers="x-api-key=secret,x-b=2")


@needs_redaction
def test_policies_are_set_from_code_too(fake_url, tmp_path):
    import openai

    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"providers": {"openai": {"gpt-4o-mini": {"input": 1000, "output": 1000}}}}))
    msgs = [{"role": "user", "content": "Write to ann@example.com"}]
    try:
        with openai.OpenAI(base_url=f"{fake_url}/v1", api_key="sk-fake", max_retries=0) as client:
            tokentrace.init(
                exporter="memory", schedule_delay=0.05, semconv="both", prices=str(prices), redact=False, metrics=False
            )
            client.chat.completions.create(model="gpt-4o-mini", messages=msgs)
            s = one_llm_span()
            a = s["attributes"]
            assert a["openinference.span.kind"] == "LLM", "both conventions"
            assert "ann@example.com" in json.dumps(parsed(s, "gen_ai.input.messages")), "redaction off"
            assert a["tokentrace.cost.input_usd"] == pytest.approx(a["gen_ai.usage.input_tokens"] / 1000), "prices"
            tokentrace.init(exporter="memory", schedule_delay=0.05, redact=True, tail_sampling=True)
            with pytest.raises(openai.InternalServerError):
                client.chat.completions.create(model="gpt-4o-mini+status=500", messages=msgs)
            for _ in range(40):
                with tokentrace.trace("ok"):
                    pass
            tokentrace.flush()
            (s,) = llm_spans()
            assert s["status_code"] == "error", "tail sampling keeps the failed call"
            # ... and keeps a tenth of the plain traces (40 at 10%: none dropped has odds of 1e-40).
            assert tokentrace.stats()["dropped"]["tail_sampled"] > 0
            assert "ann@example.com" not in json.dumps(s["attributes"]), "redaction back on"
    finally:
        tokentrace.init(exporter="memory", service_name="pytest", schedule_delay=0.05)


def test_a_policy_switch_from_code_wins_over_the_environment():
    p = run_script(
        """
        import tokentrace
        tokentrace.init(exporter="memory", tail_sampling=False)
        for _ in range(40):
            with tokentrace.trace("ok"):
                pass
        tokentrace.flush()
        print(len(tokentrace.testing.finished_spans()), tokentrace.stats()["dropped"]["tail_sampled"])
        """,
        env={"TOKENTRACE_TAIL_SAMPLING": "true"},
    )
    assert p.stdout.split() == ["40", "0"], p.stderr


def test_init_without_arguments_reads_the_environment():
    p = run_script(
        """
        import json, tokentrace
        tokentrace.init()
        with tokentrace.span("s"):
            pass
        print(json.dumps(tokentrace.testing.finished_spans()[0]["resource"]))
        """,
        env={
            "OTEL_SERVICE_NAME": "from-env",
            "TOKENTRACE_EXPORTER": "memory",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=prod",
        },
    )
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout.splitlines()[-1])
    assert res["service.name"] == "from-env"
    assert res["deployment.environment.name"] == "prod"


def test_invalid_environment_warns_and_uses_the_default():
    p = run_script(
        "import tokentrace; tokentrace.init(); import tokentrace._runtime as rt; print(rt.tracer.config_warnings)",
        env={"OTEL_BSP_MAX_QUEUE_SIZE": "lots", "TOKENTRACE_EXPORTER": "memory"},
    )
    assert p.returncode == 0, p.stderr
    assert "OTEL_BSP_MAX_QUEUE_SIZE" in p.stdout


def test_disabled_records_nothing(fake_url):
    tokentrace.init(exporter="memory", disabled=True)
    with tokentrace.trace("t"):
        pass
    assert spans() == []


def test_sampler_always_off_records_nothing_and_ratio_is_consistent():
    tokentrace.init(exporter="memory", sampler="always_off")
    with tokentrace.trace("t"):
        with tokentrace.span("child"):
            pass
    assert spans() == []
    tokentrace.init(exporter="memory", sampler="traceidratio", sampler_arg=0.5)
    for _ in range(200):
        with tokentrace.trace("t"):
            with tokentrace.span("child"):
                pass
    ss = spans()
    assert 0 < len(ss) < 400
    roots = {s["trace_id"] for s in ss if s["name"] == "t"}
    children = {s["trace_id"] for s in ss if s["name"] == "child"}
    assert roots == children  # a trace is kept or dropped whole


def test_flush_and_shutdown_errors():
    tokentrace.init(exporter="memory")
    tokentrace.flush(1.0)
    tokentrace.shutdown(1.0)
    with pytest.raises(tokentrace.AlreadyShutdownError):
        tokentrace.flush(1.0)
    with pytest.raises(tokentrace.AlreadyShutdownError):
        tokentrace.shutdown(1.0)
    with tokentrace.span("after"):  # recording after shutdown never raises
        pass
    assert tokentrace.stats()["dropped"]["shutdown"] == 1


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_flush_timeout_raises_and_releases_the_gil():
    tokentrace.init(endpoint=f"http://127.0.0.1:{_closed_port()}", protocol="http/json", retry_max_elapsed=30)
    with tokentrace.span("s"):
        pass
    ticks = 0
    stop = False

    def spin() -> None:
        nonlocal ticks
        while not stop:
            ticks += 1

    th = threading.Thread(target=spin)
    th.start()
    try:
        with pytest.raises(tokentrace.FlushTimeoutError):
            tokentrace.flush(0.5)
    finally:
        stop = True
        th.join()
    # The other thread ran while flush waited (the GIL was released).
    assert ticks > 1000
    assert tokentrace.stats()["pending"] >= 1


def test_stats_counts():
    tokentrace.init(exporter="memory")
    for _ in range(3):
        with tokentrace.span("s"):
            pass
    tokentrace.flush(5)
    st = tokentrace.stats()
    assert st["enqueued"] == 3 and st["exported"] == 3 and st["pending"] == 0
    assert st["dropped_total"] == 0 and st["binding_errors"] == 0
    assert st["exporters"][0]["name"] == "memory"


def test_stats_report_the_queue_bounds_in_effect():
    tokentrace.init(exporter="memory", max_queue_size=5000, max_queue_bytes=3 << 20)
    st = tokentrace.stats()
    assert st["queue_capacity"] == 5000 and st["queue_max_bytes"] == 3 << 20
    tokentrace.shutdown(5)
    # The default byte budget is sized from the host's memory, within 32-512 MiB.
    tokentrace.init(exporter="memory")
    assert 32 << 20 <= tokentrace.stats()["queue_max_bytes"] <= 512 << 20


def test_record_calls_never_raise_on_odd_values():
    tokentrace.init(exporter="memory")

    class Weird:
        def __str__(self) -> str:
            raise RuntimeError("no str")

    with tokentrace.span("s", weird=Weird(), big=2**80, none=None, mixed=[1, "a"], nested={"a": [1, {"b": 2}]}):
        tokentrace.set_attributes(**{"surrogate": "\udcff"})
    (s,) = spans()
    a = s["attributes"]
    assert a["big"] == str(2**80)
    assert json.loads(a["mixed"]) == [1, "a"]
    assert json.loads(a["nested"]) == {"a": [1, {"b": 2}]}


def test_model_calls_are_recorded_in_batches_and_a_lone_call_does_not_wait(tt, fake_url):
    import time

    import openai
    from tokentrace import _runtime as rt

    assert any(th.name == "tokentrace-drain" and th.is_alive() for th in threading.enumerate())
    with openai.OpenAI(base_url=f"{fake_url}/v1", api_key="k", max_retries=0) as c:
        for i in range(2 * rt.BATCH + 3):
            c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"call {i}"}])
            # The calling thread records every full batch itself: never more than one batch waits.
            assert len(rt.pending) < rt.BATCH
        c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "the last one"}])
    # No flush, no further call: the drain thread records what waits.
    deadline = time.monotonic() + 5
    while rt.pending and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not rt.pending, "the drain thread recorded the calls left over"
    prompts = [parsed(s, "gen_ai.input.messages")[0]["parts"][0]["content"] for s in llm_spans()]
    assert sorted(prompts) == sorted([f"call {i}" for i in range(2 * rt.BATCH + 3)] + ["the last one"])


def test_a_malformed_pending_entry_is_counted_never_raised(tt):
    from tokentrace import _runtime as rt

    before = tokentrace.stats()["binding_errors"]
    # The right length, with a field of the wrong type (a start time as text).
    wrong_type = list(pending_entry(b"{}", b"{}"))
    wrong_type[6] = "yesterday"
    rt.pending.extend([("not", "an", "entry"), None, ("x",) * len(wrong_type), tuple(wrong_type)])
    tokentrace.flush(5)  # drains first; must not raise
    assert not rt.pending
    assert tokentrace.stats()["binding_errors"] == before + 4
    assert spans() == []


@needs_redaction
def test_emails_in_prompts_are_redacted(tt, fake_url):
    import openai

    with openai.OpenAI(base_url=f"{fake_url}/v1", api_key="k", max_retries=0) as c:
        c.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Write to jane.doe@example.com please"}]
        )
    s = one_llm_span()
    dumped = json.dumps(s["attributes"])
    assert "jane.doe@example.com" not in dumped
    assert "Write to" in json.dumps(parsed(s, "gen_ai.input.messages"))


def test_application_mask_hook_runs_before_export(fake_url):
    import re

    import openai

    def mask(text: str) -> str:
        return re.sub(r"ACCT-\d+", "ACCT-***", text)

    tokentrace.init(exporter="memory", service_name="pytest", schedule_delay=0.05, mask=mask)
    testing.clear()
    try:
        with openai.OpenAI(base_url=f"{fake_url}/v1", api_key="k", max_retries=0) as c:
            c.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Balance of ACCT-123456 please"}]
            )
        s = one_llm_span()
        dumped = json.dumps(s["attributes"])
        assert "ACCT-123456" not in dumped
        assert "ACCT-***" in json.dumps(parsed(s, "gen_ai.input.messages"))

        def broken(text: str) -> str:
            raise RuntimeError("bug in the hook")

        tokentrace.init(exporter="memory", service_name="pytest", schedule_delay=0.05, mask=broken)
        testing.clear()
        with openai.OpenAI(base_url=f"{fake_url}/v1", api_key="k", max_retries=0) as c:
            r = c.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Balance of ACCT-123456 please"}]
            )
        assert r.choices[0].message.content, "the app is unaffected by a failing hook"
        s = one_llm_span()
        assert "ACCT-123456" not in json.dumps(s["attributes"]), "content dropped, never unmasked"
        with pytest.raises(tokentrace.InvalidConfigError, match="mask"):
            tokentrace.init(exporter="memory", mask="not callable")
    finally:
        tokentrace.init(exporter="memory", service_name="pytest", schedule_delay=0.05)


def test_application_mask_hook_covers_streamed_bodies(fake_url):
    import re

    import openai

    tokentrace.init(
        exporter="memory", service_name="pytest", schedule_delay=0.05, mask=lambda t: re.sub(r"ACCT-\d+", "ACCT-***", t)
    )
    testing.clear()
    try:
        with openai.OpenAI(base_url=f"{fake_url}/v1", api_key="k", max_retries=0) as c:
            text = "".join(
                ch.choices[0].delta.content or ""
                for ch in c.chat.completions.create(
                    model="gpt-4o-mini",
                    messages=[{"role": "user", "content": "Balance of ACCT-123456 please"}],
                    stream=True,
                )
                if ch.choices
            )
        assert "ACCT-123456" in text, "the application still reads the unmasked stream"
        s = one_llm_span()
        assert "ACCT-123456" not in json.dumps(s["attributes"])
        assert "ACCT-***" in json.dumps(parsed(s, "gen_ai.input.messages"))
        # The masked stream body is still parsed into the completion.
        assert "You said: Balance of ACCT-*** please" in json.dumps(parsed(s, "gen_ai.output.messages"))
    finally:
        tokentrace.init(exporter="memory", service_name="pytest", schedule_delay=0.05)
