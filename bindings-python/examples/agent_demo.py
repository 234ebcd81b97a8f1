"""`make demo`: a small RAG-style agent run with the real `openai` client.

retrieve -> model call that asks for a tool -> the tool -> model answer, all
inside `tokentrace.trace(...)`, written to the local store (TOKENTRACE_DIR,
default .tokentrace/). Then `python -m tokentrace view` / `stats` show it.

The model is the fake LLM server (tests/fake-llm/fake_llm.py), started here
unless FAKE_LLM_URL points at a running one.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import tokentrace

tokentrace.init(service_name="demo-agent", environment="dev")

import openai  # noqa: E402  (imported after init on purpose: order does not matter)

DOCS = {
    "weather": "Paris weather reports come from the get_weather tool.",
    "travel": "Trains from London to Paris take about 2h20.",
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]


def fake_server_url() -> tuple:
    url = os.environ.get("FAKE_LLM_URL")
    if url:
        return None, url
    path = Path(__file__).resolve().parents[2] / "tests" / "fake-llm" / "fake_llm.py"
    spec = importlib.util.spec_from_file_location("fake_llm", path)
    if spec is None or spec.loader is None:
        sys.exit(f"fake LLM server not found at {path}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.start_server(0)


@tokentrace.observe(kind="retriever")
def retrieve(question: str) -> list:
    hits = [text for key, text in DOCS.items() if key in question.lower()]
    tokentrace.set_attributes(**{"retrieval.documents": len(hits)})
    return hits


@tokentrace.observe(name="get_weather", kind="tool")
def get_weather(city: str) -> str:
    return f"Sunny, 24 C in {city}"


def answer(client: openai.OpenAI, question: str) -> str:
    with tokentrace.trace("answer_question", user_id="u-42", session_id="s-7", request_id="r-1001", feature="weather-qa"):
        context = "\n".join(retrieve(question))
        messages = [
            {"role": "system", "content": f"Answer using this context:\n{context}"},
            {"role": "user", "content": question},
        ]
        first = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)
        msg = first.choices[0].message
        messages.append(msg.model_dump(exclude_none=True))
        for call in msg.tool_calls or []:
            args = json.loads(call.function.arguments)
            messages.append({"role": "tool", "tool_call_id": call.id, "content": get_weather(**args)})
        final = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)
        return final.choices[0].message.content or ""


def main() -> None:
    server, url = fake_server_url()
    try:
        with openai.OpenAI(base_url=f"{url}/v1", api_key="sk-demo") as client:
            print(answer(client, "What's the weather in Paris?"))
    finally:
        if server is not None:
            server.close()
    tokentrace.shutdown(10)


if __name__ == "__main__":
    main()
