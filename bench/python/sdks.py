"""One tracing set-up per variant, each as its documentation says to run it in
production, exporting OTLP/HTTP protobuf to the bench's receiver, content
capture on. Each exposes the cheapest correct on/off switch so a worker can
alternate traced and untraced blocks in one process:

- tokentrace: `tokentrace.uninstrument()` / `tokentrace.instrument()`, its API.
- the peers: patched once; the switch swaps the patched
  `Completions.create` / `AsyncCompletions.create` (and Langfuse's
  `Stream.__iter__` / `AsyncStream.__aiter__` hooks) with the originals saved
  before patching, a few `setattr`s. The TracerProvider, its
  BatchSpanProcessor and export thread stay up throughout. Why not their own
  off switches: openai-v2's `uninstrument()`/`instrument()` works but costs
  ~1.5 ms per toggle (it rebuilds its handler and instruments); OpenLLMetry's
  `uninstrument()` does not unwrap (it calls
  `unwrap("openai.resources.chat.completions", "Completions.create")`, which
  looks up an attribute literally named "Completions.create" on the
  `openai.resources.chat` package), so each `instrument()` stacks one more
  wrapper and one more span per call; `langfuse.openai` patches at import and
  has no unpatch.
"""

from __future__ import annotations

import os
from typing import Any, Callable

RESOURCE = {"service.name": "tokentrace-bench"}


class Sdk:
    """No tracing at all: the baseline variant (both arms plain, an A/A run)."""

    name = "none"
    # Spans the receiver should get per traced call.
    spans_per_call = 0

    def enable(self) -> None:
        pass

    def disable(self) -> None:
        pass

    def finish(self, timeout: float) -> dict[str, Any]:
        """Delivers what the SDK holds with its normal flush/shutdown call."""
        return {}


Slot = tuple[Any, str]


def chat_slots(with_stream_hooks: bool) -> list[Slot]:
    """The class attributes a peer patches on the path the bench calls."""
    import openai
    from openai.resources.chat import completions as chat

    slots: list[Slot] = [(chat.Completions, "create"), (chat.AsyncCompletions, "create")]
    if with_stream_hooks:
        slots += [(openai.Stream, "__iter__"), (openai.AsyncStream, "__aiter__")]
    return slots


class Swap:
    """Patched vs original class attributes, captured around a patch, so an
    SDK can be switched off and on exactly (a `setattr` per slot)."""

    def __init__(self, slots: list[Slot]) -> None:
        self.slots = slots
        self.plain = [owner.__dict__[attr] for owner, attr in slots]
        self.traced: list[Any] = []

    def patched(self) -> None:
        """Call right after the SDK patched: records (and checks) its wrappers."""
        self.traced = [owner.__dict__[attr] for owner, attr in self.slots]
        unpatched = [f"{o.__name__}.{a}" for (o, a), p, t in zip(self.slots, self.plain, self.traced) if p is t]
        if unpatched:
            raise RuntimeError(f"not patched: {', '.join(unpatched)}")

    def set(self, on: bool) -> None:
        for (owner, attr), value in zip(self.slots, self.traced if on else self.plain):
            setattr(owner, attr, value)


class Tokentrace(Sdk):
    name = "tokentrace"
    spans_per_call = 1

    def __init__(self, endpoint: str) -> None:
        import tokentrace

        self.tt = tokentrace
        tokentrace.init(
            service_name=RESOURCE["service.name"],
            exporter="otlp",
            endpoint=endpoint,
            protocol="http/protobuf",
            capture_content=True,
        )

    def enable(self) -> None:
        self.tt.instrument()

    def disable(self) -> None:
        self.tt.uninstrument()

    def finish(self, timeout: float) -> dict[str, Any]:
        self.tt.flush(timeout)
        stats = self.tt.stats()
        self.tt.shutdown(timeout)
        return {"sdk_exported": stats.get("exported"), "sdk_dropped": stats.get("dropped_total")}


class _OtelSdk(Sdk):
    """TracerProvider + BatchSpanProcessor(OTLPSpanExporter), the defaults
    (queue 2,048, batch 512, delay 5 s), as the OpenTelemetry docs set it up."""

    def __init__(self, endpoint: str) -> None:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        self.provider = TracerProvider(resource=Resource.create(RESOURCE))
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
        trace.set_tracer_provider(self.provider)
        self.instrumentor = self._instrumentor()
        self.swap = Swap(chat_slots(with_stream_hooks=False))
        self.instrumentor.instrument(tracer_provider=self.provider)
        self.swap.patched()

    def _instrumentor(self) -> Any:
        raise NotImplementedError

    def enable(self) -> None:
        self.swap.set(True)

    def disable(self) -> None:
        self.swap.set(False)

    def finish(self, timeout: float) -> dict[str, Any]:
        flushed = self.provider.force_flush(int(timeout * 1000))
        self.provider.shutdown()
        return {"sdk_flushed": flushed}


class OtelOpenaiV2(_OtelSdk):
    """opentelemetry-instrumentation-openai-v2. Content on the span (as
    tokentrace records it): the latest GenAI conventions with `span_only`;
    the legacy `true` would put it in log events, which need a LoggerProvider."""

    name = "otel-openai-v2"
    spans_per_call = 1

    def _instrumentor(self) -> Any:
        os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "span_only"
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        return OpenAIInstrumentor()


class OpenLLMetry(_OtelSdk):
    """Traceloop's opentelemetry-instrumentation-openai; content as span attributes."""

    name = "openllmetry"
    spans_per_call = 1

    def _instrumentor(self) -> Any:
        os.environ["TRACELOOP_TRACE_CONTENT"] = "true"
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        return OpenAIInstrumentor()


class Langfuse(Sdk):
    """Langfuse's drop-in `langfuse.openai` wrapper over its OTel-based client
    (its own BatchSpanProcessor and OTLPSpanExporter, gzip by default), with
    `LANGFUSE_OTEL_TRACES_EXPORT_PATH` pointing the exporter at `/v1/traces`."""

    name = "langfuse"
    spans_per_call = 1

    def __init__(self, endpoint: str) -> None:
        os.environ.update(
            LANGFUSE_PUBLIC_KEY="pk-lf-bench",
            LANGFUSE_SECRET_KEY="sk-lf-bench",
            LANGFUSE_BASE_URL=endpoint,
            LANGFUSE_OTEL_TRACES_EXPORT_PATH="v1/traces",
        )
        from langfuse import Langfuse as Client

        self.client = Client()
        self.swap = Swap(chat_slots(with_stream_hooks=True))
        import langfuse.openai  # noqa: F401  (patches openai on import)

        self.swap.patched()

    def enable(self) -> None:
        self.swap.set(True)

    def disable(self) -> None:
        self.swap.set(False)

    def finish(self, timeout: float) -> dict[str, Any]:
        self.client.flush()
        self.client.shutdown()
        return {}


VARIANTS: dict[str, Callable[[str], Sdk]] = {
    "none": lambda endpoint: Sdk(),
    "tokentrace": Tokentrace,
    "otel-openai-v2": OtelOpenaiV2,
    "openllmetry": OpenLLMetry,
    "langfuse": Langfuse,
}
