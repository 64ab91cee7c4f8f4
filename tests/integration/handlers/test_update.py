"""PATCH /api/sessions/{id}: partial updates, lifecycle stamps, and rejected requests changing nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.client import LambdaApiClient


def get(api: LambdaApiClient, session_id: int) -> dict[str, Any]:
    response = api.get(f"/api/sessions/{session_id}")
    assert response.status == 200
    data: dict[str, Any] = response.json()["data"]
    return data


def test_seed_update_example(api: LambdaApiClient) -> None:
    created = api.create(status="planned")
    response = api.patch(f"/api/sessions/{created['id']}", {"status": "in_progress", "difficulty": "medium"})
    assert response.status == 200
    assert response.header("Content-Type") == "application/json"
    data = response.json()["data"]
    assert data["status"] == "in_progress"
    assert data["difficulty"] == "medium"
    assert data["started_at"] is not None
    assert data["title"] == created["title"]
    assert data["created_at"] == created["created_at"]
    assert data["updated_at"] > created["updated_at"]
    assert get(api, created["id"]) == data


def test_only_sent_fields_change(api: LambdaApiClient) -> None:
    created = api.create(description="keep me", difficulty="hard")
    data = api.patch(f"/api/sessions/{created['id']}", {"title": "Renamed"}).json()["data"]
    unchanged = {key: value for key, value in data.items() if key not in ("title", "updated_at")}
    assert unchanged == {key: value for key, value in created.items() if key not in ("title", "updated_at")}
    assert data["title"] == "Renamed"


def test_explicit_null_clears_optional_fields(api: LambdaApiClient) -> None:
    created = api.create(description="d", difficulty="easy", started_at="2025-01-01T00:00:00Z")
    body = {"description": None, "difficulty": None, "started_at": None}
    data = api.patch(f"/api/sessions/{created['id']}", body).json()["data"]
    assert (data["description"], data["difficulty"], data["started_at"]) == (None, None, None)


def test_updated_at_changes_on_every_update_and_created_at_never(api: LambdaApiClient) -> None:
    created = api.create()
    seen = [created["updated_at"]]
    for body in ({}, {"title": "Learn Flask"}, {"difficulty": "easy"}):
        data = api.patch(f"/api/sessions/{created['id']}", body).json()["data"]
        assert data["created_at"] == created["created_at"]
        assert data["updated_at"] > seen[-1]
        seen.append(data["updated_at"])


def test_moving_into_completed_stamps_completed_at(api: LambdaApiClient) -> None:
    created = api.create(status="in_progress")
    data = api.patch(f"/api/sessions/{created['id']}", {"status": "completed"}).json()["data"]
    assert data["completed_at"] is not None
    assert data["started_at"] == created["started_at"]


def test_moving_into_in_progress_keeps_an_existing_started_at(api: LambdaApiClient) -> None:
    created = api.create(started_at="2025-01-01T00:00:00Z")
    data = api.patch(f"/api/sessions/{created['id']}", {"status": "in_progress"}).json()["data"]
    assert data["started_at"] == "2025-01-01T00:00:00.000000+00:00"


def test_a_given_timestamp_wins_over_the_stamp(api: LambdaApiClient) -> None:
    created = api.create()
    body = {"status": "in_progress", "started_at": "2025-02-03T04:05:06+01:00"}
    data = api.patch(f"/api/sessions/{created['id']}", body).json()["data"]
    assert data["started_at"] == "2025-02-03T03:05:06.000000+00:00"


def test_staying_in_a_status_does_not_stamp_again(api: LambdaApiClient) -> None:
    created = api.create(status="in_progress")
    api.patch(f"/api/sessions/{created['id']}", {"started_at": None})
    data = api.patch(f"/api/sessions/{created['id']}", {"status": "in_progress"}).json()["data"]
    assert data["started_at"] is None


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({"title": None}, ["body", "title"]),
        ({"title": ""}, ["body", "title"]),
        ({"title": " \t "}, ["body", "title"]),
        ({"status": None}, ["body", "status"]),
        ({"status": "archived"}, ["body", "status"]),
        ({"difficulty": "d" * 51}, ["body", "difficulty"]),
        ({"started_at": "not a date"}, ["body", "started_at"]),
        ({"id": 99}, ["body", "id"]),
        ({"created_at": "2025-01-01T00:00:00Z"}, ["body", "created_at"]),
        ({"unknown": 1}, ["body", "unknown"]),
        ({"completed_at": "2024-01-01T00:00:00Z"}, ["body", "completed_at"]),
    ],
)
def test_rejected_patch_gets_422_and_changes_nothing(
    api: LambdaApiClient, body: dict[str, Any], location: list[str]
) -> None:
    created = api.create(started_at="2025-01-01T00:00:00Z", description="before")
    response = api.patch(f"/api/sessions/{created['id']}", {"description": "after", **body})
    assert response.status == 422, response.body
    assert location in [detail["loc"] for detail in response.json()["error"]["details"]]
    assert get(api, created["id"]) == created


@pytest.mark.parametrize("raw", ["{", "[]", '"text"', "null", '{"title": "a", "title": "b"}'])
def test_malformed_patch_gets_400_and_changes_nothing(api: LambdaApiClient, raw: str) -> None:
    created = api.create()
    response = api.patch(f"/api/sessions/{created['id']}", raw_body=raw)
    assert response.status == 400
    assert response.json()["error"]["code"] == "bad_request"
    assert get(api, created["id"]) == created


def test_patch_of_a_missing_session_is_404(api: LambdaApiClient) -> None:
    response = api.patch("/api/sessions/424242", {"title": "x"})
    assert response.status == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_clock_behind_the_stored_updated_at_still_moves_it_forward_by_one_microsecond(
    api: LambdaApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two execution environments' clocks may disagree: updated_at never goes back, nor stands still."""
    from datetime import UTC, datetime, timedelta

    from learning_sessions.domain import service

    created = api.create()
    stored = datetime.fromisoformat(created["updated_at"])
    monkeypatch.setattr(service, "utcnow", lambda: stored - timedelta(hours=1))
    data = api.patch(f"/api/sessions/{created['id']}", {"title": "Behind"}).json()["data"]
    assert datetime.fromisoformat(data["updated_at"]) == stored + timedelta(microseconds=1)
    assert datetime.fromisoformat(data["updated_at"]).tzinfo == UTC
