#!/usr/bin/env python3
"""Deterministic fake of the OpenAI and Anthropic HTTP APIs for tests and demos.

Speaks the real wire formats (JSON and SSE) so the official `openai` and
`anthropic` clients (Python, npm, JVM) work against it unmodified once their
base URL points here. Everything it returns is derived from the request, so
tests can assert exact texts and token counts; the rules are in README.md.

Stdlib only, Python 3.9+.

    python fake_llm.py --port 0          # prints "READY http://127.0.0.1:PORT"

or in-process:

    server, base_url = start_server()
    ...
    server.close()
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import secrets
import signal
import socket
import string
import struct
import sys
import threading
import time
import traceback
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import zip_longest
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

__all__ = [
    "FakeLLMServer",
    "start_server",
    "count_tokens",
    "prompt_tokens",
    "reply_for",
    "dated_model",
    "main",
]

HOST = "127.0.0.1"
MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_RECORDED_REQUESTS = 10_000
REPLY_WORDS = 6
DEFAULT_STREAM_CUT_AFTER = 2
DEFAULT_REASONING_TOKENS = 64
ARGUMENT_DELTA_CHARS = 8

# --------------------------------------------------------------------------------------
# Deterministic text and token rules (documented in README.md; tests rely on them).
# --------------------------------------------------------------------------------------


def count_tokens(text: str) -> int:
    """Fake tokenizer: one token per started group of 4 characters (code points)."""
    return (len(text) + 3) // 4


def prompt_tokens(texts: list[str]) -> int:
    """Input tokens of a request: all its text concatenated, counted once, at least 1."""
    return max(1, count_tokens("".join(texts)))


def reply_for(last_text: str, tool_result: bool = False) -> str:
    """The assistant text for a conversation whose last message carries `last_text`."""
    words = last_text.split()[:REPLY_WORDS]
    said = " ".join(words) if words else "(nothing)"
    who = "Tool said" if tool_result else "You said"
    return f"This is a fake reply. {who}: {said}"


OPENAI_DATED = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-4-turbo": "gpt-4-turbo-2024-04-09",
    "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
    "gpt-5": "gpt-5-2025-08-07",
    "gpt-5-mini": "gpt-5-mini-2025-08-07",
    "gpt-5-nano": "gpt-5-nano-2025-08-07",
    "gpt-5.1": "gpt-5.1-2025-11-13",
    "gpt-5.2": "gpt-5.2-2025-12-11",
    "gpt-5.4-mini": "gpt-5.4-mini-2026-03-17",
    "gpt-5.4-nano": "gpt-5.4-nano-2026-03-17",
    "gpt-5.5": "gpt-5.5-2026-04-23",
    "o1": "o1-2024-12-17",
    "o1-mini": "o1-mini-2024-09-12",
    "o3": "o3-2025-04-16",
    "o3-mini": "o3-mini-2025-01-31",
    "o4-mini": "o4-mini-2025-04-16",
}
ANTHROPIC_DATED = {
    "claude-opus-4-5": "claude-opus-4-5-20251101",
    "claude-opus-4-1": "claude-opus-4-1-20250805",
    "claude-opus-4-0": "claude-opus-4-20250514",
    "claude-opus-4": "claude-opus-4-20250514",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-sonnet-4-0": "claude-sonnet-4-20250514",
    "claude-sonnet-4": "claude-sonnet-4-20250514",
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
    "claude-3-7-sonnet-latest": "claude-3-7-sonnet-20250219",
    "claude-3-5-sonnet-latest": "claude-3-5-sonnet-20241022",
    "claude-3-5-haiku-latest": "claude-3-5-haiku-20241022",
}
_DATED_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4})$")
_REASONING_MODEL = re.compile(r"^(o\d|gpt-[5-9])")


def dated_model(model: str, provider: str) -> str:
    """The model name the real API reports back: aliases resolve to a dated snapshot."""
    table = ANTHROPIC_DATED if provider == "anthropic" else OPENAI_DATED
    if model in table:
        return table[model]
    if _DATED_SUFFIX.search(model) or model.startswith("ft:"):
        return model
    if provider == "anthropic":
        return re.sub(r"-latest$", "", model) + "-20250101"
    return model + "-2025-01-01"


def _split_text(text: str) -> list[str]:
    """Word-sized stream pieces (leading space kept, like real tokens); joins back to `text`."""
    pieces = re.findall(r"\s*\S+", text)
    rest = text[len("".join(pieces)) :]
    if rest:
        pieces.append(rest)
    return pieces


def _split_fixed(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _hint_word(text: str) -> str:
    """Value used for string tool arguments: the last word of the user text."""
    words = re.findall(r"[\w-]+", text)
    return words[-1] if words else "example"


def _example_from_schema(schema: Any, hint: str, root: dict | None = None, depth: int = 0) -> Any:
    """Smallest plausible value matching a JSON schema (enough for tool args / parse())."""
    if not isinstance(schema, dict) or depth > 8:
        return hint
    root = schema if root is None else root
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return _example_from_schema(target, hint, root, depth + 1)
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            non_null = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            return _example_from_schema((non_null or options)[0], hint, root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {
            name: _example_from_schema(sub, hint, root, depth + 1) for name, sub in props.items()
        }
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "null":
        return None
    return hint


def _compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _rand(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


_ALNUM = string.ascii_letters + string.digits


def _hex(n: int) -> str:
    return secrets.token_hex((n + 1) // 2)[:n]


# --------------------------------------------------------------------------------------
# Triggers: how a test asks for errors, delays, cuts, tool calls and cache/reasoning counts.
# --------------------------------------------------------------------------------------


class Triggers:
    """Behaviour switches from the model name (`base+opt+opt=N`) and `x-fake-*` headers."""

    def __init__(self, model: str, headers: dict[str, str]) -> None:
        base, *opts = model.split("+")
        self.base_model = base
        self.status: int | None = None
        self.delay_ms = 0
        self.chunk_delay_ms = 0
        self.cut_after: int | None = None
        self.stream_error_after: int | None = None
        self.force_tool = False
        self.retry_after = headers.get("x-fake-retry-after", "1")
        self.fail_attempts: int | None = None
        self.cached_tokens = _int_or_none(headers.get("x-fake-cached-tokens"))
        self.reasoning_tokens = _int_or_none(headers.get("x-fake-reasoning-tokens"))
        self.cache_read = _int_or_none(headers.get("x-fake-cache-read-tokens"))
        self.cache_write = _int_or_none(headers.get("x-fake-cache-write-tokens"))

        m = re.fullmatch(r"error-(\d{3})", base)
        if m:
            self.status = int(m.group(1))
        elif base == "stream-cut":
            self.cut_after = DEFAULT_STREAM_CUT_AFTER
        elif base == "stream-error":
            self.stream_error_after = DEFAULT_STREAM_CUT_AFTER
        for opt in opts:
            name, _, value = opt.partition("=")
            number = _int_or_none(value)
            if name == "delay" and number is not None:
                self.delay_ms = number
            elif name == "chunk-delay" and number is not None:
                self.chunk_delay_ms = number
            elif name == "cut":
                self.cut_after = DEFAULT_STREAM_CUT_AFTER if number is None else number
            elif name == "stream-error":
                self.stream_error_after = DEFAULT_STREAM_CUT_AFTER if number is None else number
            elif name == "tool":
                self.force_tool = True
            elif name == "status" and number is not None:
                self.status = number

        header_status = _int_or_none(headers.get("x-fake-status"))
        if header_status is not None:
            self.status = header_status
        header_delay = _int_or_none(headers.get("x-fake-delay-ms"))
        if header_delay is not None:
            self.delay_ms = header_delay
        header_chunk_delay = _int_or_none(headers.get("x-fake-chunk-delay-ms"))
        if header_chunk_delay is not None:
            self.chunk_delay_ms = header_chunk_delay
        header_cut = _int_or_none(headers.get("x-fake-stream-cut"))
        if header_cut is not None:
            self.cut_after = header_cut
        header_error = _int_or_none(headers.get("x-fake-stream-error"))
        if header_error is not None:
            self.stream_error_after = header_error
        if headers.get("x-fake-tool-call", "").lower() in ("1", "true", "yes"):
            self.force_tool = True
        self.fail_attempts = _int_or_none(headers.get("x-fake-fail-attempts"))
        if self.status is not None and self.fail_attempts is not None:
            # Clients send their retry number; fail only the first N attempts so retries succeed.
            attempt = _int_or_none(headers.get("x-stainless-retry-count")) or 0
            if attempt >= self.fail_attempts:
                self.status = None


def _int_or_none(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


# --------------------------------------------------------------------------------------
# Request reading helpers (text extraction per provider).
# --------------------------------------------------------------------------------------


def _parts_text(content: Any) -> list[str]:
    """Texts of an OpenAI/Anthropic content value: a string or a list of typed parts."""
    if isinstance(content, str):
        return [content]
    texts: list[str] = []
    if isinstance(content, list):
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict):
                texts.extend(_block_text(part))
    return texts


def _block_text(block: dict) -> list[str]:
    kind = block.get("type")
    if kind in ("text", "input_text", "output_text") and isinstance(block.get("text"), str):
        return [block["text"]]
    if kind == "tool_use":
        return [str(block.get("name", "")), _compact(block.get("input", {}))]
    if kind == "tool_result":
        return _parts_text(block.get("content", ""))
    if kind == "thinking" and isinstance(block.get("thinking"), str):
        return [block["thinking"]]
    return []


def _tool_defs_openai_chat(tools: Any) -> list[tuple[str, dict]]:
    out = []
    for tool in tools if isinstance(tools, list) else []:
        fn = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(fn, dict) and fn.get("name"):
            out.append((fn["name"], fn.get("parameters") or {}))
    return out


def _tool_defs_flat(tools: Any, schema_key: str) -> list[tuple[str, dict]]:
    out = []
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, dict) or not tool.get("name"):
            continue
        if schema_key == "parameters" and tool.get("type") != "function":
            continue
        if schema_key == "input_schema" and tool.get("type") not in (None, "custom"):
            continue
        out.append((tool["name"], tool.get(schema_key) or {}))
    return out


def _server_web_search(tools: Any, types: tuple[str, ...]) -> bool:
    """Whether the request offers the provider's own web search tool."""
    return any(
        isinstance(t, dict) and isinstance(t.get("type"), str) and t["type"].startswith(types)
        for t in (tools if isinstance(tools, list) else [])
    )


def _search_results(query: str) -> list[tuple[str, str]]:
    """(url, title) of the fake web search's results for `query`."""
    word = _hint_word(query) or "query"
    return [(f"https://example.com/{word}/{i}", f"{word.title()} result {i}") for i in (1, 2)]


def _pick_tool(
    tools: list[tuple[str, dict]],
    forced_name: str | None,
    choice_required: bool,
    choice_none: bool,
    last_is_user: bool,
    last_text: str,
    force: bool,
) -> tuple[str, dict] | None:
    """Which tool (if any) the fake model calls; see README "Tool calls"."""
    if not tools or choice_none:
        return None
    if forced_name:
        return next((t for t in tools if t[0] == forced_name), tools[0])
    if choice_required:
        return tools[0]
    if not last_is_user:
        return None
    lowered = last_text.lower()
    named = next((t for t in tools if t[0].lower() in lowered), None)
    if named:
        return named
    if force or "weather" in lowered:
        return tools[0]
    return None


def _apply_limits(
    text: str, max_tokens: int | None, stops: list[str]
) -> tuple[str, str, str | None]:
    """Cut the reply at a stop sequence or the token budget -> (text, reason, stop_sequence)."""
    for stop in stops:
        if stop and stop in text:
            return text[: text.index(stop)], "stop_sequence", stop
    if max_tokens is not None and count_tokens(text) > max_tokens:
        return text[: max(0, max_tokens) * 4], "max_tokens", None
    return text, "end", None


def _stops(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for s in value if isinstance(s, str)]
    return []


class BadRequest(Exception):
    """A request the real API would reject with 400."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


# --------------------------------------------------------------------------------------
# Error bodies.
# --------------------------------------------------------------------------------------

_OPENAI_ERRORS = {
    400: ("invalid_request_error", None, "Fake error 400: bad request."),
    401: (
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided: sk-fake. You can find your API key at the dashboard.",
    ),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Fake error 403."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    409: ("invalid_request_error", None, "Fake error 409: conflict."),
    422: ("invalid_request_error", None, "Fake error 422: unprocessable entity."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests (fake)."),
    500: ("server_error", None, "The server had an error while processing your request."),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The server is overloaded or not ready yet."),
    504: ("server_error", None, "Gateway timeout."),
}
_ANTHROPIC_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def openai_error_body(status: int, message: str | None = None, param: str | None = None) -> dict:
    kind, code, default = _OPENAI_ERRORS.get(
        status,
        (
            "server_error" if status >= 500 else "invalid_request_error",
            None,
            f"Fake error {status}.",
        ),
    )
    return {"error": {"message": message or default, "type": kind, "param": param, "code": code}}


def anthropic_error_body(status: int, message: str | None = None) -> dict:
    kind = _ANTHROPIC_ERRORS.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {
        "type": "error",
        "error": {"type": kind, "message": message or f"Fake error {status}: {kind}."},
        "request_id": _anthropic_request_id(),
    }


def _anthropic_request_id() -> str:
    return "req_011C" + _rand(_ALNUM, 20)


# --------------------------------------------------------------------------------------
# A planned answer: JSON body or a list of SSE events, computed before anything is sent.
# --------------------------------------------------------------------------------------


class SSE:
    """One server-sent event. `delta` marks content events (what cut/error triggers count)."""

    def __init__(self, data: Any, event: str | None = None, delta: bool = False) -> None:
        self.data = data
        self.event = event
        self.delta = delta

    def encode(self) -> bytes:
        payload = self.data if isinstance(self.data, str) else _compact(self.data)
        head = f"event: {self.event}\n" if self.event else ""
        return f"{head}data: {payload}\n\n".encode()


def _rename_delta(fields: dict[str, Any]) -> dict[str, Any]:
    """Event builders take the wire field `delta` as `delta_` (their own `delta` flag marks
    content events); restore the wire name, keeping field order."""
    return {("delta" if key == "delta_" else key): value for key, value in fields.items()}


class Answer:
    def __init__(
        self,
        body: Any = None,
        events: list[SSE] | None = None,
        error_event: Callable[[], list[SSE]] | None = None,
    ) -> None:
        self.body = body
        self.events = events
        self.error_event = error_event


# --------------------------------------------------------------------------------------
# OpenAI chat completions.
# --------------------------------------------------------------------------------------


def _openai_usage(prompt: int, completion: int, cached: int, reasoning: int) -> dict:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _fake_speech(text: str) -> bytes:
    """A WAV header and 16-bit silence, 40 ms per character of `text`."""
    samples = 24_000 * len(text) // 25
    data = bytes(2 * samples)
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, 24_000, 48_000, 2, 16) + b"data"
    return header + struct.pack("<I", len(data)) + data


def _reasoning_tokens(trig: Triggers) -> int:
    if trig.reasoning_tokens is not None:
        return max(0, trig.reasoning_tokens)
    return DEFAULT_REASONING_TOKENS if _REASONING_MODEL.match(trig.base_model) else 0


def openai_chat(body: dict, trig: Triggers) -> Answer:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty array.", "messages")
    texts: list[str] = []
    for msg in messages:
        if not isinstance(msg, dict):
            raise BadRequest("Each message must be an object.", "messages")
        texts.extend(_parts_text(msg.get("content")))
        for call in msg.get("tool_calls") or []:
            fn = (call.get("function") or {}) if isinstance(call, dict) else {}
            texts.extend([str(fn.get("name", "")), str(fn.get("arguments", ""))])
    last = messages[-1]
    last_role = last.get("role")
    last_text = " ".join(_parts_text(last.get("content")))
    n_prompt = prompt_tokens(texts)

    tools = _tool_defs_openai_chat(body.get("tools"))
    choice = body.get("tool_choice")
    forced = None
    if isinstance(choice, dict):
        forced = (choice.get("function") or {}).get("name")
    tool = _pick_tool(
        tools,
        forced,
        choice == "required",
        choice == "none",
        last_role == "user",
        last_text,
        trig.force_tool,
    )

    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    max_tokens = max_tokens if isinstance(max_tokens, int) else None
    reply = reply_for(last_text, tool_result=last_role == "tool")
    fmt = body.get("response_format") or {}
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema") or {}
        reply = _compact(_example_from_schema(schema, _hint_word(last_text)))
    elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
        reply = _compact({"reply": reply})

    call: dict | None = None
    if tool is not None:
        args = _compact(_example_from_schema(tool[1], _hint_word(last_text)))
        visible = count_tokens(tool[0] + args)
        if max_tokens is None or visible <= max_tokens:
            call = {
                "id": "call_" + _rand(_ALNUM, 24),
                "type": "function",
                "function": {"name": tool[0], "arguments": args},
            }
    if call is not None:
        text, finish = None, "tool_calls"
    else:
        text, reason, _ = _apply_limits(reply, max_tokens, _stops(body.get("stop")))
        finish = "length" if reason == "max_tokens" else "stop"
        visible = count_tokens(text)

    n = body.get("n") if isinstance(body.get("n"), int) else 1
    n = min(max(n, 1), 128)
    reasoning = _reasoning_tokens(trig)
    # Spoken answers (`modalities: ["text", "audio"]`): the reply is the
    # audio's transcript, and the audio costs tokens of its own.
    audio = call is None and "audio" in (body.get("modalities") or [])
    audio_id = "audio_" + _hex(32)
    speech = _fake_speech(text or "") if audio else b""
    audio_tokens = len(speech) // 100 * n
    completion = (visible + reasoning) * n + audio_tokens
    cached = min(max(trig.cached_tokens or 0, 0), n_prompt)
    usage = _openai_usage(n_prompt, completion, cached, reasoning * n)
    usage["completion_tokens_details"]["audio_tokens"] = audio_tokens

    cid = "chatcmpl-" + _rand(_ALNUM, 29)
    created = int(time.time())
    model = dated_model(trig.base_model, "openai")
    fingerprint = "fp_" + _hex(10)

    if not body.get("stream"):
        choices = []
        for i in range(n):
            message: dict[str, Any] = {
                "role": "assistant",
                "content": text,
                "refusal": None,
                "annotations": [],
            }
            if call is not None:
                message["tool_calls"] = [call]
            if audio:
                message["content"] = None
                message["audio"] = {
                    "id": audio_id,
                    "data": base64.b64encode(speech).decode("ascii"),
                    "expires_at": created + 3600,
                    "transcript": text,
                }
            choices.append(
                {"index": i, "message": message, "logprobs": None, "finish_reason": finish}
            )
        return Answer(
            body={
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": choices,
                "usage": usage,
                "service_tier": "default",
                "system_fingerprint": fingerprint,
            }
        )

    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

    def chunk(choices: list[dict], usage_value: Any = None) -> dict:
        out = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": fingerprint,
            "choices": choices,
        }
        if include_usage:
            out["usage"] = usage_value
        return out

    def choice_events(i: int) -> list[SSE]:
        def delta(d: dict, finish_reason: str | None = None) -> dict:
            return chunk(
                [{"index": i, "delta": d, "logprobs": None, "finish_reason": finish_reason}]
            )

        if call is not None:
            fn = call["function"]
            events = [
                SSE(
                    delta(
                        {
                            "role": "assistant",
                            "content": None,
                            "refusal": None,
                            "tool_calls": [
                                {
                                    "index": 0,
                                    "id": call["id"],
                                    "type": "function",
                                    "function": {"name": fn["name"], "arguments": ""},
                                }
                            ],
                        }
                    )
                )
            ]
            for piece in _split_fixed(fn["arguments"], ARGUMENT_DELTA_CHARS):
                events.append(
                    SSE(
                        delta({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}),
                        delta=True,
                    )
                )
        elif audio:
            # The transcript and the audio arrive in pieces of their own.
            events = [SSE(delta({"role": "assistant", "content": None, "refusal": None}))]
            for piece in _split_text(text or ""):
                events.append(SSE(delta({"audio": {"id": audio_id, "transcript": piece}}), delta=True))
            for k in range(0, len(speech), 300):
                data = base64.b64encode(speech[k : k + 300]).decode("ascii")
                events.append(SSE(delta({"audio": {"id": audio_id, "data": data}}), delta=True))
            events.append(SSE(delta({"audio": {"id": audio_id, "expires_at": created + 3600}})))
        else:
            events = [SSE(delta({"role": "assistant", "content": "", "refusal": None}))]
            for piece in _split_text(text or ""):
                events.append(SSE(delta({"content": piece}), delta=True))
        events.append(SSE(delta({}, finish)))
        return events

    per_choice = [choice_events(i) for i in range(n)]
    events = [e for group in zip_longest(*per_choice) for e in group if e is not None]
    if include_usage:
        events.append(SSE(chunk([], usage)))
    events.append(SSE("[DONE]"))

    def error_events() -> list[SSE]:
        return [SSE(openai_error_body(500, "The server had an error while streaming."))]

    return Answer(events=events, error_event=error_events)


# --------------------------------------------------------------------------------------
# OpenAI responses.
# --------------------------------------------------------------------------------------


def openai_responses(body: dict, trig: Triggers) -> Answer:
    inp = body.get("input")
    texts: list[str] = []
    if isinstance(body.get("instructions"), str):
        texts.append(body["instructions"])
    last_text, last_is_user, last_is_tool = "", False, False
    if isinstance(inp, str):
        texts.append(inp)
        last_text, last_is_user = inp, True
    elif isinstance(inp, list) and inp:
        for item in inp:
            if not isinstance(item, dict):
                continue
            kind = item.get("type", "message")
            if kind == "message":
                texts.extend(_parts_text(item.get("content")))
            elif kind == "function_call":
                texts.extend([str(item.get("name", "")), str(item.get("arguments", ""))])
            elif kind == "function_call_output":
                texts.extend(_parts_text(item.get("output", "")))
        last = inp[-1] if isinstance(inp[-1], dict) else {}
        kind = last.get("type", "message")
        if kind == "function_call_output":
            last_text, last_is_tool = " ".join(_parts_text(last.get("output", ""))), True
        elif kind == "message":
            last_text = " ".join(_parts_text(last.get("content")))
            last_is_user = last.get("role") == "user"
    else:
        raise BadRequest("'input' must be a string or a non-empty array.", "input")
    n_prompt = prompt_tokens(texts)

    tools = _tool_defs_flat(body.get("tools"), "parameters")
    choice = body.get("tool_choice")
    forced = choice.get("name") if isinstance(choice, dict) else None
    tool = _pick_tool(
        tools,
        forced,
        choice == "required",
        choice == "none",
        last_is_user,
        last_text,
        trig.force_tool,
    )

    max_tokens = body.get("max_output_tokens")
    max_tokens = max_tokens if isinstance(max_tokens, int) else None
    reply = reply_for(last_text, tool_result=last_is_tool)
    fmt = (body.get("text") or {}).get("format") if isinstance(body.get("text"), dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        reply = _compact(_example_from_schema(fmt.get("schema") or {}, _hint_word(last_text)))
    elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
        reply = _compact({"reply": reply})

    reasoning = _reasoning_tokens(trig)
    output: list[dict] = []
    if reasoning:
        output.append({"id": "rs_" + _hex(48), "type": "reasoning", "summary": []})
    if tool is None and last_is_user and _server_web_search(body.get("tools"), ("web_search",)):
        # OpenAI runs its web search itself: one item, the call and its status.
        output.append(
            {
                "id": "ws_" + _hex(48),
                "type": "web_search_call",
                "status": "completed",
                "action": {"type": "search", "query": last_text},
            }
        )
    incomplete = None
    call_item = None
    if tool is not None:
        args = _compact(_example_from_schema(tool[1], _hint_word(last_text)))
        visible = count_tokens(tool[0] + args)
        if max_tokens is None or visible <= max_tokens:
            call_item = {
                "id": "fc_" + _hex(48),
                "type": "function_call",
                "status": "completed",
                "arguments": args,
                "call_id": "call_" + _rand(_ALNUM, 24),
                "name": tool[0],
            }
            output.append(call_item)
    text = ""
    if call_item is None:
        text, reason, _ = _apply_limits(reply, max_tokens, [])
        visible = count_tokens(text)
        if reason == "max_tokens":
            incomplete = "max_output_tokens"
        output.append(
            {
                "id": "msg_" + _hex(48),
                "type": "message",
                "status": "incomplete" if incomplete else "completed",
                "role": "assistant",
                "content": [
                    {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
                ],
            }
        )
    cached = min(max(trig.cached_tokens or 0, 0), n_prompt)
    usage = {
        "input_tokens": n_prompt,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": visible + reasoning,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": n_prompt + visible + reasoning,
    }
    rid = "resp_" + _hex(48)
    created = int(time.time())
    model = dated_model(trig.base_model, "openai")
    status = "incomplete" if incomplete else "completed"

    def response(state: str, out: list[dict], use: Any, error: Any = None) -> dict:
        return {
            "id": rid,
            "object": "response",
            "created_at": created,
            "status": state,
            "background": False,
            "error": error,
            "incomplete_details": {"reason": incomplete}
            if incomplete and state == status
            else None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "model": model,
            "output": out,
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"),
            "reasoning": {"effort": None, "summary": None},
            "service_tier": "default",
            "store": body.get("store", True),
            "temperature": body.get("temperature", 1.0),
            "text": body.get("text") or {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "top_p": body.get("top_p", 1.0),
            "truncation": body.get("truncation", "disabled"),
            "usage": use,
            "user": body.get("user"),
            "metadata": body.get("metadata") or {},
        }

    if not body.get("stream"):
        return Answer(body=response(status, output, usage))

    seq = [0]

    def ev(kind: str, delta: bool = False, **fields: Any) -> SSE:
        data = {"type": kind, "sequence_number": seq[0], **_rename_delta(fields)}
        seq[0] += 1
        return SSE(data, event=kind, delta=delta)

    events = [
        ev("response.created", response=response("in_progress", [], None)),
        ev("response.in_progress", response=response("in_progress", [], None)),
    ]
    for index, item in enumerate(output):
        if item["type"] in ("reasoning", "web_search_call"):
            events.append(ev("response.output_item.added", output_index=index, item=item))
            events.append(ev("response.output_item.done", output_index=index, item=item))
        elif item["type"] == "function_call":
            events.append(
                ev(
                    "response.output_item.added",
                    output_index=index,
                    item={**item, "status": "in_progress", "arguments": ""},
                )
            )
            for piece in _split_fixed(item["arguments"], ARGUMENT_DELTA_CHARS):
                events.append(
                    ev(
                        "response.function_call_arguments.delta",
                        delta=True,
                        item_id=item["id"],
                        output_index=index,
                        delta_=piece,
                    )
                )
            events.append(
                ev(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    output_index=index,
                    name=item["name"],
                    arguments=item["arguments"],
                )
            )
            events.append(ev("response.output_item.done", output_index=index, item=item))
        else:
            part = item["content"][0]
            events.append(
                ev(
                    "response.output_item.added",
                    output_index=index,
                    item={**item, "status": "in_progress", "content": []},
                )
            )
            events.append(
                ev(
                    "response.content_part.added",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    part={**part, "text": ""},
                )
            )
            for piece in _split_text(part["text"]):
                events.append(
                    ev(
                        "response.output_text.delta",
                        delta=True,
                        item_id=item["id"],
                        output_index=index,
                        content_index=0,
                        delta_=piece,
                        logprobs=[],
                    )
                )
            events.append(
                ev(
                    "response.output_text.done",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    text=part["text"],
                    logprobs=[],
                )
            )
            events.append(
                ev(
                    "response.content_part.done",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    part=part,
                )
            )
            events.append(ev("response.output_item.done", output_index=index, item=item))
    final = "response.incomplete" if incomplete else "response.completed"
    events.append(ev(final, response=response(status, output, usage)))

    def error_events() -> list[SSE]:
        err = {"code": "server_error", "message": "The server had an error while streaming."}
        return [
            ev("error", param=None, **err),
            ev("response.failed", response=response("failed", [], None, error=err)),
        ]

    return Answer(events=events, error_event=error_events)


def openai_responses_compact(body: dict) -> Answer:
    """`/responses/compact`: the conversation's user messages kept as they
    are, then one opaque compaction item standing for everything else."""
    inp = body.get("input")
    if isinstance(inp, str):
        inp = [{"type": "message", "role": "user", "content": inp}]
    if not isinstance(inp, list) or not inp:
        raise BadRequest("'input' must be a string or a non-empty array.", "input")
    texts = [body["instructions"]] if isinstance(body.get("instructions"), str) else []
    kept: list[dict] = []
    for item in inp:
        if not isinstance(item, dict) or item.get("type", "message") != "message":
            continue
        parts = _parts_text(item.get("content"))
        texts.extend(parts)
        if item.get("role") == "user":
            content = [{"type": "input_text", "text": t} for t in parts]
            kept.append({"id": "msg_" + _hex(48), "type": "message", "status": "completed", "role": "user", "content": content})
    n_prompt = prompt_tokens(texts)
    summary = max(1, n_prompt // 10)
    compaction = {"id": "cmp_" + _hex(48), "type": "compaction", "encrypted_content": "gAAAAB" + _rand(_ALNUM, 64)}
    return Answer(
        body={
            "id": "resp_" + _hex(48),
            "created_at": int(time.time()),
            "object": "response.compaction",
            "output": [*kept, compaction],
            "usage": {
                "input_tokens": n_prompt,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": summary,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": n_prompt + summary,
            },
        }
    )


# --------------------------------------------------------------------------------------
# OpenAI embeddings.
# --------------------------------------------------------------------------------------

_EMBEDDING_DIMS = {"text-embedding-3-large": 3072}


def _vector(text: str, dims: int) -> list[float]:
    raw = hashlib.shake_256(text.encode("utf-8")).digest(dims * 2)
    values = [(v / 32767.5) - 1.0 for v in struct.unpack(f"<{dims}H", raw)]
    norm = sum(v * v for v in values) ** 0.5 or 1.0
    return [v / norm for v in values]


def openai_embeddings(body: dict, trig: Triggers) -> Answer:
    inp = body.get("input")
    if isinstance(inp, str) or (isinstance(inp, list) and inp and isinstance(inp[0], int)):
        inputs = [inp]
    elif isinstance(inp, list) and inp:
        inputs = inp
    else:
        raise BadRequest("'input' must be a string, an array of strings or token arrays.", "input")
    dims = body.get("dimensions")
    if not isinstance(dims, int) or dims <= 0:
        dims = _EMBEDDING_DIMS.get(trig.base_model, 1536)
    as_base64 = body.get("encoding_format") == "base64"
    data, used = [], 0
    for index, item in enumerate(inputs):
        if isinstance(item, str):
            key, used = item, used + count_tokens(item)
        elif isinstance(item, list):
            key, used = _compact(item), used + len(item)
        else:
            raise BadRequest("Invalid input item.", "input")
        vec = _vector(key, dims)
        value: Any = vec
        if as_base64:
            value = base64.b64encode(struct.pack(f"<{dims}f", *vec)).decode("ascii")
        data.append({"object": "embedding", "index": index, "embedding": value})
    return Answer(
        body={
            "object": "list",
            "data": data,
            "model": trig.base_model,
            "usage": {"prompt_tokens": used, "total_tokens": used},
        }
    )


# --------------------------------------------------------------------------------------
# Anthropic messages.
# --------------------------------------------------------------------------------------


def _anthropic_segments(body: dict) -> list[tuple[list[str], bool]]:
    """(texts, has cache_control) for the system prompt and every content block, in order."""
    segments: list[tuple[list[str], bool]] = []
    system = body.get("system")
    if isinstance(system, str):
        segments.append(([system], False))
    elif isinstance(system, list):
        for block in system:
            if isinstance(block, dict):
                segments.append((_block_text(block), bool(block.get("cache_control"))))
    for msg in body.get("messages") or []:
        content = msg.get("content") if isinstance(msg, dict) else None
        if isinstance(content, str):
            segments.append(([content], False))
        elif isinstance(content, list):
            for block in content:
                if isinstance(block, dict):
                    segments.append((_block_text(block), bool(block.get("cache_control"))))
    return segments


class CacheBook:
    """Prompt prefixes marked with cache_control: first sighting writes, later ones read."""

    def __init__(self) -> None:
        self._seen: set = set()
        self._lock = threading.Lock()

    def touch(self, key: str) -> bool:
        with self._lock:
            hit = key in self._seen
            self._seen.add(key)
            return hit

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


_AZURE_DEPLOYMENT = re.compile(r"^/openai/deployments/([^/]+)(/.*)$")
_VERTEX_MODEL = re.compile(
    r"^/projects/[^/]+/locations/[^/]+/publishers/anthropic/models/([^/:]+):(rawPredict|streamRawPredict)$"
)
_BEDROCK_MODEL = re.compile(r"^/model/([^/]+)/(invoke|invoke-with-response-stream)$")


class Platform:
    """What a cloud platform's path says: the model it names (the body then
    has none), whether it asks for a stream, and the stream's framing."""

    def __init__(self, model: str | None = None, stream: bool | None = None, eventstream: bool = False) -> None:
        self.model = model
        self.stream = stream
        self.eventstream = eventstream

    def apply(self, body: Any) -> None:
        if not isinstance(body, dict):
            return
        if self.model is not None:
            body.setdefault("model", self.model)
        if self.stream:
            body["stream"] = True


def _platform_route(route: str) -> tuple[str, Platform]:
    """Cloud platforms' paths as the provider's own route:
    - Azure OpenAI: `/openai/deployments/{name}/chat/completions` (the
      deployment is the model when the body names none) and
      `/openai/v1/chat/completions` (also Groq's base path);
    - Vertex AI: `/projects/{p}/locations/{l}/publishers/anthropic/models/{model}:rawPredict`
      (`:streamRawPredict` streams SSE);
    - Bedrock: `/model/{id}/invoke` (`/invoke-with-response-stream` streams
      AWS event-stream frames, see `_event_stream_message`)."""
    m = _AZURE_DEPLOYMENT.match(route)
    if m:
        return m.group(2), Platform(model=m.group(1))
    if route.startswith("/openai/v1/"):
        return route[len("/openai/v1") :], Platform()
    m = _VERTEX_MODEL.match(route)
    if m:
        return "/messages", Platform(model=m.group(1))
    m = _BEDROCK_MODEL.match(route)
    if m:
        streamed = m.group(2) == "invoke-with-response-stream"
        return "/messages", Platform(model=unquote(m.group(1)), stream=streamed, eventstream=streamed)
    return route, Platform()


def _event_stream_message(event: dict) -> bytes:
    """One AWS event-stream message carrying `event` as Bedrock does:
    string headers, then `{"bytes": base64(event JSON)}`, each part
    checksummed with CRC32 (`application/vnd.amazon.eventstream`)."""
    headers = b""
    for name, value in ((":event-type", "chunk"), (":content-type", "application/json"), (":message-type", "event")):
        headers += bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(value)) + value.encode()
    payload = json.dumps({"bytes": base64.b64encode(_compact(event).encode()).decode(), "p": "abcdefgh"}).encode()
    total = 16 + len(headers) + len(payload)
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + headers + payload
    return message + struct.pack(">I", zlib.crc32(message))


def _anthropic_output_schema(body: dict) -> Any:
    """The JSON schema of a structured-output request (`output_config.format`,
    or the earlier beta `output_format`), or None."""
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else body.get("output_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return fmt.get("schema") or {}
    return None


def anthropic_messages(body: dict, trig: Triggers, cache: CacheBook) -> Answer:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages: Field required")
    if not isinstance(body.get("max_tokens"), int):
        raise BadRequest("max_tokens: Field required")
    max_tokens = body["max_tokens"]
    segments = _anthropic_segments(body)
    texts = [t for seg, _ in segments for t in seg]
    n_prompt = prompt_tokens(texts)

    cache_read = cache_write = 0
    marked = [i for i, (_, cc) in enumerate(segments) if cc]
    if marked:
        prefix = "".join(t for seg, _ in segments[: marked[-1] + 1] for t in seg)
        key = hashlib.sha256((trig.base_model + "\0" + prefix).encode("utf-8")).hexdigest()
        if cache.touch(key):
            cache_read = count_tokens(prefix)
        else:
            cache_write = count_tokens(prefix)
    if trig.cache_read is not None or trig.cache_write is not None:
        cache_read, cache_write = max(trig.cache_read or 0, 0), max(trig.cache_write or 0, 0)
    uncached = max(0, n_prompt - cache_read - cache_write)

    last = messages[-1] if isinstance(messages[-1], dict) else {}
    content = last.get("content")
    results = (
        [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]
        if isinstance(content, list)
        else []
    )
    if results:
        last_text = " ".join(_parts_text(results[-1].get("content", "")))
    else:
        last_text = " ".join(_parts_text(content))
    last_is_user = last.get("role") == "user" and not results

    tools = _tool_defs_flat(body.get("tools"), "input_schema")
    choice = body.get("tool_choice") if isinstance(body.get("tool_choice"), dict) else {}
    tool = _pick_tool(
        tools,
        choice.get("name") if choice.get("type") == "tool" else None,
        choice.get("type") == "any",
        choice.get("type") == "none",
        last_is_user,
        last_text,
        trig.force_tool,
    )

    blocks: list[dict] = []
    spent = 0
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        thought = f"The user wrote {len(last_text)} characters. A short answer will do."
        blocks.append(
            {
                "type": "thinking",
                "thinking": thought,
                "signature": base64.b64encode(secrets.token_bytes(48)).decode("ascii"),
            }
        )
        spent += count_tokens(thought)

    stop_reason, stop_sequence = "end_turn", None
    searches = 0
    if tool is None and last_is_user and _server_web_search(body.get("tools"), ("web_search_",)):
        # Anthropic runs its web search itself: the call and its results come
        # back as blocks before the answer.
        search_id = "srvtoolu_01" + _rand(_ALNUM, 22)
        blocks.append({"type": "server_tool_use", "id": search_id, "name": "web_search", "input": {"query": last_text}})
        blocks.append(
            {
                "type": "web_search_tool_result",
                "tool_use_id": search_id,
                "content": [
                    {
                        "type": "web_search_result",
                        "url": url,
                        "title": title,
                        "encrypted_content": "Eq" + _rand(_ALNUM, 40),
                        "page_age": None,
                    }
                    for url, title in _search_results(last_text)
                ],
            }
        )
        spent += count_tokens(last_text)
        searches = 1
    use_block = None
    if tool is not None:
        preamble = f"I'll call the {tool[0]} tool."
        tool_input = _example_from_schema(tool[1], _hint_word(last_text))
        need = count_tokens(preamble) + count_tokens(tool[0] + _compact(tool_input))
        if spent + need <= max_tokens:
            blocks.append({"type": "text", "text": preamble})
            use_block = {
                "type": "tool_use",
                "id": "toolu_01" + _rand(_ALNUM, 22),
                "name": tool[0],
                "input": tool_input,
            }
            blocks.append(use_block)
            spent += need
            stop_reason = "tool_use"
    if use_block is None:
        reply = reply_for(last_text, tool_result=bool(results))
        schema = _anthropic_output_schema(body)
        if schema is not None:
            reply = _compact(_example_from_schema(schema, _hint_word(last_text)))
        text, reason, stop_sequence = _apply_limits(
            reply,
            max(0, max_tokens - spent),
            _stops(body.get("stop_sequences")),
        )
        stop_reason = {"max_tokens": "max_tokens", "stop_sequence": "stop_sequence"}.get(
            reason, "end_turn"
        )
        blocks.append({"type": "text", "text": text})
        spent += count_tokens(text)

    def usage(output_tokens: int) -> dict:
        return {
            "input_tokens": uncached,
            "cache_creation_input_tokens": cache_write,
            "cache_read_input_tokens": cache_read,
            "output_tokens": output_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": cache_write,
                "ephemeral_1h_input_tokens": 0,
            },
            "server_tool_use": {"web_search_requests": searches},
            "service_tier": "standard",
        }

    message = {
        "id": "msg_01" + _rand(_ALNUM, 22),
        "type": "message",
        "role": "assistant",
        "model": dated_model(trig.base_model, "anthropic"),
        "content": blocks,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage(spent),
    }
    if not body.get("stream"):
        return Answer(body=message)

    def ev(kind: str, delta: bool = False, **fields: Any) -> SSE:
        return SSE({"type": kind, **_rename_delta(fields)}, event=kind, delta=delta)

    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage(1),
    }
    events = [ev("message_start", message=start)]
    for index, block in enumerate(blocks):
        if block["type"] == "text":
            events.append(
                ev("content_block_start", index=index, content_block={"type": "text", "text": ""})
            )
            if index == 0:
                events.append(ev("ping"))
            for piece in _split_text(block["text"]):
                events.append(
                    ev(
                        "content_block_delta",
                        delta=True,
                        index=index,
                        delta_={"type": "text_delta", "text": piece},
                    )
                )
        elif block["type"] == "thinking":
            events.append(
                ev(
                    "content_block_start",
                    index=index,
                    content_block={"type": "thinking", "thinking": "", "signature": ""},
                )
            )
            if index == 0:
                events.append(ev("ping"))
            for piece in _split_text(block["thinking"]):
                events.append(
                    ev(
                        "content_block_delta",
                        delta=True,
                        index=index,
                        delta_={"type": "thinking_delta", "thinking": piece},
                    )
                )
            events.append(
                ev(
                    "content_block_delta",
                    index=index,
                    delta_={"type": "signature_delta", "signature": block["signature"]},
                )
            )
        elif block["type"] == "web_search_tool_result":
            events.append(ev("content_block_start", index=index, content_block=block))
        else:
            events.append(
                ev("content_block_start", index=index, content_block={**block, "input": {}})
            )
            pieces = [""] + _split_fixed(_compact(block["input"]), ARGUMENT_DELTA_CHARS)
            for piece in pieces:
                events.append(
                    ev(
                        "content_block_delta",
                        delta=True,
                        index=index,
                        delta_={"type": "input_json_delta", "partial_json": piece},
                    )
                )
        events.append(ev("content_block_stop", index=index))
    final_usage = usage(spent)
    final_usage.pop("cache_creation")
    final_usage.pop("service_tier")
    events.append(
        ev(
            "message_delta",
            delta_={"stop_reason": stop_reason, "stop_sequence": stop_sequence},
            usage=final_usage,
        )
    )
    events.append(ev("message_stop"))

    def error_events() -> list[SSE]:
        return [ev("error", error={"type": "overloaded_error", "message": "Overloaded"})]

    return Answer(events=events, error_event=error_events)


def anthropic_count_tokens(body: dict) -> dict:
    texts = [t for seg, _ in _anthropic_segments(body) for t in seg]
    return {"input_tokens": prompt_tokens(texts)}


# --------------------------------------------------------------------------------------
# HTTP layer.
# --------------------------------------------------------------------------------------


class FakeLLMServer(ThreadingHTTPServer):
    """ThreadingHTTPServer plus the recorded requests and the Anthropic prompt-cache book."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, port: int = 0, verbose: bool = False) -> None:
        self.verbose = verbose
        self.stop_event = threading.Event()
        self.cache = CacheBook()
        self._records: list[dict] = []
        self._records_lock = threading.Lock()
        self._conns: set = set()
        self._conns_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        super().__init__((HOST, port), FakeLLMHandler)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer (a stream closed early or
        # abandoned) is a case the tests make on purpose, not a server fault.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def record(self, entry: dict) -> None:
        with self._records_lock:
            entry["seq"] = len(self._records)
            self._records.append(entry)
            if len(self._records) > MAX_RECORDED_REQUESTS:
                del self._records[0]

    def records(self) -> list[dict]:
        with self._records_lock:
            return list(self._records)

    def reset(self) -> None:
        with self._records_lock:
            self._records.clear()
        self.cache.clear()

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conns_lock:
            (self._conns.add if add else self._conns.discard)(conn)

    def close(self) -> None:
        """Stop serving, wake delayed handlers and drop open keep-alive connections."""
        self.stop_event.set()
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.server_close()


class _Abort(Exception):
    """Drop the connection without finishing the response (mid-stream failure)."""


class FakeLLMHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeLLMServer

    def version_string(self) -> str:
        return "fake-llm/1"

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.verbose:
            sys.stderr.write("fake-llm: " + (format % args) + "\n")

    # -- plumbing ------------------------------------------------------------------

    def _headers_lower(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in self.headers.items():
            key = key.lower()
            out[key] = f"{out[key]}, {value}" if key in out else value
        return out

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
                if len(data) > MAX_BODY_BYTES:
                    raise BadRequest("Request body too large.")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise BadRequest("Request body too large.")
        return self.rfile.read(length) if length else b""

    def _provider(self, route: str) -> str:
        return "anthropic" if route.startswith("/messages") else "openai"

    def _common_headers(self, provider: str) -> dict[str, str]:
        if provider == "anthropic":
            return {
                "request-id": _anthropic_request_id(),
                "anthropic-organization-id": "00000000-0000-4000-8000-000000000000",
            }
        return {
            "x-request-id": "req_" + _hex(32),
            "openai-version": "2020-10-01",
            "openai-organization": "fake-org",
            "openai-processing-ms": "1",
            "x-ratelimit-limit-requests": "10000",
            "x-ratelimit-remaining-requests": "9999",
            "x-ratelimit-reset-requests": "6ms",
            "x-ratelimit-limit-tokens": "10000000",
            "x-ratelimit-remaining-tokens": "9999000",
            "x-ratelimit-reset-tokens": "0s",
        }

    def _send_json(
        self,
        status: int,
        obj: Any,
        headers: dict[str, str] | None = None,
        truncate: bool = False,
    ) -> None:
        data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if truncate:
            self.wfile.write(data[: len(data) // 2])
            raise _Abort()
        self.wfile.write(data)

    def _send_error(
        self,
        provider: str,
        status: int,
        message: str | None = None,
        param: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        headers = self._common_headers(provider)
        headers.update(extra or {})
        if provider == "anthropic":
            body = anthropic_error_body(status, message)
            headers["request-id"] = body["request_id"]
            headers["x-should-retry"] = (
                "true" if status in (408, 409, 429) or status >= 500 else "false"
            )
        else:
            body = openai_error_body(status, message, param)
        self._send_json(status, body, headers)

    def _sleep(self, ms: int) -> None:
        if ms > 0:
            self.server.stop_event.wait(ms / 1000.0)

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _stream(self, provider: str, answer: Answer, trig: Triggers, framed: bool = False) -> None:
        """`framed`: AWS event-stream frames (Bedrock) instead of SSE."""
        self.send_response(200)
        self.send_header(
            "Content-Type", "application/vnd.amazon.eventstream" if framed else "text/event-stream; charset=utf-8"
        )
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for key, value in self._common_headers(provider).items():
            self.send_header(key, value)
        self.end_headers()
        deltas = 0
        for index, event in enumerate(answer.events or []):
            if index:
                self._sleep(trig.chunk_delay_ms)
            if (
                trig.stream_error_after is not None
                and deltas >= trig.stream_error_after
                and answer.error_event is not None
            ):
                for err in answer.error_event():
                    self._write_chunk(_event_stream_message(err.data) if framed else err.encode())
                break
            self._write_chunk(_event_stream_message(event.data) if framed else event.encode())
            if event.delta:
                deltas += 1
                if trig.cut_after is not None and deltas >= trig.cut_after:
                    raise _Abort()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _abort(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- dispatch ------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        route = urlsplit(self.path).path.rstrip("/")
        if route == "/_fake/requests":
            self._send_json(200, self.server.records())
        elif route == "/_fake/health":
            self._send_json(200, {"ok": True})
        elif route in ("/v1/models", "/models"):
            self._handle_models()
        else:
            self._send_error("openai", 404, f"Invalid URL (GET {route})")

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        split = urlsplit(self.path)
        route = split.path.rstrip("/")
        if route == "/_fake/reset":
            self._read_body()
            self.server.reset()
            self._send_json(200, {"ok": True})
            return
        if route.startswith("/v1/"):
            route = route[3:]
        route, platform = _platform_route(route)
        provider = self._provider(route)
        headers = self._headers_lower()
        raw = b""
        try:
            raw = self._read_body()
            body = json.loads(raw.decode("utf-8")) if raw else {}
        except (ValueError, UnicodeDecodeError, BadRequest) as exc:
            self.server.record(
                {
                    "method": "POST",
                    "path": split.path,
                    "query": split.query,
                    "headers": headers,
                    "body": None,
                    "body_text": raw.decode("utf-8", "replace"),
                    "received_at": time.time(),
                }
            )
            self._send_error(provider, 400, f"Could not parse the JSON body: {exc}")
            return
        platform.apply(body)
        self.server.record(
            {
                "method": "POST",
                "path": split.path,
                "query": split.query,
                "headers": headers,
                "body": body,
                "received_at": time.time(),
            }
        )
        try:
            self._handle(route, provider, body, headers, platform.eventstream)
        except _Abort:
            self._abort()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # a bug here must surface as a visible 500, not a hang
            traceback.print_exc()
            try:
                self._send_error(provider, 500, f"fake-llm internal error: {exc!r}")
            except OSError:
                self.close_connection = True

    def _handle(self, route: str, provider: str, body: Any, headers: dict[str, str], framed: bool = False) -> None:
        handlers = {
            "/chat/completions",
            "/responses",
            "/responses/compact",
            "/embeddings",
            "/messages",
            "/messages/count_tokens",
        }
        if route not in handlers:
            self._send_error(provider, 404, f"Invalid URL (POST {route})")
            return
        if not isinstance(body, dict):
            self._send_error(provider, 400, "The body must be a JSON object.")
            return
        model = body.get("model")
        if not isinstance(model, str) or not model:
            self._send_error(provider, 400, "model: Field required", "model")
            return
        trig = Triggers(model, headers)
        self._sleep(trig.delay_ms)
        if trig.status is not None and trig.status >= 400:
            extra = {}
            if trig.status == 429:
                extra["retry-after"] = trig.retry_after
            self._send_error(provider, trig.status, extra=extra)
            return
        try:
            if route == "/chat/completions":
                answer = openai_chat(body, trig)
            elif route == "/responses":
                answer = openai_responses(body, trig)
            elif route == "/responses/compact":
                answer = openai_responses_compact(body)
            elif route == "/embeddings":
                answer = openai_embeddings(body, trig)
            elif route == "/messages":
                answer = anthropic_messages(body, trig, self.server.cache)
            else:
                answer = Answer(body=anthropic_count_tokens(body))
        except BadRequest as exc:
            self._send_error(provider, 400, str(exc), exc.param)
            return
        if answer.events is not None:
            self._stream(provider, answer, trig, framed)
        else:
            self._send_json(
                200,
                answer.body,
                self._common_headers(provider),
                truncate=trig.cut_after is not None,
            )

    def _handle_models(self) -> None:
        created = 1_700_000_000
        if "anthropic-version" in self._headers_lower():
            data = [
                {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                for m in ANTHROPIC_DATED.values()
            ]
            self._send_json(
                200,
                {
                    "data": data,
                    "has_more": False,
                    "first_id": data[0]["id"],
                    "last_id": data[-1]["id"],
                },
                self._common_headers("anthropic"),
            )
        else:
            data = [
                {"id": m, "object": "model", "created": created, "owned_by": "system"}
                for m in OPENAI_DATED
            ]
            self._send_json(200, {"object": "list", "data": data}, self._common_headers("openai"))


def start_server(port: int = 0, verbose: bool = False) -> tuple[FakeLLMServer, str]:
    """Serve on 127.0.0.1:`port` (0 = any free port) in a daemon thread.

    Returns (server, base_url) with base_url like "http://127.0.0.1:PORT" (no /v1: the
    OpenAI clients want base_url + "/v1", the Anthropic ones want base_url itself).
    Call server.close() to stop.
    """
    server = FakeLLMServer(port, verbose)
    thread = threading.Thread(target=server.serve_forever, name="fake-llm", daemon=True)
    server._thread = thread
    thread.start()
    return server, server.base_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Deterministic fake OpenAI/Anthropic server.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = pick free)")
    parser.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="exit when standard input is closed (ties life to the parent)",
    )
    parser.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = parser.parse_args(argv)

    server, url = start_server(args.port, args.verbose)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.exit_on_stdin_eof:

        def watch_stdin() -> None:
            try:
                while sys.stdin.buffer.read1(65536):  # type: ignore[attr-defined]
                    pass
            except (OSError, ValueError):
                pass
            stop.set()

        threading.Thread(target=watch_stdin, name="stdin-eof", daemon=True).start()

    sys.stdout.write(f"READY {url}\n")
    sys.stdout.flush()
    while not stop.wait(0.1):
        pass
    server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
