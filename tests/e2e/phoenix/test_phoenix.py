"""tokentrace → Arize Phoenix, end to end.

Runs `core/examples/agent_workflow` (a root `answer_question` span, two
`chat gpt-4o-mini` LLM spans around an `execute_tool get_weather` span) against
a real `phoenix serve`, over OTLP/HTTP protobuf and OTLP/gRPC, then reads back
what Phoenix stored and what its UI shows.

tokentrace emits OpenTelemetry GenAI attributes (`gen_ai.*`). Phoenix 20.x
converts them on ingest into the OpenInference attributes its UI renders
(`phoenix/trace/gen_ai/conversion.py`), keeping the `gen_ai.*` originals. The
tests assert both; the `xfail(strict=True)` tests pin the places where the UI
still shows less than an OpenInference-native span would.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import phoenix_api
from phoenix_server import PhoenixServer

INGEST_TIMEOUT = float(os.environ.get("PHOENIX_INGEST_TIMEOUT", "30"))
EXAMPLE_TIMEOUT = 60

# What core/examples/agent_workflow.rs records.
QUESTION = "What's the weather in Paris right now?"
ANSWER = "It's 18°C and clear in Paris."
SYSTEM = "You answer questions about the weather. Use tools."
TOOL_RESULT = {"temp_c": 18, "sky": "clear"}
FIRST_TOKENS = (142, 18)
SECOND_TOKENS = (201, 12)
LLM_NAME = "chat gpt-4o-mini"
TOOL_NAME = "execute_tool get_weather"
ROOT_NAME = "answer_question"


def run_example(
    example: Path,
    endpoint: str,
    protocol: str,
    extra_env: dict[str, str],
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "TOKENTRACE_"))
    }
    env.update(
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
        TOKENTRACE_EXPORTER="otlp",
        # Phoenix has no OTLP metrics receiver.
        OTEL_METRICS_EXPORTER="none",
        # A refused export should fail the run quickly, not retry for a minute.
        TOKENTRACE_RETRY_MAX_ELAPSED="5000",
    )
    env.update(extra_env)
    return subprocess.run(
        [str(example)],
        env=env,
        capture_output=True,
        text=True,
        timeout=EXAMPLE_TIMEOUT,
        check=False,
    )


def example_output(run: subprocess.CompletedProcess[str]) -> str:
    return (
        f"example exit code {run.returncode}\n"
        f"stdout: {run.stdout.strip()}\nstderr: {run.stderr.strip()}"
    )


def export_and_wait(
    phoenix: PhoenixServer,
    example: Path,
    endpoint: str,
    protocol: str,
    project: str,
    extra_env: dict[str, str],
) -> list[dict[str, Any]]:
    run = run_example(example, endpoint, protocol, extra_env)
    assert run.returncode == 0, example_output(run)
    assert "recorded 4 spans (4 exported)" in run.stdout, example_output(run)
    return phoenix_api.wait_for(
        f"spans in Phoenix project {project!r}",
        lambda: phoenix_api.spans(phoenix.base_url, project),
        count=4,
        timeout=INGEST_TIMEOUT,
        describe_failure=lambda: example_output(run),
    )


@dataclass
class Exported:
    """One run of the example, as Phoenix stored it and as its UI shows it."""

    transport: str
    spans: list[dict[str, Any]]  # REST: attributes flattened, as stored
    ui: dict[str, Any]  # GraphQL: the fields the UI reads
    session: dict[str, Any] | None  # GraphQL: the Sessions view of "s-7"

    def named(self, name: str) -> list[dict[str, Any]]:
        return [s for s in self.spans if s["name"] == name]

    @property
    def root(self) -> dict[str, Any]:
        (root,) = self.named(ROOT_NAME)
        return root

    @property
    def tool(self) -> dict[str, Any]:
        (tool,) = self.named(TOOL_NAME)
        return tool

    @property
    def llm_calls(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(the call that asked for the tool, the call that answered)."""
        first, second = sorted(self.named(LLM_NAME), key=lambda s: s["start_time"])
        return first, second

    def ui_span(self, span: dict[str, Any]) -> dict[str, Any]:
        span_id = span["context"]["span_id"]
        for edge in self.ui["spans"]["edges"]:
            if edge["node"]["context"]["spanId"] == span_id:
                return dict(edge["node"])
        raise AssertionError(f"span {span_id} missing from the UI's span list")


TRANSPORTS = ["http/protobuf", "grpc"]


@pytest.fixture(scope="module", params=TRANSPORTS)
def exported(
    request: pytest.FixtureRequest, phoenix: PhoenixServer, example_bin: Path
) -> Exported:
    protocol: str = request.param
    endpoint = phoenix.grpc_endpoint if protocol == "grpc" else phoenix.base_url
    project = f"tokentrace-e2e-{protocol.replace('/', '-')}"
    # Phoenix files spans under the `openinference.project.name` resource
    # attribute (the `x-project-name` header wins over it on OTLP/HTTP).
    spans = export_and_wait(
        phoenix,
        example_bin,
        endpoint,
        protocol,
        project,
        {"OTEL_RESOURCE_ATTRIBUTES": f"openinference.project.name={project}"},
    )
    meta = phoenix_api.project(phoenix.base_url, project)
    assert meta is not None
    return Exported(
        protocol,
        spans,
        phoenix_api.ui_view(phoenix.base_url, meta["id"]),
        phoenix_api.session_view(phoenix.base_url, "s-7"),
    )


def test_one_trace_of_four_spans_under_the_root(exported: Exported) -> None:
    names = sorted(s["name"] for s in exported.spans)
    assert names == sorted([ROOT_NAME, LLM_NAME, LLM_NAME, TOOL_NAME])
    assert {s["context"]["trace_id"] for s in exported.spans} == {
        exported.root["context"]["trace_id"]
    }
    assert exported.ui["traceCount"] == 1
    root = exported.root
    assert root["parent_id"] is None
    for child in [*exported.llm_calls, exported.tool]:
        assert child["parent_id"] == root["context"]["span_id"], child["name"]
    # The root's own attributes arrive as set.
    assert root["attributes"]["user.id"] == "u-42"
    assert root["attributes"]["session.id"] == "s-7"
    assert root["attributes"]["feature.name"] == "weather_qa"


def test_llm_spans_show_model_and_token_counts(exported: Exported) -> None:
    for span, (prompt, completion) in zip(
        exported.llm_calls, [FIRST_TOKENS, SECOND_TOKENS]
    ):
        a = span["attributes"]
        assert span["span_kind"] == "LLM"
        # Synthesized from gen_ai.* by Phoenix: what the UI's LLM view reads.
        assert a["llm.model_name"] == "gpt-4o-mini"
        assert a["llm.provider"] == "openai"
        assert a["llm.token_count.prompt"] == prompt
        assert a["llm.token_count.completion"] == completion
        assert a["llm.token_count.total"] == prompt + completion
        assert json.loads(a["llm.invocation_parameters"]) == {
            "temperature": 0.0,
            "max_tokens": 512,
        }
        # The originals are kept next to them.
        assert a["gen_ai.request.model"] == "gpt-4o-mini"
        assert a["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
        assert a["gen_ai.usage.input_tokens"] == prompt
        assert a["gen_ai.usage.output_tokens"] == completion

        ui = exported.ui_span(span)
        assert ui["spanKind"] == "llm"
        assert (ui["tokenCountPrompt"], ui["tokenCountCompletion"]) == (
            prompt,
            completion,
        )


def test_llm_spans_show_prompt_and_completion_messages(exported: Exported) -> None:
    first, second = (s["attributes"] for s in exported.llm_calls)

    # gen_ai.system_instructions becomes a leading system message.
    for a in (first, second):
        assert a["llm.input_messages.0.message.role"] == "system"
        assert a["llm.input_messages.0.message.content"] == SYSTEM
        assert a["llm.input_messages.1.message.role"] == "user"
        assert a["llm.input_messages.1.message.content"] == QUESTION
        tool = json.loads(a["llm.tools.0.tool.json_schema"])
        assert tool["function"]["name"] == "get_weather"

    # First call: the completion is a tool call.
    call = "llm.output_messages.0.message.tool_calls.0.tool_call"
    assert first["llm.output_messages.0.message.role"] == "assistant"
    assert first[f"{call}.function.name"] == "get_weather"
    assert json.loads(first[f"{call}.function.arguments"]) == {"city": "Paris"}
    assert first[f"{call}.id"] == "call_1"
    assert first["llm.finish_reason"] == "tool_call"

    # Second call: the history carries the tool call and its result, and the
    # completion is the answer text.
    hist = "llm.input_messages.2.message.tool_calls.0.tool_call"
    assert second["llm.input_messages.2.message.role"] == "assistant"
    assert second[f"{hist}.function.name"] == "get_weather"
    assert second["llm.input_messages.3.message.role"] == "tool"
    assert second["llm.input_messages.3.message.tool_call_id"] == "call_1"
    assert json.loads(second["llm.input_messages.3.message.content"]) == TOOL_RESULT
    assert second["llm.output_messages.0.message.role"] == "assistant"
    assert second["llm.output_messages.0.message.content"] == ANSWER
    assert second["llm.finish_reason"] == "stop"

    # The GenAI JSON is stored verbatim as well.
    out = json.loads(second["gen_ai.output.messages"])
    assert out[0]["parts"][0]["content"] == ANSWER


def test_tool_span_shows_name_arguments_and_result(exported: Exported) -> None:
    tool = exported.tool
    a = tool["attributes"]
    assert tool["span_kind"] == "TOOL"
    assert a["tool.name"] == "get_weather"
    assert a["tool.id"] == "call_1"
    assert a["tool.parameters.city"] == "Paris"
    assert json.loads(a["output.value"]) == TOOL_RESULT
    ui = exported.ui_span(tool)
    assert ui["spanKind"] == "tool"
    assert json.loads(ui["output"]["value"]) == TOOL_RESULT


def test_trace_totals_cost_and_session(exported: Exported) -> None:
    root = exported.ui_span(exported.root)
    assert root["cumulativeTokenCountPrompt"] == FIRST_TOKENS[0] + SECOND_TOKENS[0]
    assert root["cumulativeTokenCountCompletion"] == FIRST_TOKENS[1] + SECOND_TOKENS[1]
    # Phoenix prices LLM spans from model name and token counts with its own
    # table; it should agree with the cost tokentrace attached.
    for span in exported.llm_calls:
        ours = span["attributes"]["tokentrace.cost.total_usd"]
        summary = exported.ui_span(span)["costSummary"]
        assert summary is not None, "Phoenix computed no cost for the LLM span"
        assert summary["total"]["cost"] == pytest.approx(ours, rel=0.01)
    # session.id / user.id on the root are OpenInference's names too: the
    # trace shows up in the Sessions view under its user.
    session = exported.session
    assert session is not None, "Phoenix has no session 's-7'"
    assert session["userId"] == "u-42"
    traces = {e["node"]["traceId"] for e in session["traces"]["edges"]}
    assert exported.root["context"]["trace_id"] in traces


@pytest.mark.xfail(
    strict=True,
    reason="Phoenix 20.26 derives no input.value from gen_ai.input.messages and sets "
    'output.value to {"model": ...} (from gen_ai.response.model), so the spans '
    "table's input/output columns do not show the conversation; an OpenInference "
    "projection in tokentrace (input.value / output.value) would",
)
def test_spans_table_shows_question_and_answer(exported: Exported) -> None:
    _, second = exported.llm_calls
    ui = exported.ui_span(second)
    assert ui["input"] is not None and QUESTION in ui["input"]["value"]
    assert ui["output"] is not None and ANSWER in ui["output"]["value"]


@pytest.mark.xfail(
    strict=True,
    reason="the root span has no gen_ai.operation.name, so Phoenix files it as "
    "kind UNKNOWN; an OpenInference projection would mark it CHAIN or AGENT",
)
def test_root_span_has_a_span_kind(exported: Exported) -> None:
    assert exported.ui_span(exported.root)["spanKind"] != "unknown"


def test_project_name_from_header(phoenix: PhoenixServer, example_bin: Path) -> None:
    """`x-project-name` (OTEL_EXPORTER_OTLP_HEADERS) picks the project on OTLP/HTTP."""
    project = "tokentrace-e2e-header"
    spans = export_and_wait(
        phoenix,
        example_bin,
        phoenix.base_url,
        "http/protobuf",
        project,
        {"OTEL_EXPORTER_OTLP_HEADERS": f"x-project-name={project}"},
    )
    assert len(spans) == 4


def test_http_json_is_refused_with_a_clear_warning(
    phoenix: PhoenixServer, example_bin: Path
) -> None:
    """Phoenix accepts OTLP/HTTP protobuf only; tokentrace must say so, not hang."""
    run = run_example(
        example_bin,
        phoenix.base_url,
        "http/json",
        {"OTEL_RESOURCE_ATTRIBUTES": "openinference.project.name=tokentrace-e2e-json"},
    )
    assert run.returncode == 0, example_output(run)
    assert "(0 exported)" in run.stdout, example_output(run)
    assert "415" in run.stderr, example_output(run)
    assert phoenix_api.project(phoenix.base_url, "tokentrace-e2e-json") is None


@pytest.fixture(scope="module")
def exported_both(phoenix: PhoenixServer, example_bin: Path) -> Exported:
    """The same run with `TOKENTRACE_SEMCONV=both`: GenAI plus OpenInference."""
    project = "tokentrace-e2e-openinference"
    spans = export_and_wait(
        phoenix,
        example_bin,
        phoenix.base_url,
        "http/protobuf",
        project,
        {
            "OTEL_RESOURCE_ATTRIBUTES": f"openinference.project.name={project}",
            "TOKENTRACE_SEMCONV": "both",
        },
    )
    meta = phoenix_api.project(phoenix.base_url, project)
    assert meta is not None
    return Exported(
        "http/protobuf",
        spans,
        phoenix_api.ui_view(phoenix.base_url, meta["id"]),
        phoenix_api.session_view(phoenix.base_url, "s-7"),
    )


def test_openinference_projection_fills_the_spans_table(exported_both: Exported) -> None:
    """With the projection on, the list view shows question, answer and a root kind."""
    _, second = exported_both.llm_calls
    ui = exported_both.ui_span(second)
    assert ui["input"] is not None and QUESTION in ui["input"]["value"]
    assert ui["output"] is not None and ANSWER in ui["output"]["value"]
    assert exported_both.ui_span(exported_both.root)["spanKind"] == "chain"
    assert ui["spanKind"] == "llm"
