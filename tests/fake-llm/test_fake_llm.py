"""Drive the real `openai` and `anthropic` Python clients against the fake server.

Expected numbers follow the rules in README.md: tokens = ceil(chars / 4); the reply is
"This is a fake reply. You said: <first 6 words of the last message>".
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

import anthropic
import openai
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_llm  # noqa: E402

CLAUDE = "claude-haiku-4-5"
CLAUDE_DATED = "claude-haiku-4-5-20251001"
HELLO = "Hello there"  # 11 chars -> 3 prompt tokens
HELLO_REPLY = "This is a fake reply. You said: Hello there"  # 43 chars -> 11 tokens
WEATHER = "What's the weather in Paris?"
WEATHER_TOOL_OPENAI = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
WEATHER_TOOL_RESPONSES = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": WEATHER_TOOL_OPENAI["function"]["parameters"],
}
WEATHER_TOOL_ANTHROPIC = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": WEATHER_TOOL_OPENAI["function"]["parameters"],
}


@pytest.fixture(scope="session")
def fake():
    server, url = fake_llm.start_server(0)
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _reset(fake):
    fake.reset()


@pytest.fixture
def oa(fake):
    return openai.OpenAI(base_url=fake.base_url + "/v1", api_key="sk-fake", max_retries=0)


@pytest.fixture
def aoa(fake):
    return openai.AsyncOpenAI(base_url=fake.base_url + "/v1", api_key="sk-fake", max_retries=0)


@pytest.fixture
def an(fake):
    return anthropic.Anthropic(base_url=fake.base_url, api_key="sk-ant-fake", max_retries=0)


@pytest.fixture
def aan(fake):
    return anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="sk-ant-fake", max_retries=0)


@pytest.fixture
def anyio_backend():
    return "asyncio"


def _user(text):
    return [{"role": "user", "content": text}]


def _chat_stream_helper(client):
    """`chat.completions.stream` moved out of `beta` in openai 1.x's later releases."""
    chat = client.chat.completions
    return chat.stream if hasattr(chat, "stream") else client.beta.chat.completions.stream


needs_responses = pytest.mark.skipif(
    not hasattr(openai.OpenAI(api_key="x"), "responses"),
    reason="this openai version has no Responses API",
)


# ------------------------------------------------------------------ token rules


def test_token_formula_examples():
    assert fake_llm.count_tokens("") == 0
    assert fake_llm.count_tokens("abcd") == 1
    assert fake_llm.count_tokens("abcde") == 2
    assert fake_llm.prompt_tokens([]) == 1
    assert fake_llm.reply_for("one two three four five six seven") == (
        "This is a fake reply. You said: one two three four five six"
    )
    assert fake_llm.reply_for("") == "This is a fake reply. You said: (nothing)"


@pytest.mark.parametrize(
    "model,provider,expected",
    [
        ("gpt-4o-mini", "openai", "gpt-4o-mini-2024-07-18"),
        ("gpt-4o-2024-05-13", "openai", "gpt-4o-2024-05-13"),
        ("my-model", "openai", "my-model-2025-01-01"),
        ("claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5-20250929"),
        ("claude-3-5-haiku-latest", "anthropic", "claude-3-5-haiku-20241022"),
        ("claude-sonnet-4-20250514", "anthropic", "claude-sonnet-4-20250514"),
    ],
)
def test_dated_model(model, provider, expected):
    assert fake_llm.dated_model(model, provider) == expected


# ------------------------------------------------------------------ OpenAI chat


def test_chat_json(oa):
    r = oa.chat.completions.create(model="gpt-4o-mini", messages=_user(HELLO))
    assert r.id.startswith("chatcmpl-")
    assert r.model == "gpt-4o-mini-2024-07-18"
    assert r.choices[0].message.content == HELLO_REPLY
    assert r.choices[0].finish_reason == "stop"
    assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == (3, 11, 14)
    assert r.usage.prompt_tokens_details.cached_tokens == 0
    assert r.usage.completion_tokens_details.reasoning_tokens == 0


def test_chat_counts_system_and_all_messages(oa):
    msgs = [
        {"role": "system", "content": "Be brief."},  # 9 chars
        {"role": "user", "content": [{"type": "text", "text": "abc"}]},  # 3
        {"role": "assistant", "content": "defg"},  # 4
        {"role": "user", "content": "one two three four five six seven"},  # 33
    ]
    r = oa.chat.completions.create(model="gpt-4o-mini", messages=msgs)
    assert r.usage.prompt_tokens == math.ceil(49 / 4)
    assert r.choices[0].message.content.endswith("You said: one two three four five six")


def test_chat_n_choices(oa):
    r = oa.chat.completions.create(model="gpt-4o-mini", messages=_user(HELLO), n=3)
    assert [c.index for c in r.choices] == [0, 1, 2]
    assert all(c.message.content == HELLO_REPLY for c in r.choices)
    assert r.usage.completion_tokens == 33


def test_chat_max_tokens_gives_length(oa):
    r = oa.chat.completions.create(model="gpt-4o-mini", messages=_user(HELLO), max_tokens=2)
    assert r.choices[0].finish_reason == "length"
    assert r.choices[0].message.content == "This is "
    assert r.usage.completion_tokens == 2


def test_chat_stop_sequence(oa):
    r = oa.chat.completions.create(model="gpt-4o-mini", messages=_user(HELLO), stop=[" fake"])
    assert r.choices[0].message.content == "This is a"
    assert r.choices[0].finish_reason == "stop"


def test_chat_reasoning_and_cached_tokens(oa):
    r = oa.chat.completions.create(
        model="o3-mini",
        messages=_user(HELLO),
        extra_headers={"x-fake-cached-tokens": "2"},
    )
    assert r.model == "o3-mini-2025-01-31"
    assert r.usage.completion_tokens_details.reasoning_tokens == 64
    assert r.usage.completion_tokens == 11 + 64
    assert r.usage.prompt_tokens_details.cached_tokens == 2
    r = oa.chat.completions.create(
        model="gpt-4o", messages=_user(HELLO), extra_headers={"x-fake-reasoning-tokens": "5"}
    )
    assert r.usage.completion_tokens_details.reasoning_tokens == 5
    assert r.usage.completion_tokens == 16


def test_chat_stream_without_usage(oa, fake):
    chunks = list(
        oa.chat.completions.create(model="gpt-4o-mini", messages=_user(HELLO), stream=True)
    )
    assert all(c.usage is None for c in chunks)
    assert all(len(c.choices) == 1 for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == HELLO_REPLY
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert len({c.id for c in chunks}) == 1
    assert "stream_options" not in fake.records()[-1]["body"]


def test_chat_stream_with_usage(oa, fake):
    chunks = list(
        oa.chat.completions.create(
            model="gpt-4o-mini",
            messages=_user(HELLO),
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    last = chunks[-1]
    assert last.choices == []
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (3, 11)
    assert last.usage.prompt_tokens_details.cached_tokens == 0
    assert all(c.usage is None for c in chunks[:-1])
    assert fake.records()[-1]["body"]["stream_options"] == {"include_usage": True}


def test_chat_stream_n_choices_interleaved(oa):
    chunks = list(
        oa.chat.completions.create(model="gpt-4o-mini", messages=_user(HELLO), n=2, stream=True)
    )
    texts = {0: "", 1: ""}
    for c in chunks:
        for choice in c.choices:
            texts[choice.index] += choice.delta.content or ""
    assert texts == {0: HELLO_REPLY, 1: HELLO_REPLY}
    assert [c.choices[0].index for c in chunks[:4]] == [0, 1, 0, 1]


def test_chat_stream_tool_call_deltas(oa):
    chunks = list(
        oa.chat.completions.create(
            model="gpt-4o-mini", messages=_user(WEATHER), tools=[WEATHER_TOOL_OPENAI], stream=True
        )
    )
    arg_deltas = [
        c.choices[0].delta.tool_calls[0].function.arguments
        for c in chunks
        if c.choices and c.choices[0].delta.tool_calls
    ]
    assert len(arg_deltas) > 2  # header delta with "" + several argument pieces
    assert json.loads("".join(arg_deltas)) == {"city": "Paris"}
    first = chunks[0].choices[0].delta.tool_calls[0]
    assert first.id.startswith("call_") and first.function.name == "get_weather"
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_chat_stream_helper_reassembles_tool_call(oa):
    with _chat_stream_helper(oa)(
        model="gpt-4o-mini", messages=_user(WEATHER), tools=[WEATHER_TOOL_OPENAI]
    ) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert final.choices[0].finish_reason == "tool_calls"


def test_chat_tool_round_trip(oa):
    first = oa.chat.completions.create(
        model="gpt-4o-mini", messages=_user(WEATHER), tools=[WEATHER_TOOL_OPENAI]
    )
    msg = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls"
    assert msg.content is None
    call = msg.tool_calls[0]
    assert first.usage.completion_tokens == math.ceil(
        len("get_weather" + call.function.arguments) / 4
    )
    second = oa.chat.completions.create(
        model="gpt-4o-mini",
        tools=[WEATHER_TOOL_OPENAI],
        messages=[
            *_user(WEATHER),
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": call.function.arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call.id, "content": "22C and sunny"},
        ],
    )
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "This is a fake reply. Tool said: 22C and sunny"
    # 28 (user) + 11 (tool name) + 16 (arguments) + 13 (tool output) = 68 chars
    assert second.usage.prompt_tokens == 17


def test_chat_tool_call_triggers(oa):
    plain = oa.chat.completions.create(
        model="gpt-4o-mini", messages=_user(HELLO), tools=[WEATHER_TOOL_OPENAI]
    )
    assert plain.choices[0].message.tool_calls is None
    forced = oa.chat.completions.create(
        model="gpt-4o-mini",
        messages=_user(HELLO),
        tools=[WEATHER_TOOL_OPENAI],
        extra_headers={"x-fake-tool-call": "1"},
    )
    assert forced.choices[0].message.tool_calls[0].function.name == "get_weather"
    required = oa.chat.completions.create(
        model="gpt-4o-mini",
        messages=_user(HELLO),
        tools=[WEATHER_TOOL_OPENAI],
        tool_choice="required",
    )
    assert required.choices[0].finish_reason == "tool_calls"


def test_chat_json_schema_response_format(oa):
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city", "days"],
        "additionalProperties": False,
    }
    r = oa.chat.completions.create(
        model="gpt-4o-mini",
        messages=_user("Forecast for Rome"),
        response_format={"type": "json_schema", "json_schema": {"name": "f", "schema": schema}},
    )
    assert json.loads(r.choices[0].message.content) == {"city": "Rome", "days": 1}


def test_azure_openai_paths_through_a_proxy(fake):
    """The real AzureOpenAI client (deployment in the path), with the fake as
    its HTTP proxy, so the request keeps an Azure host name."""
    az = openai.AzureOpenAI(
        azure_endpoint="http://myres.openai.azure.com",
        api_version="2024-10-21",
        api_key="sk-fake",
        max_retries=0,
        http_client=openai.DefaultHttpxClient(proxy=fake.base_url),
    )
    r = az.chat.completions.create(model="prod-gpt4o", messages=_user(HELLO))
    assert r.choices[0].message.content == HELLO_REPLY
    e = az.embeddings.create(model="prod-embed", input="hi")
    assert e.data[0].embedding
    paths = [rec["path"] for rec in fake.records()]
    assert paths == [
        "/openai/deployments/prod-gpt4o/chat/completions",
        "/openai/deployments/prod-embed/embeddings",
    ]


def _create_and_stream(client: Any, model: str) -> None:
    m = client.messages.create(model=model, max_tokens=50, messages=_user(HELLO))
    assert m.content[0].text == HELLO_REPLY
    with client.messages.stream(model=model, max_tokens=50, messages=_user(HELLO)) as s:
        assert "".join(s.text_stream) == HELLO_REPLY
        assert s.get_final_message().usage.output_tokens > 0


def test_claude_platform_paths_vertex_and_bedrock(fake):
    """AnthropicVertex (model in the path, SSE) and AnthropicBedrock (model in
    the path, AWS event-stream frames that botocore decodes and checks)."""
    proxy = anthropic.DefaultHttpxClient(proxy=fake.base_url)
    vertex = anthropic.AnthropicVertex(
        region="us-east5",
        project_id="p",
        access_token="tok",
        max_retries=0,
        base_url="http://us-east5-aiplatform.googleapis.com/v1",
        http_client=proxy,
    )
    _create_and_stream(vertex, "claude-haiku-4-5")
    bedrock = anthropic.AnthropicBedrock(
        aws_region="us-east-1",
        aws_access_key="AKIDEXAMPLE",
        aws_secret_key="secret",
        max_retries=0,
        base_url="http://bedrock-runtime.us-east-1.amazonaws.com",
        http_client=proxy,
    )
    _create_and_stream(bedrock, "us.anthropic.claude-haiku-4-5-20251001-v1:0")
    records = fake.records()
    assert [r["path"].rsplit(":", 1)[-1] for r in records[:2]] == ["rawPredict", "streamRawPredict"]
    assert [r["path"].rsplit("/", 1)[-1] for r in records[2:]] == ["invoke", "invoke-with-response-stream"]
    assert all(r["body"]["model"] for r in records)


def test_messages_structured_output(an):
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city", "days"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "schema": schema}
    for extra in ({"output_config": {"format": fmt}}, {"output_format": fmt}):
        m = an.messages.create(
            model="claude-haiku-4-5",
            max_tokens=100,
            messages=[{"role": "user", "content": "Forecast for Rome"}],
            extra_body=extra,
        )
        assert json.loads(m.content[0].text) == {"city": "Rome", "days": 1}, extra


@pytest.mark.anyio
async def test_chat_async(aoa):
    r = await aoa.chat.completions.create(model="gpt-4o-mini", messages=_user(HELLO))
    assert r.choices[0].message.content == HELLO_REPLY
    stream = await aoa.chat.completions.create(
        model="gpt-4o-mini",
        messages=_user(HELLO),
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage = "", None
    async for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        usage = chunk.usage or usage
    assert text == HELLO_REPLY
    assert usage.total_tokens == 14


def test_chat_audio_output_is_the_transcript_and_a_wav(oa):
    kw = dict(model="gpt-4o-audio-preview", modalities=["text", "audio"], audio={"voice": "alloy", "format": "wav"})
    r = oa.chat.completions.create(messages=_user(HELLO), **kw)
    m = r.choices[0].message
    assert m.content is None and m.audio.transcript == HELLO_REPLY
    wav = base64.b64decode(m.audio.data)
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"
    assert r.usage.completion_tokens_details.audio_tokens == len(wav) // 100
    assert r.usage.completion_tokens == 11 + len(wav) // 100
    transcript, data = "", ""
    for chunk in oa.chat.completions.create(messages=_user(HELLO), stream=True, **kw):
        for c in chunk.choices:
            # A typed object in newer clients, an extra dict in older ones.
            a = getattr(c.delta, "audio", None) or (c.delta.model_extra or {}).get("audio") or {}
            piece = a if isinstance(a, dict) else a.model_dump()
            transcript += piece.get("transcript") or ""
            data += piece.get("data") or ""
    assert transcript == HELLO_REPLY
    assert base64.b64decode(data)[:4] == b"RIFF"


# ------------------------------------------------------------------ OpenAI responses / embeddings


@needs_responses
def test_responses_json(oa):
    r = oa.responses.create(model="gpt-4.1", input=HELLO, instructions="Be kind.")
    assert r.id.startswith("resp_")
    assert r.model == "gpt-4.1-2025-04-14"
    assert r.status == "completed"
    assert r.output_text == HELLO_REPLY
    # "Be kind." (8) + "Hello there" (11) = 19 chars -> 5 tokens
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.total_tokens) == (5, 11, 16)
    assert r.usage.input_tokens_details.cached_tokens == 0
    assert r.usage.output_tokens_details.reasoning_tokens == 0


@pytest.mark.skipif(not hasattr(openai.OpenAI(api_key="x").responses, "compact"), reason="openai 3.x")
def test_responses_compact_keeps_user_messages_and_adds_one_compaction_item(oa):
    history = [
        {"role": "user", "content": "Refactor the parser."},
        {"role": "assistant", "content": "Done."},
        {"role": "user", "content": "Now add tests."},
    ]
    r = oa.responses.compact(model="gpt-4.1", input=history)
    assert r.object == "response.compaction"
    assert [(o.type, getattr(o, "role", None)) for o in r.output] == [
        ("message", "user"),
        ("message", "user"),
        ("compaction", None),
    ]
    assert r.output[1].content[0].text == "Now add tests."
    assert r.output[2].encrypted_content.startswith("gAAAAB")
    # 20 + 5 + 14 = 39 chars -> 10 tokens; the compaction is a tenth: 1
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.total_tokens) == (10, 1, 11)


@needs_responses
def test_responses_web_search_is_an_item_the_server_ran(oa):
    r = oa.responses.create(model="gpt-4.1", input="weather in Oslo", tools=[{"type": "web_search"}])
    assert [o.type for o in r.output] == ["web_search_call", "message"]
    assert r.output[0].status == "completed" and r.output[0].action.query == "weather in Oslo"
    events = list(oa.responses.create(model="gpt-4.1", input="weather in Oslo", tools=[{"type": "web_search"}], stream=True))
    done = [e.item.type for e in events if e.type == "response.output_item.done"]
    assert done == ["web_search_call", "message"]


def test_anthropic_web_search_blocks_come_before_the_answer(an):
    tools = [{"type": "web_search_20250305", "name": "web_search", "max_uses": 1}]
    m = an.messages.create(model="claude-haiku-4-5", max_tokens=200, messages=_user(HELLO), tools=tools)
    assert [b.type for b in m.content] == ["server_tool_use", "web_search_tool_result", "text"]
    assert m.content[0].input == {"query": HELLO} and m.content[1].tool_use_id == m.content[0].id
    assert m.usage.server_tool_use.web_search_requests == 1
    with an.messages.stream(model="claude-haiku-4-5", max_tokens=200, messages=_user(HELLO), tools=tools) as s:
        final = s.get_final_message()
    assert [b.type for b in final.content] == ["server_tool_use", "web_search_tool_result", "text"]
    assert final.content[0].input == {"query": HELLO}


@needs_responses
def test_responses_incomplete_on_max_output_tokens(oa):
    r = oa.responses.create(model="gpt-4.1", input=HELLO, max_output_tokens=3)
    assert r.status == "incomplete"
    assert r.incomplete_details.reason == "max_output_tokens"
    assert r.output_text == "This is a fa"


@needs_responses
def test_responses_stream_events(oa):
    events = list(oa.responses.create(model="gpt-4.1", input=HELLO, stream=True))
    types = [e.type for e in events]
    assert types[0] == "response.created"
    assert types[-1] == "response.completed"
    for needed in (
        "response.output_item.added",
        "response.output_text.delta",
        "response.output_item.done",
        "response.output_text.done",
    ):
        assert needed in types
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == HELLO_REPLY
    usage = events[-1].response.usage
    assert (usage.input_tokens, usage.output_tokens) == (3, 11)
    assert usage.input_tokens_details.cached_tokens == 0
    assert usage.output_tokens_details.reasoning_tokens == 0


@needs_responses
def test_responses_stream_function_call_and_round_trip(oa):
    with oa.responses.stream(model="gpt-4.1", input=WEATHER, tools=[WEATHER_TOOL_RESPONSES]) as s:
        events = list(s)
        final = s.get_final_response()
    deltas = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert len(deltas) > 1
    assert json.loads("".join(deltas)) == {"city": "Paris"}
    call = final.output[0]
    assert call.type == "function_call" and call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"}
    second = oa.responses.create(
        model="gpt-4.1",
        tools=[WEATHER_TOOL_RESPONSES],
        input=[
            {"role": "user", "content": WEATHER},
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            },
            {"type": "function_call_output", "call_id": call.call_id, "output": "22C and sunny"},
        ],
    )
    assert second.output_text == "This is a fake reply. Tool said: 22C and sunny"


@needs_responses
def test_responses_reasoning_model(oa):
    r = oa.responses.create(model="o4-mini", input=HELLO)
    assert [item.type for item in r.output] == ["reasoning", "message"]
    assert r.usage.output_tokens_details.reasoning_tokens == 64
    assert r.usage.output_tokens == 75


def test_embeddings(oa):
    r = oa.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta beta"])
    assert r.model == "text-embedding-3-small"
    assert [d.index for d in r.data] == [0, 1]
    assert all(len(d.embedding) == 1536 for d in r.data)
    assert abs(sum(v * v for v in r.data[0].embedding) - 1.0) < 1e-4
    assert r.usage.prompt_tokens == 2 + 3
    again = oa.embeddings.create(
        model="text-embedding-3-small", input="alpha", encoding_format="float", dimensions=1536
    )
    assert again.data[0].embedding == pytest.approx(r.data[0].embedding, abs=1e-6)
    assert again.data[0].embedding != pytest.approx(r.data[1].embedding, abs=1e-3)
    small = oa.embeddings.create(model="text-embedding-3-large", input="x", dimensions=8)
    assert len(small.data[0].embedding) == 8


# ------------------------------------------------------------------ Anthropic


def test_messages_json(an):
    m = an.messages.create(model=CLAUDE, max_tokens=100, messages=_user(HELLO))
    assert m.id.startswith("msg_")
    assert m.model == CLAUDE_DATED
    assert m.content[0].type == "text" and m.content[0].text == HELLO_REPLY
    assert m.stop_reason == "end_turn"
    assert (m.usage.input_tokens, m.usage.output_tokens) == (3, 11)
    assert m.usage.cache_read_input_tokens == 0
    assert m.usage.cache_creation_input_tokens == 0


def test_messages_max_tokens_and_system(an):
    m = an.messages.create(
        model="claude-haiku-4-5", max_tokens=3, system="Be brief.", messages=_user(HELLO)
    )
    assert m.stop_reason == "max_tokens"
    assert m.content[0].text == "This is a fa"
    assert (m.usage.input_tokens, m.usage.output_tokens) == (5, 3)


def test_messages_stream_raw_events(an):
    events = list(
        an.messages.create(model=CLAUDE, max_tokens=100, messages=_user(HELLO), stream=True)
    )
    types = [e.type for e in events]
    assert types[0] == "message_start"
    assert types[-2:] == ["message_delta", "message_stop"]
    assert "content_block_start" in types and "content_block_stop" in types
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == HELLO_REPLY
    delta = events[-2]
    assert delta.delta.stop_reason == "end_turn"
    assert delta.usage.output_tokens == 11
    assert events[0].message.usage.input_tokens == 3


def test_messages_stream_helper(an):
    with an.messages.stream(model=CLAUDE, max_tokens=100, messages=_user(HELLO)) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == HELLO_REPLY
    assert final.content[0].text == HELLO_REPLY
    assert (final.usage.input_tokens, final.usage.output_tokens) == (3, 11)
    assert final.stop_reason == "end_turn"


def test_messages_tool_use_stream_and_tool_result_round_trip(an):
    with an.messages.stream(
        model=CLAUDE, max_tokens=200, messages=_user(WEATHER), tools=[WEATHER_TOOL_ANTHROPIC]
    ) as s:
        events = list(s)
        final = s.get_final_message()
    partials = [
        e.delta.partial_json
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    ]
    assert len(partials) > 2
    assert final.stop_reason == "tool_use"
    assert [b.type for b in final.content] == ["text", "tool_use"]
    use = final.content[1]
    assert use.id.startswith("toolu_") and use.name == "get_weather"
    assert use.input == {"city": "Paris"}

    second = an.messages.create(
        model=CLAUDE,
        max_tokens=200,
        tools=[WEATHER_TOOL_ANTHROPIC],
        messages=[
            *_user(WEATHER),
            {
                "role": "assistant",
                "content": [b.model_dump(exclude_none=True) for b in final.content],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": use.id,
                        "content": [{"type": "text", "text": "22C and sunny"}],
                    }
                ],
            },
        ],
    )
    assert second.stop_reason == "end_turn"
    assert second.content[0].text == "This is a fake reply. Tool said: 22C and sunny"


def test_messages_prompt_cache(an):
    system = [{"type": "text", "text": "S" * 400, "cache_control": {"type": "ephemeral"}}]
    kwargs = dict(model=CLAUDE, max_tokens=50, system=system, messages=_user(HELLO))
    first = an.messages.create(**kwargs)
    second = an.messages.create(**kwargs)
    # 411 chars -> 103 tokens in all; the cached prefix is the 400-char system block (100 tokens)
    assert (first.usage.cache_creation_input_tokens, first.usage.cache_read_input_tokens) == (
        100,
        0,
    )
    assert (second.usage.cache_creation_input_tokens, second.usage.cache_read_input_tokens) == (
        0,
        100,
    )
    assert first.usage.input_tokens == second.usage.input_tokens == 3
    forced = an.messages.create(
        **kwargs, extra_headers={"x-fake-cache-read-tokens": "7", "x-fake-cache-write-tokens": "0"}
    )
    assert (forced.usage.cache_read_input_tokens, forced.usage.input_tokens) == (7, 96)


@pytest.mark.skipif(
    not hasattr(anthropic.types, "ThinkingBlock"), reason="this anthropic version has no thinking"
)
def test_messages_thinking_stream(an):
    with an.messages.stream(
        model=CLAUDE,
        max_tokens=2000,
        messages=_user(HELLO),
        thinking={"type": "enabled", "budget_tokens": 1024},
    ) as s:
        final = s.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    thought = "The user wrote 11 characters. A short answer will do."
    assert final.content[0].thinking == thought
    assert final.content[0].signature
    assert final.usage.output_tokens == math.ceil(len(thought) / 4) + 11


def test_messages_stop_sequence(an):
    m = an.messages.create(
        model=CLAUDE, max_tokens=100, messages=_user(HELLO), stop_sequences=["You said"]
    )
    assert m.stop_reason == "stop_sequence"
    assert m.stop_sequence == "You said"
    assert m.content[0].text == "This is a fake reply. "


def test_messages_count_tokens(an):
    if not hasattr(an.messages, "count_tokens"):
        pytest.skip("this anthropic version has no count_tokens")
    r = an.messages.count_tokens(model=CLAUDE, messages=_user(HELLO))
    assert r.input_tokens == 3


@pytest.mark.anyio
async def test_messages_async(aan):
    m = await aan.messages.create(model=CLAUDE, max_tokens=100, messages=_user(HELLO))
    assert m.content[0].text == HELLO_REPLY
    async with aan.messages.stream(model=CLAUDE, max_tokens=100, messages=_user(HELLO)) as s:
        text = "".join([t async for t in s.text_stream])
        final = await s.get_final_message()
    assert text == HELLO_REPLY
    assert final.usage.output_tokens == 11


# ------------------------------------------------------------------ errors and failures

OPENAI_ERRORS = [
    (400, openai.BadRequestError),
    (401, openai.AuthenticationError),
    (403, openai.PermissionDeniedError),
    (404, openai.NotFoundError),
    (429, openai.RateLimitError),
    (500, openai.InternalServerError),
    (503, openai.InternalServerError),
]
ANTHROPIC_ERRORS = [
    (400, anthropic.BadRequestError),
    (401, anthropic.AuthenticationError),
    (403, anthropic.PermissionDeniedError),
    (404, anthropic.NotFoundError),
    (429, anthropic.RateLimitError),
    (500, anthropic.InternalServerError),
    (503, anthropic.InternalServerError),
    # Newer clients have OverloadedError (not always an InternalServerError subclass).
    (529, getattr(anthropic, "OverloadedError", anthropic.InternalServerError)),
]


@pytest.mark.parametrize("status,exc_type", OPENAI_ERRORS)
def test_openai_error_models(oa, status, exc_type):
    with pytest.raises(exc_type) as info:
        oa.chat.completions.create(model=f"error-{status}", messages=_user(HELLO))
    err = info.value
    assert err.status_code == status
    assert isinstance(err, openai.APIStatusError)
    assert err.body["type"] in ("invalid_request_error", "requests", "server_error")
    assert err.response.headers["x-request-id"].startswith("req_")
    if status == 429:
        assert err.code == "rate_limit_exceeded"
        assert err.response.headers["retry-after"] == "1"


@pytest.mark.parametrize("status,exc_type", ANTHROPIC_ERRORS)
def test_anthropic_error_models(an, status, exc_type):
    with pytest.raises(exc_type) as info:
        an.messages.create(model=f"error-{status}", max_tokens=10, messages=_user(HELLO))
    err = info.value
    assert err.status_code == status
    assert isinstance(err, anthropic.APIStatusError)
    assert err.body["type"] == "error"
    expected = {
        400: "invalid_request_error",
        401: "authentication_error",
        429: "rate_limit_error",
        529: "overloaded_error",
    }
    if status in expected:
        assert err.body["error"]["type"] == expected[status]
    if status == 429:
        assert err.response.headers["retry-after"] == "1"


def test_status_header_on_streaming_request(oa, an):
    with pytest.raises(openai.RateLimitError):
        oa.chat.completions.create(
            model="gpt-4o-mini",
            messages=_user(HELLO),
            stream=True,
            extra_headers={"x-fake-status": "429"},
        )
    with pytest.raises(anthropic.InternalServerError):
        an.messages.create(
            model=CLAUDE,
            max_tokens=10,
            messages=_user(HELLO),
            stream=True,
            extra_headers={"x-fake-status": "500"},
        )


def test_fail_attempts_then_succeed_with_retries(fake):
    client = openai.OpenAI(base_url=fake.base_url + "/v1", api_key="sk-fake", max_retries=2)
    r = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=_user(HELLO),
        extra_headers={
            "x-fake-status": "429",
            "x-fake-fail-attempts": "1",
            "x-fake-retry-after": "0",
        },
    )
    assert r.choices[0].message.content == HELLO_REPLY
    attempts = [rec["headers"].get("x-stainless-retry-count") for rec in fake.records()]
    assert attempts == ["0", "1"]


def test_stream_cut_breaks_both_clients(oa, an):
    got = []
    with pytest.raises(Exception) as info:
        for chunk in oa.chat.completions.create(
            model="stream-cut", messages=_user(HELLO), stream=True
        ):
            got.append(chunk.choices[0].delta.content or "")
    assert "".join(got) == "This is"
    assert not isinstance(info.value, AssertionError)

    got = []
    with pytest.raises(Exception) as info:
        with an.messages.stream(model="stream-cut", max_tokens=100, messages=_user(HELLO)) as s:
            for text in s.text_stream:
                got.append(text)
    assert "".join(got) == "This is"
    assert not isinstance(info.value, AssertionError)


def test_stream_cut_on_json_request(oa):
    with pytest.raises(openai.APIConnectionError):
        oa.chat.completions.create(model="gpt-4o-mini+cut", messages=_user(HELLO))


def test_in_band_stream_errors(oa, an):
    with pytest.raises(openai.APIError):
        list(oa.chat.completions.create(model="stream-error", messages=_user(HELLO), stream=True))
    with pytest.raises(anthropic.APIStatusError) as info:
        with an.messages.stream(model="stream-error", max_tokens=100, messages=_user(HELLO)) as s:
            s.get_final_message()
    assert "overloaded_error" in str(info.value.body)


def test_timeouts(fake):
    slow = {"x-fake-delay-ms": "30000"}
    oa = openai.OpenAI(base_url=fake.base_url + "/v1", api_key="k", max_retries=0, timeout=0.3)
    with pytest.raises(openai.APITimeoutError):
        oa.chat.completions.create(model="gpt-4o-mini", messages=_user(HELLO), extra_headers=slow)
    an = anthropic.Anthropic(base_url=fake.base_url, api_key="k", max_retries=0, timeout=0.3)
    with pytest.raises(anthropic.APITimeoutError):
        an.messages.create(model=CLAUDE + "+delay=30000", max_tokens=10, messages=_user(HELLO))


def test_model_suffix_delay_is_stripped(oa):
    r = oa.chat.completions.create(model="gpt-4o-mini+delay=10", messages=_user(HELLO))
    assert r.model == "gpt-4o-mini-2024-07-18"


# ------------------------------------------------------------------ introspection and CLI


def _get_json(url):
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def test_introspection_records_headers_and_body(oa, fake):
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    oa.chat.completions.create(
        model="gpt-4o-mini", messages=_user(HELLO), extra_headers={"traceparent": traceparent}
    )
    records = _get_json(fake.base_url + "/_fake/requests")
    assert len(records) == 1
    rec = records[0]
    assert rec["path"] == "/v1/chat/completions"
    assert rec["headers"]["traceparent"] == traceparent
    assert rec["headers"]["authorization"] == "Bearer sk-fake"
    assert rec["body"]["messages"] == _user(HELLO)
    req = urllib.request.Request(fake.base_url + "/_fake/reset", data=b"", method="POST")
    urllib.request.urlopen(req, timeout=5).close()
    assert _get_json(fake.base_url + "/_fake/requests") == []


def _post(url, payload, headers=None):
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_requests_the_real_apis_reject(fake):
    status, body = _post(
        fake.base_url + "/v1/messages", {"model": CLAUDE, "messages": _user(HELLO)}
    )
    assert status == 400
    assert body["error"] == {
        "type": "invalid_request_error",
        "message": "max_tokens: Field required",
    }
    status, body = _post(fake.base_url + "/v1/chat/completions", b"{not json")
    assert status == 400 and body["error"]["type"] == "invalid_request_error"
    status, body = _post(fake.base_url + "/v1/chat/completions", {"messages": _user(HELLO)})
    assert status == 400 and body["error"]["param"] == "model"
    status, body = _post(fake.base_url + "/v1/nope", {"model": "gpt-4o-mini"})
    assert status == 404


def _spawn(*extra):
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_llm.py")
    proc = subprocess.Popen(
        [sys.executable, script, "--port", "0", *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    match = re.fullmatch(r"READY (http://127\.0\.0\.1:\d+)\n", line)
    assert match, line
    return proc, match.group(1)


def test_cli_ready_line_and_sigterm():
    proc, url = _spawn()
    try:
        assert _get_json(url + "/_fake/health") == {"ok": True}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stdout.read() == ""  # exactly one line on stdout
    finally:
        if proc.poll() is None:
            proc.kill()


def test_cli_exits_on_stdin_eof():
    proc, url = _spawn("--exit-on-stdin-eof")
    try:
        assert _get_json(url + "/_fake/health") == {"ok": True}
        proc.stdin.close()
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
