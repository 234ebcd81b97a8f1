"""Reads back what Phoenix stored: its REST API (attributes as stored) and the
GraphQL API its web UI is built on (what a user sees). Standard library only."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any


class PhoenixApiError(RuntimeError):
    pass


def _request(url: str, body: dict[str, Any] | None = None, timeout: float = 10) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url,
        data=data,
        headers={"content-type": "application/json", "accept": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.load(r)


def project(base_url: str, name: str) -> dict[str, Any] | None:
    """The project, or None while Phoenix has not created it yet."""
    url = f"{base_url}/v1/projects/{urllib.parse.quote(name, safe='')}"
    try:
        return dict(_request(url)["data"])
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise


def spans(base_url: str, project_name: str) -> list[dict[str, Any]]:
    """All spans of a project (REST `GET /v1/projects/{name}/spans`)."""
    if project(base_url, project_name) is None:
        return []
    url = (
        f"{base_url}/v1/projects/{urllib.parse.quote(project_name, safe='')}"
        "/spans?limit=1000"
    )
    return list(_request(url)["data"])


def wait_for(
    what: str,
    fetch: Callable[[], list[dict[str, Any]]],
    count: int,
    timeout: float,
    describe_failure: Callable[[], str],
) -> list[dict[str, Any]]:
    """Polls until `fetch` returns at least `count` items (ingest is async:
    Phoenix queues spans and writes them in batches)."""
    deadline = time.monotonic() + timeout
    got: list[dict[str, Any]] = []
    while True:
        got = fetch()
        if len(got) >= count:
            # One more short wait catches extra, unexpected items.
            time.sleep(0.5)
            return fetch()
        if time.monotonic() > deadline:
            raise PhoenixApiError(
                f"{what}: {len(got)} of {count} arrived within {timeout:.0f}s\n"
                f"{describe_failure()}"
            )
        time.sleep(0.5)


# What the UI's trace view and spans table read, field for field.
UI_SPANS_QUERY = """
query ($id: ID!) {
  node(id: $id) {
    ... on Project {
      traceCount
      spans(first: 100) {
        edges { node {
          name
          spanKind
          parentId
          context { traceId spanId }
          tokenCountPrompt
          tokenCountCompletion
          cumulativeTokenCountPrompt
          cumulativeTokenCountCompletion
          input { value mimeType }
          output { value mimeType }
          costSummary { total { cost } }
        } }
      }
    }
  }
}
"""

# The Sessions view. A session belongs to the project of its first trace, so
# it is looked up by id rather than under a project.
SESSION_QUERY = """
query ($sessionId: String!) {
  getProjectSessionById(sessionId: $sessionId) {
    sessionId
    userId
    traces(first: 100) { edges { node { traceId } } }
  }
}
"""


def _graphql(base_url: str, query: str, variables: dict[str, Any]) -> Any:
    out = _request(f"{base_url}/graphql", {"query": query, "variables": variables})
    if out.get("errors"):
        raise PhoenixApiError(f"GraphQL errors: {json.dumps(out['errors'], indent=1)}")
    return out["data"]


def ui_view(base_url: str, project_id: str) -> dict[str, Any]:
    """The project as the web UI's GraphQL queries see it."""
    return dict(_graphql(base_url, UI_SPANS_QUERY, {"id": project_id})["node"])


def session_view(base_url: str, session_id: str) -> dict[str, Any] | None:
    found = _graphql(base_url, SESSION_QUERY, {"sessionId": session_id})
    session = found["getProjectSessionById"]
    return None if session is None else dict(session)
