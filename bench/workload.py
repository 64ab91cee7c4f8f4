"""The requests: API Gateway HTTP API (payload 2.0) events, as API Gateway builds them for each route."""

from __future__ import annotations

from typing import Any

from tools.http_api_events import http_api_event

ITEM_ROUTE = "/api/sessions/{id}"


def _expect(event: dict[str, Any], status: int) -> dict[str, Any]:
    # Read (and removed) by the worker: a response with another status is reported, not timed silently.
    event["_expect"] = status
    return event


def get_event(session_id: int | str, *, expect: int = 200) -> dict[str, Any]:
    path = f"/api/sessions/{session_id}"
    return _expect(http_api_event("GET", path, route=ITEM_ROUTE, path_parameters={"id": str(session_id)}), expect)


def list_event(*, limit: int | None = None, cursor: str | None = None, status: str | None = None) -> dict[str, Any]:
    query = {
        key: value for key, value in (("limit", limit), ("cursor", cursor), ("status", status)) if value is not None
    }
    return _expect(http_api_event("GET", "/api/sessions", query={k: str(v) for k, v in query.items()} or None), 200)


def create_body(n: int) -> dict[str, Any]:
    return {
        "title": f"Benchmark session {n}",
        "description": "Created by the benchmark: a realistic body of a few fields.",
        "status": "planned",
        "difficulty": "medium",
    }


def create_event(n: int) -> dict[str, Any]:
    return _expect(http_api_event("POST", "/api/sessions", body=create_body(n)), 201)


def patch_body(n: int) -> dict[str, Any]:
    return {"title": f"Renamed by the benchmark {n}", "status": "in_progress", "difficulty": "hard"}


def patch_event(session_id: int, n: int) -> dict[str, Any]:
    path = f"/api/sessions/{session_id}"
    event = http_api_event("PATCH", path, route=ITEM_ROUTE, path_parameters={"id": str(session_id)}, body=patch_body(n))
    return _expect(event, 200)


def delete_event(session_id: int) -> dict[str, Any]:
    path = f"/api/sessions/{session_id}"
    return _expect(http_api_event("DELETE", path, route=ITEM_ROUTE, path_parameters={"id": str(session_id)}), 204)
