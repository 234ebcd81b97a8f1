"""anthropic client: messages.create (JSON, stream=True), the messages.stream
helper, tools, cache tokens, errors; sync and async."""

from __future__ import annotations

import gc
import json
from typing import Any

import anthropic
import pydantic
import pytest
import tokentrace
from conftest import llm_spans, needs_parsers, one_llm_span, parsed

MSGS = [{"role": "user", "content": "Hello there"}]
TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture
def client(fake_url: str):
    with anthropic.Anthropic(base_url=fake_url, api_key="sk-fake", max_retries=0) as c:
        yield c


@pytest.fixture
async def aclient(fake_url: str):
    c = anthropic.AsyncAnthropic(base_url=fake_url, api_key="sk-fake", max_retries=0)
    yield c
    await c.close()


def test_create_json(tt, client):
    m = client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS)
    assert type(m).__name__ == "Message"
    assert m.content[0].text == "This is a fake reply. You said: Hello there"
    s = one_llm_span()
    assert s["kind"] == "client"
    assert s["attributes"]["gen_ai.provider.name"] == "anthropic"
    assert s["attributes"]["gen_ai.operation.name"] == "chat"


WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 1}


def server_tool_parts(span: Any) -> list:
    out = parsed(span, "gen_ai.output.messages")
    return [p for m in out for p in m["parts"] if p["type"].startswith("server_tool_call")]


@needs_parsers
def test_web_search_the_server_ran_is_a_server_tool_call_json_and_streamed(tt, client):
    client.messages.create(model="claude-haiku-4-5", max_tokens=200, messages=MSGS, tools=[WEB_SEARCH])
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=200, messages=MSGS, tools=[WEB_SEARCH]) as s:
        s.until_done()
    spans = llm_spans()
    assert len(spans) == 2
    for span in spans:
        call, result = server_tool_parts(span)
        assert call["type"] == "server_tool_call" and call["name"] == "web_search"
        assert call["server_tool_call"] == {"type": "web_search", "input": {"query": "Hello there"}}
        assert result["type"] == "server_tool_call_response" and result["id"] == call["id"]
        found = result["server_tool_call_response"]
        assert found["type"] == "web_search"
        assert [r["url"] for r in found["content"]] == ["https://example.com/there/1", "https://example.com/there/2"]
        # The search is the provider's work: the model answered, no tool is left for the app.
        a = span["attributes"]
        assert a["gen_ai.response.finish_reasons"] == ["end_turn"]
        # Billed per search ($10 per 1,000 for Claude) on top of the tokens.
        assert a["tokentrace.usage.web_search_calls"] == 1
        assert a["tokentrace.cost.tools_usd"] == pytest.approx(0.01)
        tokens = a["tokentrace.cost.input_usd"] + a["tokentrace.cost.output_usd"]
        assert a["tokentrace.cost.total_usd"] == pytest.approx(tokens + 0.01)
        assert json.dumps(parsed(span, "gen_ai.output.messages")).count("This is a fake reply") == 1


@needs_parsers
def test_create_json_fields(tt, client):
    client.messages.create(model="claude-haiku-4-5", max_tokens=100, system="Be brief.", messages=MSGS)
    s = one_llm_span()
    a = s["attributes"]
    assert s["name"] == "chat claude-haiku-4-5"
    assert a["gen_ai.request.model"] == "claude-haiku-4-5"
    assert a["gen_ai.response.model"] == "claude-haiku-4-5-20251001"
    assert a["gen_ai.request.max_tokens"] == 100
    assert a["gen_ai.response.finish_reasons"] == ["end_turn"]
    # "Be brief." + "Hello there" = 20 chars -> 5 tokens
    assert a["gen_ai.usage.input_tokens"] == 5
    assert a["gen_ai.usage.output_tokens"] == 11
    assert "Be brief." in json.dumps(parsed(s, "gen_ai.system_instructions"))


def test_create_stream(tt, client):
    stream = client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS, stream=True)
    types = [e.type for e in stream]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    s = one_llm_span()
    assert s["attributes"]["gen_ai.response.time_to_first_chunk"] > 0


def test_stream_helper(tt, client):
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=MSGS) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "This is a fake reply. You said: Hello there"
    assert final.usage.output_tokens == 11
    one_llm_span()


def test_stream_helper_left_early(tt, client):
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=MSGS) as stream:
        for _ in stream:
            break
    assert len(llm_spans()) == 1
    gc.collect()
    assert len(llm_spans()) == 1


@needs_parsers
def test_stream_fields(tt, client):
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=MSGS) as stream:
        stream.until_done()
    a = one_llm_span()["attributes"]
    assert a["gen_ai.usage.output_tokens"] == 11
    assert a["gen_ai.response.finish_reasons"] == ["end_turn"]


@needs_parsers
def test_tool_use_and_tool_result(tt, client):
    ask = [{"role": "user", "content": "What's the weather in Paris?"}]
    m = client.messages.create(model="claude-haiku-4-5", max_tokens=200, messages=ask, tools=[TOOL])
    use = next(b for b in m.content if b.type == "tool_use")
    client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=200,
        tools=[TOOL],
        messages=ask
        + [
            {"role": "assistant", "content": [b.model_dump() for b in m.content]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "Sunny, 24 C"}]},
        ],
    )
    first, second = sorted(llm_spans(), key=lambda s: s["start_unix_nanos"])
    assert first["attributes"]["gen_ai.response.finish_reasons"] == ["tool_use"]
    out = json.dumps(parsed(first, "gen_ai.output.messages"))
    assert "get_weather" in out and "Paris" in out
    inp = json.dumps(parsed(second, "gen_ai.input.messages"))
    assert "Sunny, 24 C" in inp and use.id in inp


@needs_parsers
def test_cache_tokens(tt, client):
    client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=100,
        messages=MSGS,
        extra_headers={"x-fake-cache-read-tokens": "100", "x-fake-cache-write-tokens": "20"},
    )
    a = one_llm_span()["attributes"]
    assert a["gen_ai.usage.cache_read.input_tokens"] == 100
    assert a["gen_ai.usage.cache_creation.input_tokens"] == 20
    # OpenTelemetry's input_tokens includes the cached parts.
    assert a["gen_ai.usage.input_tokens"] >= 120


@pytest.mark.parametrize("model,exc", [("error-400", anthropic.BadRequestError), ("error-529", anthropic.APIStatusError)])
def test_errors(tt, client, model, exc):
    with pytest.raises(exc):
        client.messages.create(model=model, max_tokens=10, messages=MSGS)
    s = one_llm_span()
    assert s["status_code"] == "error"
    assert s["attributes"]["error.type"]


async def test_async_create_and_stream(tt, aclient):
    m = await aclient.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS)
    assert m.content[0].text.startswith("This is a fake reply")
    stream = await aclient.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS, stream=True)
    async for _ in stream:
        pass
    async with aclient.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=MSGS) as s:
        await s.until_done()
    assert len(llm_spans()) == 3


# -- `client.beta.messages` and `parse`: separate methods, not `create`


class Forecast(pydantic.BaseModel):
    city: str
    days: int


ROME = [{"role": "user", "content": "Forecast for Rome"}]


# anthropic 0.x deprecates the beta `parse`'s `output_format` (its own warning).
@pytest.mark.filterwarnings("ignore:The 'output_format' parameter is deprecated:DeprecationWarning")
@pytest.mark.parametrize("beta", [False, True], ids=["messages", "beta.messages"])
def test_parse_is_traced_with_its_structured_answer(tt, client, beta):
    resource = client.beta.messages if beta else client.messages
    m = resource.parse(model="claude-haiku-4-5", max_tokens=100, messages=ROME, output_format=Forecast)
    assert m.parsed_output == Forecast(city="Rome", days=1)
    s = one_llm_span()
    assert s["status_code"] != "error"
    out = json.dumps(parsed(s, "gen_ai.output.messages"))
    assert "Rome" in out and "days" in out
    assert "Forecast for Rome" in json.dumps(parsed(s, "gen_ai.input.messages"))


def test_beta_create_stream_and_stream_helper(tt, client):
    m = client.beta.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS)
    assert type(m).__name__ == "BetaMessage"
    events = [e.type for e in client.beta.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS, stream=True)]
    assert events[-1] == "message_stop"
    with client.beta.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=MSGS) as stream:
        text = "".join(stream.text_stream)
    assert text == "This is a fake reply. You said: Hello there"
    calls = llm_spans()
    assert len(calls) == 3
    for s in calls:
        a = s["attributes"]
        assert a["gen_ai.provider.name"] == "anthropic"
        assert a["gen_ai.usage.output_tokens"] == 11
        assert text in json.dumps(parsed(s, "gen_ai.output.messages"))
    assert sum(1 for s in calls if s["attributes"].get("gen_ai.response.time_to_first_chunk")) == 2


def test_beta_tool_runner_records_each_model_call(tt, client):
    @anthropic.beta_tool
    def get_weather(city: str) -> str:
        """Current weather for a city."""
        return json.dumps({"city": city, "sky": "sunny", "temp_c": 24})

    with tokentrace.trace("agent") as root:
        turns = [
            m.stop_reason
            for m in client.beta.messages.tool_runner(
                model="claude-haiku-4-5",
                max_tokens=200,
                tools=[get_weather],
                messages=[{"role": "user", "content": "What's the weather in Paris?"}],
            )
        ]
    assert turns == ["tool_use", "end_turn"]
    first, second = sorted(llm_spans(), key=lambda s: s["start_unix_nanos"])
    assert first["parent_span_id"] == second["parent_span_id"] == root.span_id
    assert first["attributes"]["gen_ai.response.finish_reasons"] == ["tool_use"]
    assert "get_weather" in json.dumps(parsed(first, "gen_ai.output.messages"))
    assert "sunny" in json.dumps(parsed(second, "gen_ai.input.messages"))


async def test_async_beta_create_stream_helper_and_parse(tt, aclient):
    await aclient.beta.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS)
    async with aclient.beta.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=MSGS) as s:
        await s.until_done()
    m = await aclient.messages.parse(model="claude-haiku-4-5", max_tokens=100, messages=ROME, output_format=Forecast)
    assert m.parsed_output == Forecast(city="Rome", days=1)
    calls = llm_spans()
    assert len(calls) == 3
    assert all(c["attributes"]["gen_ai.usage.output_tokens"] > 0 for c in calls)


# -- Claude on Vertex AI and Bedrock: the model travels in the URL, and
# Bedrock streams AWS event-stream frames instead of SSE. The fake server is
# the HTTP proxy, so each request keeps the platform's host name.

VERTEX_MODEL = "claude-sonnet-4-5@20250929"
BEDROCK_MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
REPLY = "This is a fake reply. You said: Hello there"


def _vertex(fake_url: str) -> anthropic.AnthropicVertex:
    return anthropic.AnthropicVertex(
        region="us-east5",
        project_id="proj",
        access_token="ya29.secret-token",
        max_retries=0,
        base_url="http://us-east5-aiplatform.googleapis.com/v1",
        http_client=anthropic.DefaultHttpxClient(proxy=fake_url),
    )


def _bedrock(fake_url: str, cls: type = anthropic.AnthropicBedrock) -> Any:
    http = anthropic.DefaultAsyncHttpxClient if cls is anthropic.AsyncAnthropicBedrock else anthropic.DefaultHttpxClient
    return cls(
        aws_region="us-east-1",
        aws_access_key="AKIDEXAMPLE",
        aws_secret_key="aws-secret-key",
        max_retries=0,
        base_url="http://bedrock-runtime.us-east-1.amazonaws.com",
        http_client=http(proxy=fake_url),
    )


def _create_and_stream(client: Any, model: str) -> None:
    m = client.messages.create(model=model, max_tokens=100, messages=MSGS)
    assert m.content[0].text == REPLY
    with client.messages.stream(model=model, max_tokens=100, messages=MSGS) as stream:
        assert "".join(stream.text_stream) == REPLY


def _check_platform_calls(provider: str, model: str, n: int) -> None:
    calls = llm_spans()
    assert len(calls) == n
    for s in calls:
        a = s["attributes"]
        assert a["gen_ai.provider.name"] == provider
        assert a["gen_ai.request.model"] == model
        assert s["name"] == f"chat {model}"
        assert a["gen_ai.usage.input_tokens"] == 3 and a["gen_ai.usage.output_tokens"] == 11
        assert REPLY in json.dumps(parsed(s, "gen_ai.output.messages"))
        assert a["tokentrace.cost.total_usd"] > 0
        text = json.dumps(s)
        assert "secret" not in text and "AKIDEXAMPLE" not in text


@needs_parsers
def test_claude_on_vertex_ai(tt, fake_url):
    client = _vertex(fake_url)
    _create_and_stream(client, VERTEX_MODEL)
    client.close()
    _check_platform_calls("gcp.vertex_ai", VERTEX_MODEL, 2)


@needs_parsers
def test_claude_on_bedrock_json_and_event_streams(tt, fake_url):
    client = _bedrock(fake_url)
    _create_and_stream(client, BEDROCK_MODEL)
    events = [e.type for e in client.messages.create(model=BEDROCK_MODEL, max_tokens=100, messages=MSGS, stream=True)]
    assert events[0] == "message_start" and events[-1] == "message_stop"
    client.close()
    _check_platform_calls("aws.bedrock", BEDROCK_MODEL, 3)
    assert sum(1 for s in llm_spans() if s["attributes"].get("gen_ai.response.time_to_first_chunk")) == 2


@needs_parsers
async def test_claude_on_bedrock_async_stream(tt, fake_url):
    client = _bedrock(fake_url, anthropic.AsyncAnthropicBedrock)
    async with client.messages.stream(model=BEDROCK_MODEL, max_tokens=100, messages=MSGS) as stream:
        assert "".join([t async for t in stream.text_stream]) == REPLY
    await client.close()
    _check_platform_calls("aws.bedrock", BEDROCK_MODEL, 1)
