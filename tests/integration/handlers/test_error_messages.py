"""The exact error envelope of each domain error: code, message and details are the contract, not only the status.

Mutation testing (make mutate) found every message replaceable by None without a failing test.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.client import ApiResponse, LambdaApiClient


def error_of(response: ApiResponse) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    return error


@pytest.mark.parametrize("if_match", [None, "*"])
def test_a_missing_session_names_its_id(api: LambdaApiClient, if_match: str | None) -> None:
    headers = {"If-Match": if_match} if if_match else None
    for method in ("GET", "PATCH", "DELETE"):
        body = {"title": "x"} if method == "PATCH" else None
        response = api.request(method, "/api/sessions/987654", json_body=body, headers=headers)
        assert response.status == 404
        assert error_of(response) == {
            "code": "not_found",
            "message": "Learning session 987654 does not exist",
            "details": [],
        }


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_a_stale_if_match_says_so_and_sends_the_current_etag(api: LambdaApiClient, method: str) -> None:
    session = api.create()
    path = f"/api/sessions/{session['id']}"
    body = {"title": "x"} if method == "PATCH" else None
    response = api.request(method, path, json_body=body, headers={"If-Match": f'"{session["id"]}.7"'})
    assert response.status == 412
    assert error_of(response) == {
        "code": "precondition_failed",
        "message": "If-Match does not match the session's current ETag",
        "details": [],
    }
    assert response.header("ETag") == f'"{session["id"]}.1"'


def test_completed_before_started_names_the_field_and_the_rule(api: LambdaApiClient) -> None:
    response = api.post(
        "/api/sessions/",
        {"title": "t", "started_at": "2026-01-02T00:00:00Z", "completed_at": "2026-01-01T00:00:00Z"},
    )
    assert response.status == 422
    assert error_of(response) == {
        "code": "validation_error",
        "message": "completed_at must not be earlier than started_at",
        "details": [
            {
                "loc": ["body", "completed_at"],
                "type": "completed_before_started",
                "message": "completed_at is earlier than started_at",
            }
        ],
    }
