"""The lifecycle rule: status changes stamp and clear only timestamps the client did not send,
and never so that a valid request fails over a value the server set (issue 8, item 10)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.client import LambdaApiClient

FUTURE = "2030-01-01T00:00:00.000000+00:00"


def patch(api: LambdaApiClient, session: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    response = api.patch(f"/api/sessions/{session['id']}", body)
    assert response.status == 200, response.body
    data: dict[str, Any] = response.json()["data"]
    return data


def test_leaving_completed_clears_the_stamped_completed_at(api: LambdaApiClient) -> None:
    created = api.create(title="x", status="completed")
    data = patch(api, created, {"status": "in_progress"})
    assert data["completed_at"] is None
    assert data["started_at"] is not None


def test_completed_then_planned_then_in_progress_leaves_completed_at_empty(api: LambdaApiClient) -> None:
    created = api.create(status="in_progress")
    completed = patch(api, created, {"status": "completed"})
    assert completed["completed_at"] is not None
    planned = patch(api, created, {"status": "planned"})
    assert planned["started_at"] is None
    assert planned["completed_at"] is None
    restarted = patch(api, created, {"status": "in_progress"})
    assert restarted["completed_at"] is None
    assert restarted["started_at"] is not None


def test_completing_after_a_future_start_stamps_the_start(api: LambdaApiClient) -> None:
    created = api.create(started_at="2030-01-01T00:00:00Z", status="in_progress")
    data = patch(api, created, {"status": "completed"})
    assert data["completed_at"] == data["started_at"] == FUTURE


def test_creating_completed_after_a_future_start_stamps_the_start(api: LambdaApiClient) -> None:
    data = api.create(started_at="2030-01-01T00:00:00Z", status="completed")
    assert data["completed_at"] == FUTURE


def test_starting_before_a_past_completion_stamps_the_completion(api: LambdaApiClient) -> None:
    data = api.create(completed_at="2001-01-01T00:00:00Z", status="in_progress")
    assert data["started_at"] == data["completed_at"] == "2001-01-01T00:00:00.000000+00:00"


def test_timestamps_the_client_sends_are_kept_whatever_the_status(api: LambdaApiClient) -> None:
    created = api.create(status="completed", started_at="2025-01-01T00:00:00Z")
    body = {"status": "planned", "started_at": "2025-01-02T00:00:00Z", "completed_at": "2025-01-03T00:00:00Z"}
    data = patch(api, created, body)
    assert data["started_at"] == "2025-01-02T00:00:00.000000+00:00"
    assert data["completed_at"] == "2025-01-03T00:00:00.000000+00:00"


def test_back_to_planned_keeps_nothing_the_client_did_not_send(api: LambdaApiClient) -> None:
    created = api.create(status="completed", started_at="2025-01-01T00:00:00Z")
    data = patch(api, created, {"status": "planned"})
    assert data["started_at"] is None
    assert data["completed_at"] is None


def test_leaving_completed_for_in_progress_keeps_started_at(api: LambdaApiClient) -> None:
    created = api.create(status="completed", started_at="2025-01-01T00:00:00Z")
    data = patch(api, created, {"status": "in_progress"})
    assert data["started_at"] == "2025-01-01T00:00:00.000000+00:00"
    assert data["completed_at"] is None


def test_a_patch_that_keeps_the_status_changes_no_timestamp(api: LambdaApiClient) -> None:
    created = api.create(status="completed")
    data = patch(api, created, {"title": "renamed", "status": "completed"})
    assert (data["started_at"], data["completed_at"]) == (created["started_at"], created["completed_at"])


@pytest.mark.parametrize(
    "body",
    [
        {"status": "completed", "started_at": "2030-01-01T00:00:00Z", "completed_at": "2029-01-01T00:00:00Z"},
        {"started_at": "2030-01-01T00:00:00Z"},
    ],
)
def test_only_timestamps_the_client_sent_can_be_out_of_order(api: LambdaApiClient, body: dict[str, Any]) -> None:
    created = api.create(status="completed", started_at="2025-01-01T00:00:00Z", completed_at="2025-06-01T00:00:00Z")
    response = api.patch(f"/api/sessions/{created['id']}", body)
    assert response.status == 422, response.body
    assert response.json()["error"]["details"][0]["type"] == "completed_before_started"
    assert api.get(f"/api/sessions/{created['id']}").json()["data"] == created
