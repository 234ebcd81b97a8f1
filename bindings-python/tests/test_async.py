"""asyncio: async clients, gather, tasks, async streams."""

from __future__ import annotations

import asyncio
import gc

import anthropic
import openai
import pytest
import tokentrace
from conftest import llm_spans, spans

MSGS = [{"role": "user", "content": "Hello there"}]


@pytest.fixture
async def aclient(fake_url: str):
    c = openai.AsyncOpenAI(base_url=f"{fake_url}/v1", api_key="sk-fake", max_retries=0)
    yield c
    await c.close()


async def test_async_chat_json(tt, aclient):
    r = await aclient.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    assert r.choices[0].message.content.startswith("This is a fake reply")
    assert len(llm_spans()) == 1


async def test_async_stream_full_and_early_close(tt, aclient):
    stream = await aclient.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True)
    async for _ in stream:
        pass
    assert len(llm_spans()) == 1
    stream = await aclient.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True)
    async for _ in stream:
        break
    await stream.close()
    assert len(llm_spans()) == 2
    del stream
    gc.collect()
    assert len(llm_spans()) == 2
    ttfc = [s["attributes"].get("gen_ai.response.time_to_first_chunk") for s in llm_spans()]
    assert all(t and t > 0 for t in ttfc)


@pytest.mark.skipif(not hasattr(openai.AsyncOpenAI(api_key="x").beta, "responses"), reason="openai 3.x")
async def test_async_beta_responses_json_and_stream(tt, aclient):
    r = await aclient.beta.responses.create(model="gpt-4o-mini", input="Hello there")
    assert r.status == "completed"
    stream = await aclient.beta.responses.create(model="gpt-4o-mini", input="Hello there", stream=True)
    async for _ in stream:
        pass
    calls = llm_spans()
    assert [c["name"] for c in calls] == ["chat gpt-4o-mini"] * 2
    assert all(c["attributes"].get("gen_ai.usage.output_tokens", 0) > 0 for c in calls)


async def test_gather_under_a_trace_parents_every_call(tt, aclient):
    async def ask(i: int) -> None:
        with tokentrace.span(f"step-{i}"):
            await aclient.chat.completions.create(model="gpt-4o-mini", messages=MSGS)

    with tokentrace.trace("fan_out", user_id="u-1") as root:
        await asyncio.gather(*(ask(i) for i in range(3)))
    all_spans = spans()
    by_id = {s["span_id"]: s for s in all_spans}
    root_span = by_id[root.span_id]
    assert root_span["parent_span_id"] is None
    calls = llm_spans(all_spans)
    assert len(calls) == 3
    for c in calls:
        step = by_id[c["parent_span_id"]]
        assert step["name"].startswith("step-")
        assert step["parent_span_id"] == root.span_id
        assert c["trace_id"] == root.trace_id
        assert c["attributes"]["user.id"] == "u-1"
    assert len({by_id[c["parent_span_id"]]["name"] for c in calls}) == 3


async def test_tasks_created_outside_a_trace_are_separate_traces(tt, aclient):
    await asyncio.gather(*(aclient.chat.completions.create(model="gpt-4o-mini", messages=MSGS) for _ in range(2)))
    calls = llm_spans()
    assert len(calls) == 2
    assert calls[0]["trace_id"] != calls[1]["trace_id"]
    assert all(c["parent_span_id"] is None for c in calls)


async def test_async_errors_propagate(tt, aclient):
    with pytest.raises(openai.NotFoundError):
        await aclient.chat.completions.create(model="error-404", messages=MSGS)
    assert llm_spans()[0]["status_code"] == "error"


async def test_async_with_raw_response(tt, aclient):
    raw = await aclient.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MSGS)
    assert raw.parse().choices[0].message.content
    assert len(llm_spans()) == 1


# -- the aiohttp transport (`http_client=DefaultAioHttpClient()`), which the
# clients recommend for high concurrency: an httpx AsyncClient subclass whose
# responses stream from aiohttp.


async def test_openai_over_aiohttp(tt, fake_url):
    c = openai.AsyncOpenAI(
        base_url=f"{fake_url}/v1", api_key="sk-fake", max_retries=0, http_client=openai.DefaultAioHttpClient()
    )
    async with c:
        r = await c.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
        assert r.choices[0].message.content.startswith("This is a fake reply")
        stream = await c.chat.completions.create(
            model="gpt-4o-mini", messages=MSGS, stream=True, stream_options={"include_usage": True}
        )
        text = "".join([ch.choices[0].delta.content or "" async for ch in stream if ch.choices])
        assert len(llm_spans()) == 2
        stream = await c.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True)
        async for _ in stream:
            break
        await stream.close()
        assert len(llm_spans()) == 3
        with pytest.raises(openai.InternalServerError):
            await c.chat.completions.create(model="error-500", messages=MSGS)
    whole, streamed, cut, failed = sorted(llm_spans(), key=lambda s: s["start_unix_nanos"])
    for s in (whole, streamed):
        a = s["attributes"]
        assert a["gen_ai.usage.output_tokens"] == 11
        assert text in a["gen_ai.output.messages"]
    # aiohttp may hand the whole short stream over in one read: the cut
    # stream's record holds what arrived, whatever the finish it shows.
    for s in (streamed, cut):
        assert s["attributes"]["gen_ai.response.time_to_first_chunk"] > 0
    assert failed["status_code"] == "error"
    assert failed["attributes"]["error.type"] == "InternalServerError"


async def test_anthropic_over_aiohttp(tt, fake_url):
    c = anthropic.AsyncAnthropic(
        base_url=fake_url, api_key="sk-fake", max_retries=0, http_client=anthropic.DefaultAioHttpClient()
    )
    async with c:
        m = await c.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS)
        async with c.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=MSGS) as s:
            text = "".join([t async for t in s.text_stream])
    assert text == m.content[0].text
    calls = llm_spans()
    assert len(calls) == 2
    for s in calls:
        assert s["attributes"]["gen_ai.usage.output_tokens"] == 11
        assert text in s["attributes"]["gen_ai.output.messages"]
