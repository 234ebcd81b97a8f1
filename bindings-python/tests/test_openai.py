"""openai client, sync: every call shape against the fake server."""

from __future__ import annotations

import gc
import json

import openai
import pytest
from conftest import llm_spans, needs_parsers, one_llm_span, parsed, spans

MSGS = [
    {"role": "system", "content": "You answer briefly."},
    {"role": "user", "content": "Hello there"},
]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture
def client(fake_url: str):
    with openai.OpenAI(base_url=f"{fake_url}/v1", api_key="sk-fake", max_retries=0) as c:
        yield c


def test_chat_json_returns_the_real_object_and_records_one_client_span(tt, client):
    r = client.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    assert type(r).__name__ == "ChatCompletion"
    assert r.choices[0].message.content == "This is a fake reply. You said: Hello there"
    s = one_llm_span()
    a = s["attributes"]
    assert s["kind"] == "client"
    assert a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.operation.name"] == "chat"
    assert a["server.address"] == "127.0.0.1"
    assert isinstance(a["server.port"], int) and a["server.port"] > 0
    assert s["parent_span_id"] is None
    assert s["status_code"] != "error"
    assert s["end_unix_nanos"] >= s["start_unix_nanos"] > 0


@needs_parsers
def test_chat_json_fields(tt, client):
    client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, temperature=0.2, max_tokens=50)
    s = one_llm_span()
    a = s["attributes"]
    assert s["name"] == "chat gpt-4o-mini"
    assert a["gen_ai.request.model"] == "gpt-4o-mini"
    assert a["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert a["gen_ai.request.temperature"] == 0.2
    assert a["gen_ai.request.max_tokens"] == 50
    # "You answer briefly." + "Hello there" = 30 chars -> 8 tokens; the reply is 11 tokens.
    assert a["gen_ai.usage.input_tokens"] == 8
    assert a["gen_ai.usage.output_tokens"] == 11
    assert a["gen_ai.response.finish_reasons"] == ["stop"]
    # OpenAI's system message is part of the chat history (input messages).
    inp = parsed(s, "gen_ai.input.messages")
    assert [m["role"] for m in inp] == ["system", "user"]
    assert "You answer briefly." in json.dumps(inp) and "Hello there" in json.dumps(inp)
    assert "This is a fake reply. You said: Hello there" in json.dumps(parsed(s, "gen_ai.output.messages"))
    assert a["gen_ai.response.id"].startswith("chatcmpl-")


def test_stream_consumed_fully_records_once_with_time_to_first_chunk(tt, client):
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True)
    assert type(stream).__name__ == "Stream"
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "This is a fake reply. You said: Hello there"
    s = one_llm_span()
    ttfc = s["attributes"]["gen_ai.response.time_to_first_chunk"]
    assert 0 < ttfc <= (s["end_unix_nanos"] - s["start_unix_nanos"]) / 1e9


@needs_parsers
def test_stream_without_usage_has_text_but_no_provider_tokens(tt, client):
    for _ in client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True):
        pass
    s = one_llm_span()
    assert "This is a fake reply. You said: Hello there" in json.dumps(parsed(s, "gen_ai.output.messages"))
    assert s["attributes"]["gen_ai.response.finish_reasons"] == ["stop"]
    assert s["attributes"].get("gen_ai.usage.output_tokens") in (None, 11)
    if "gen_ai.usage.output_tokens" in s["attributes"]:
        assert s["attributes"].get("tokentrace.usage.estimated") is True


@needs_parsers
def test_stream_with_usage(tt, client):
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=MSGS, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[-1].usage.completion_tokens == 11
    a = one_llm_span()["attributes"]
    assert a["gen_ai.usage.input_tokens"] == 8
    assert a["gen_ai.usage.output_tokens"] == 11
    assert not a.get("tokentrace.usage.estimated", False)


@needs_parsers
def test_tool_call_json_and_tool_result_sent_back(tt, client):
    r = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "What's the weather in Paris?"}],
        tools=[WEATHER_TOOL],
    )
    call = r.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "user", "content": "What's the weather in Paris?"},
            {"role": "assistant", "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 24 C"},
        ],
        tools=[WEATHER_TOOL],
    )
    first, second = sorted(llm_spans(), key=lambda s: s["start_unix_nanos"])
    assert first["attributes"]["gen_ai.response.finish_reasons"] == ["tool_calls"]
    out = json.dumps(parsed(first, "gen_ai.output.messages"))
    assert "get_weather" in out and "Paris" in out and call.id in out
    assert "get_weather" in json.dumps(parsed(first, "gen_ai.tool.definitions"))
    inp = json.dumps(parsed(second, "gen_ai.input.messages"))
    assert "Sunny, 24 C" in inp and call.id in inp


@needs_parsers
def test_fast_and_general_paths_agree(fake_url):
    """A buffered call is recorded inline by the method wrapper (`_wrap.py`);
    with a mask hook it goes through `_http.ended` instead. Both must record
    the same span."""
    import tokentrace
    from tokentrace import testing

    def traced_call(mask):
        tokentrace.init(exporter="memory", service_name="pytest", schedule_delay=0.05, mask=mask)
        testing.clear()
        with openai.OpenAI(base_url=f"{fake_url}/v1", api_key="sk-fake", max_retries=0) as c:
            c.chat.completions.create(model="gpt-4o-mini", messages=MSGS, tools=[WEATHER_TOOL], temperature=0.3)
        s = one_llm_span()
        a = dict(s["attributes"])
        assert a.pop("gen_ai.response.id").startswith("chatcmpl-")  # drawn per answer
        return s, a

    try:
        fast, fast_attrs = traced_call(None)
        general, general_attrs = traced_call(lambda text: text)
    finally:
        tokentrace.init(exporter="memory", service_name="pytest", schedule_delay=0.05)
    assert fast_attrs == general_attrs
    assert fast_attrs["server.port"] > 0 and fast_attrs["gen_ai.request.temperature"] == 0.3
    for k in ("name", "kind", "status_code", "parent_span_id", "events"):
        assert fast[k] == general[k], k


def test_streamed_tool_call_deltas_are_joined(tt, client):
    for _ in client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "What's the weather in Paris?"}],
        tools=[WEATHER_TOOL],
        stream=True,
    ):
        pass
    s = one_llm_span()
    out = parsed(s, "gen_ai.output.messages")
    calls = [p for m in out for p in m["parts"] if p["type"] == "tool_call"]
    assert calls[0]["name"] == "get_weather"
    args = calls[0]["arguments"]
    assert (json.loads(args) if isinstance(args, str) else args) == {"city": "Paris"}


@pytest.mark.parametrize(
    "model,exc",
    [("error-400", openai.BadRequestError), ("error-429", openai.RateLimitError), ("error-500", openai.InternalServerError)],
)
def test_status_errors_propagate_unchanged_and_mark_the_span(tt, client, model, exc):
    with pytest.raises(exc) as info:
        client.chat.completions.create(model=model, messages=MSGS)
    assert info.value.status_code == int(model.split("-")[1])
    s = one_llm_span()
    assert s["status_code"] == "error"
    assert s["attributes"]["error.type"]


def test_status_error_type_is_the_exception_class_without_parsers(tt, client):
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="error-400", messages=MSGS)
    assert one_llm_span()["attributes"]["error.type"] in ("BadRequestError", "invalid_request_error", "400")


def test_error_on_a_streaming_request(tt, client):
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="error-500", messages=MSGS, stream=True)
    assert one_llm_span()["status_code"] == "error"


def test_timeout(tt, fake_url):
    c = openai.OpenAI(base_url=f"{fake_url}/v1", api_key="sk-fake", max_retries=0, timeout=0.3)
    with pytest.raises(openai.APITimeoutError):
        c.chat.completions.create(model="gpt-4o-mini", messages=MSGS, extra_headers={"x-fake-delay-ms": "3000"})
    s = one_llm_span()
    assert s["status_code"] == "error"
    assert s["attributes"]["error.type"] == "APITimeoutError"


def test_connection_error(tt):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    c = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-fake", max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        c.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    s = one_llm_span()
    assert s["attributes"]["error.type"] == "APIConnectionError"
    assert s["attributes"]["server.port"] == port


def test_retries_record_one_span_for_the_call(tt, fake_url):
    c = openai.OpenAI(base_url=f"{fake_url}/v1", api_key="sk-fake", max_retries=2)
    r = c.chat.completions.create(
        model="gpt-4o-mini",
        messages=MSGS,
        extra_headers={"x-fake-status": "500", "x-fake-fail-attempts": "1"},
    )
    assert r.choices[0].message.content
    s = one_llm_span()
    assert s["status_code"] != "error"


def test_stream_closed_early_is_recorded_at_close(tt, client):
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True)
    next(iter(stream))
    assert llm_spans() == []
    stream.close()
    assert len(llm_spans()) == 1  # while `stream` is still referenced
    del stream
    gc.collect()
    assert len(llm_spans()) == 1


def test_stream_in_with_block_and_break(tt, client):
    with client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True) as stream:
        for _ in stream:
            break
    one_llm_span()


def test_stream_abandoned_is_recorded_when_collected(tt, client):
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True)
    it = iter(stream)
    next(it)
    del stream, it
    gc.collect()
    assert len(llm_spans()) == 1


def test_stream_never_iterated_is_recorded_when_collected(tt, client):
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True)
    del stream
    gc.collect()
    assert len(llm_spans()) == 1


def test_stream_cut_by_the_server(tt, client):
    # openai 3.x wraps the transport error; 1.x lets httpx's through.
    with pytest.raises(Exception) as info:
        for _ in client.chat.completions.create(model="stream-cut", messages=MSGS, stream=True):
            pass
    assert type(info.value).__name__ in ("APIConnectionError", "RemoteProtocolError")
    gc.collect()
    assert len(llm_spans()) == 1


def test_with_raw_response(tt, client):
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MSGS)
    assert raw.headers["x-request-id"].startswith("req_")
    assert raw.parse().choices[0].message.content.startswith("This is a fake reply")
    one_llm_span()


def test_responses_keep_the_httpx_class_untouched(tt, client):
    # Only a streamed response gets hooks, on itself; a plain response is left
    # exactly as the client made it, and so is httpx's Response class.
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MSGS)
    cls = type(raw.http_response)
    for name in ("iter_bytes", "aiter_bytes", "close", "aclose"):
        assert not hasattr(getattr(cls, name), "__tokentrace_original__")
    assert not {"iter_bytes", "close"} & set(vars(raw.http_response))
    stream = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MSGS, stream=True)
    assert {"iter_bytes", "close"} <= set(vars(stream.http_response))
    chunks = list(stream.parse())
    assert chunks
    assert len(llm_spans()) == 2


def test_with_streaming_response(tt, client):
    with client.chat.completions.with_streaming_response.create(model="gpt-4o-mini", messages=MSGS) as r:
        body = r.json()
    assert body["choices"][0]["message"]["content"].startswith("This is a fake reply")
    one_llm_span()


def test_responses_api_json_and_stream(tt, client):
    r = client.responses.create(model="gpt-4o-mini", input="Hello there")
    assert r.output_text == "This is a fake reply. You said: Hello there"
    events = [e.type for e in client.responses.create(model="gpt-4o-mini", input="Hello there", stream=True)]
    assert events[-1] == "response.completed"
    ss = llm_spans()
    assert len(ss) == 2
    assert all(s["attributes"]["gen_ai.operation.name"] == "chat" for s in ss)


def assert_priced_chat(s, model: str = "gpt-4o-mini") -> None:
    """A chat call's span: its name, model, both token counts and a cost."""
    a = s["attributes"]
    assert s["name"] == f"chat {model}"
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.request.model"] == model
    assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] > 0
    assert a["tokentrace.cost.total_usd"] > 0


@pytest.mark.skipif(not hasattr(openai.OpenAI(api_key="x"), "responses"), reason="no Responses API")
@needs_parsers
def test_responses_web_search_is_a_server_tool_call(tt, client):
    client.responses.create(model="gpt-4o-mini", input="weather in Oslo", tools=[{"type": "web_search"}])
    with client.responses.stream(model="gpt-4o-mini", input="weather in Oslo", tools=[{"type": "web_search"}]) as s:
        s.until_done()
    spans = llm_spans()
    assert len(spans) == 2
    for span in spans:
        assert_priced_chat(span)
        parts = [p for m in parsed(span, "gen_ai.output.messages") for p in m["parts"]]
        call, result, text = parts
        assert call == {
            "type": "server_tool_call",
            "id": call["id"],
            "name": "web_search",
            "server_tool_call": {"type": "web_search", "action": {"type": "search", "query": "weather in Oslo"}},
        }
        assert result == {
            "type": "server_tool_call_response",
            "id": call["id"],
            "server_tool_call_response": {"type": "web_search", "status": "completed"},
        }
        assert text["type"] == "text" and "weather in Oslo" in text["content"]
        # One search at GPT-4o mini's web search rate ($25 per 1,000), on top of the tokens.
        a = span["attributes"]
        assert a["tokentrace.usage.web_search_calls"] == 1
        assert a["tokentrace.cost.tools_usd"] == pytest.approx(0.025)
        tools = parsed(span, "gen_ai.tool.definitions")
        assert tools == [{"type": "web_search", "name": "web_search"}]


needs_beta_responses = pytest.mark.skipif(
    not hasattr(openai.OpenAI(api_key="x").beta, "responses"), reason="client.beta.responses is openai 3.x"
)


@needs_beta_responses
@needs_parsers
def test_beta_responses_json_and_stream(tt, client):
    r = client.beta.responses.create(model="gpt-4o-mini", input="Hello there", instructions="Be brief.")
    assert r.output[0].content[0].text == "This is a fake reply. You said: Hello there"
    events = [e.type for e in client.beta.responses.create(model="gpt-4o-mini", input="Hello there", stream=True)]
    assert events[-1] == "response.completed"
    raw = client.beta.responses.with_raw_response.create(model="gpt-4o-mini", input="Hello there")
    assert raw.parse().status == "completed"
    ss = llm_spans()
    assert len(ss) == 3
    for s in ss:
        assert_priced_chat(s)
        assert "This is a fake reply. You said: Hello there" in json.dumps(parsed(s, "gen_ai.output.messages"))
        assert "Hello there" in json.dumps(parsed(s, "gen_ai.input.messages"))
    assert "Be brief." in json.dumps(parsed(ss[0], "gen_ai.system_instructions"))
    assert ss[1]["attributes"]["gen_ai.response.time_to_first_chunk"] > 0


@pytest.mark.skipif(not hasattr(openai.OpenAI(api_key="x").responses, "compact"), reason="responses.compact is 3.x")
@needs_parsers
def test_responses_compact_is_a_priced_call_whose_output_is_the_compaction(tt, client):
    history = [
        {"role": "user", "content": "Refactor the parser."},
        {"role": "assistant", "content": "Done: split into three modules."},
        {"role": "user", "content": "Now add tests."},
    ]
    for resource in (client.responses, client.beta.responses):
        r = resource.compact(model="gpt-4o-mini", input=history, instructions="Keep decisions.")
        assert r.object == "response.compaction" and r.output[-1].type == "compaction"
    ss = llm_spans()
    assert len(ss) == 2
    for s in ss:
        assert_priced_chat(s)
        assert [m["role"] for m in parsed(s, "gen_ai.input.messages")] == ["user", "assistant", "user"]
        out = parsed(s, "gen_ai.output.messages")
        # The user messages the API hands back are not the model's output.
        assert [p["type"] for m in out for p in m["parts"]] == ["compaction"]
        assert "Now add tests." not in json.dumps(out)


@needs_parsers
def test_spoken_answers_keep_the_transcript_and_the_audio(tt, client):
    kw = dict(model="gpt-4o-audio-preview", modalities=["text", "audio"], audio={"voice": "alloy", "format": "wav"})
    r = client.chat.completions.create(messages=MSGS, **kw)
    for _ in client.chat.completions.create(messages=MSGS, stream=True, stream_options={"include_usage": True}, **kw):
        pass
    spans = llm_spans()
    assert len(spans) == 2
    for s in spans:
        a = s["attributes"]
        assert a["gen_ai.output.type"] == "speech"
        # The answer's words are in the transcript, not in `content` (null).
        text, audio = parsed(s, "gen_ai.output.messages")[0]["parts"]
        assert text == {"type": "text", "content": "This is a fake reply. You said: Hello there"}
        assert audio["type"] == "blob" and audio["modality"] == "audio"
        # The audio is kept, cut at the redaction's text cap (`max_text_bytes`) like any long text.
        data = r.choices[0].message.audio.data
        kept, _, marker = audio["content"].partition("[TRUNCATED: ")
        assert len(kept) < len(data) and data.startswith(kept) and marker.endswith(" bytes]")
        assert a["gen_ai.usage.output_tokens"] == r.usage.completion_tokens
        # No price is known for audio models: none is guessed.
        assert "tokentrace.cost.total_usd" not in a


def test_embeddings(tt, client):
    r = client.embeddings.create(model="text-embedding-3-small", input="Hello there")
    assert len(r.data[0].embedding) == 1536
    s = one_llm_span()
    assert s["attributes"]["gen_ai.operation.name"] == "embeddings"


@needs_parsers
def test_embeddings_fields(tt, client):
    client.embeddings.create(model="text-embedding-3-small", input="Hello there")
    a = one_llm_span()["attributes"]
    assert a["gen_ai.request.model"] == "text-embedding-3-small"
    assert a["gen_ai.usage.input_tokens"] == 3


def test_uninstrument_restores_originals(tt, client):
    from openai.resources.chat.completions import Completions

    assert hasattr(Completions.create, "__tokentrace_original__")
    tt.uninstrument()
    try:
        assert not hasattr(Completions.create, "__tokentrace_original__")
        client.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
        assert llm_spans() == []
    finally:
        tt.instrument()
    client.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    assert len(llm_spans()) == 1


def test_init_twice_does_not_double_patch(tt, client):
    tt.init(exporter="memory")
    tt.init(exporter="memory")
    client.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    assert len(llm_spans()) == 1


def test_no_tracer_means_plain_calls(client):
    import tokentrace
    from tokentrace import _runtime

    tokentrace.init(exporter="memory")
    t = _runtime.tracer
    _runtime.set_tracer(None)
    try:
        r = client.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
        assert r.choices[0].message.content
    finally:
        _runtime.set_tracer(t)
    assert llm_spans() == []


def test_spans_are_not_produced_for_unrelated_httpx_traffic(tt, fake_url):
    try:
        import httpx2 as httpx_flavour
    except ImportError:
        import httpx as httpx_flavour

    with httpx_flavour.Client() as h:
        assert h.get(f"{fake_url}/_fake/health").json() == {"ok": True}
    assert spans() == []


def test_stream_helpers(tt, client):
    with client.chat.completions.stream(model="gpt-4o-mini", messages=MSGS) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.content.startswith("This is a fake reply")
    with client.responses.stream(model="gpt-4o-mini", input="Hello there") as s:
        s.until_done()
    calls = llm_spans()
    assert len(calls) == 2
    assert all(c["attributes"]["gen_ai.response.time_to_first_chunk"] > 0 for c in calls)


# -- other providers behind the openai client: the fake server is the HTTP
# proxy, so each request keeps the provider's host name.


def test_azure_openai_is_its_own_provider_and_priced_by_the_real_model(tt, fake_url):
    az = openai.AzureOpenAI(
        azure_endpoint="http://myres.openai.azure.com",
        api_version="2024-10-21",
        api_key="sk-fake",
        max_retries=0,
        http_client=openai.DefaultHttpxClient(proxy=fake_url),
    )
    with az:
        az.chat.completions.create(model="gpt-4o", messages=MSGS)
        az.embeddings.create(model="text-embedding-3-small", input="hi")
    chat, embed = sorted(llm_spans(), key=lambda s: s["start_unix_nanos"])
    for s in (chat, embed):
        a = s["attributes"]
        assert a["gen_ai.provider.name"] == "azure.ai.openai"
        assert a["server.address"] == "myres.openai.azure.com"
        assert "sk-fake" not in json.dumps(s)
    a = chat["attributes"]
    assert a["gen_ai.request.model"] == "gpt-4o"
    assert a["gen_ai.response.model"].startswith("gpt-4o-20")  # the real, dated model
    # gpt-4o at OpenAI's list price: $2.50 / $10 per million tokens.
    want = (a["gen_ai.usage.input_tokens"] * 2.5 + a["gen_ai.usage.output_tokens"] * 10) / 1e6
    assert a["tokentrace.cost.total_usd"] == pytest.approx(want)


def test_an_openai_compatible_provider_is_named_by_its_host(tt, fake_url):
    with openai.OpenAI(
        base_url="http://api.groq.com/openai/v1",
        api_key="sk-fake",
        max_retries=0,
        http_client=openai.DefaultHttpxClient(proxy=fake_url),
    ) as groq:
        groq.chat.completions.create(model="llama-3.3-70b-versatile", messages=MSGS)
    a = one_llm_span()["attributes"]
    assert a["gen_ai.provider.name"] == "groq"
    assert a["server.address"] == "api.groq.com"
    assert a["tokentrace.cost.total_usd"] > 0
