"""Auto-instrumentation of LLM clients (openai, anthropic) and of the
context plumbing they need (httpx capture, thread pools, server exit)."""

from __future__ import annotations

from . import _hooks, _http, _threads, _servers, anthropic, openai


def instrument() -> None:
    """Patches every supported library, now and when imported later."""
    _hooks.instrument(_http.TARGETS + openai.TARGETS + anthropic.TARGETS + _threads.TARGETS + _servers.TARGETS)


def uninstrument() -> None:
    """Restores every original method and removes the import hook."""
    _hooks.unpatch_all()


__all__ = ["instrument", "uninstrument"]
