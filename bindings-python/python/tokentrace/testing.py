"""Helpers for testing your own instrumentation.

    tokentrace.init(exporter="memory")
    ... your code ...
    spans = tokentrace.testing.finished_spans()

Each span is a dict: trace_id, span_id, parent_span_id, name, kind,
start_unix_nanos, end_unix_nanos, status_code, status_message, attributes,
events, resource, dropped_attributes_count. Attributes are exactly what an
OTLP receiver would get (after redaction, limits and the GenAI mapping).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from . import _runtime as rt


def finished_spans(flush_timeout: float = 5.0) -> List[Dict[str, Any]]:
    """Flushes, then returns every span the memory exporter holds (oldest first)."""
    t = rt.tracer
    if t is None:
        return []
    if not t.is_shutdown:
        try:
            t.flush(flush_timeout)
        except Exception:
            pass
    return list(t.memory_spans())


def clear() -> None:
    """Forgets the spans held so far."""
    t = rt.tracer
    if t is not None:
        t.clear_memory()


def spans_named(name: str, spans: Optional[List[Dict[str, Any]]] = None) -> List[Dict[str, Any]]:
    return [s for s in (spans if spans is not None else finished_spans()) if s["name"] == name]


def children_of(parent: Dict[str, Any], spans: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [s for s in spans if s.get("parent_span_id") == parent["span_id"]]
