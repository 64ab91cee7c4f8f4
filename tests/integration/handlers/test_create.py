"""POST /api/sessions/: the contract for creating a session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.client import SESSION_FIELDS, LambdaApiClient


def parse_utc(value: str) -> datetime:
    assert value.endswith("+00:00"), value
    return datetime.fromisoformat(value)


def assert_no_sessions(api: LambdaApiClient) -> None:
    assert api.get("/api/sessions/").json()["data"] == []


def test_seed_example_creates_a_planned_session(api: LambdaApiClient) -> None:
    before = datetime.now(UTC)
    response = api.post("/api/sessions/", {"title": "Learn Flask", "status": "planned"})
    assert response.status == 201
    assert response.header("Content-Type") == "application/json"
    data = response.json()["data"]
    assert set(response.json()) == {"data"}
    assert tuple(data) == SESSION_FIELDS
    assert response.header("Location") == f"/api/sessions/{data['id']}"
    assert data["title"] == "Learn Flask"
    assert data["status"] == "planned"
    assert data["description"] is None
    assert data["difficulty"] is None
    assert data["started_at"] is None
    assert data["completed_at"] is None
    created_at = parse_utc(data["created_at"])
    assert before - timedelta(seconds=1) <= created_at <= datetime.now(UTC)
    assert parse_utc(data["updated_at"]) == created_at


def test_collection_answers_without_trailing_slash(api: LambdaApiClient) -> None:
    response = api.post("/api/sessions", {"title": "No slash"})
    assert response.status == 201
    assert api.get("/api/sessions").json()["data"][0]["title"] == "No slash"


def test_status_defaults_to_planned_and_optional_fields_are_stored(api: LambdaApiClient) -> None:
    data = api.create(description="Read the docs", difficulty="medium")
    assert data["status"] == "planned"
    assert data["description"] == "Read the docs"
    assert data["difficulty"] == "medium"
    assert api.get(f"/api/sessions/{data['id']}").json()["data"] == data


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2025-11-12T17:30:00+02:00", "2025-11-12T15:30:00.000000+00:00"),
        ("2025-11-12T15:30:00Z", "2025-11-12T15:30:00.000000+00:00"),
        ("2025-11-12T15:30:00", "2025-11-12T15:30:00.000000+00:00"),
        ("2025-11-12T10:00:00.123456-05:30", "2025-11-12T15:30:00.123456+00:00"),
    ],
)
def test_datetimes_are_stored_and_returned_in_utc(api: LambdaApiClient, given: str, stored: str) -> None:
    data = api.create(started_at=given)
    assert data["started_at"] == stored
    assert api.get(f"/api/sessions/{data['id']}").json()["data"]["started_at"] == stored


def test_title_of_200_characters_is_accepted(api: LambdaApiClient) -> None:
    assert api.create(title="x" * 200, difficulty="d" * 50)["title"] == "x" * 200


@pytest.mark.parametrize(
    ("body", "location", "error_type"),
    [
        ({}, ["body", "title"], "missing"),
        ({"title": ""}, ["body", "title"], "string_too_short"),
        ({"title": "   "}, ["body", "title"], "string_blank"),
        ({"title": "x" * 201}, ["body", "title"], "string_too_long"),
        ({"title": None}, ["body", "title"], "string_type"),
        ({"title": 42}, ["body", "title"], "string_type"),
        ({"title": "ok", "status": "done"}, ["body", "status"], "enum"),
        ({"title": "ok", "status": None}, ["body", "status"], "enum"),
        ({"title": "ok", "difficulty": "d" * 51}, ["body", "difficulty"], "string_too_long"),
        ({"title": "ok", "description": 5}, ["body", "description"], "string_type"),
        ({"title": "ok", "started_at": "yesterday"}, ["body", "started_at"], "datetime_parsing"),
        ({"title": "ok", "started_at": 1700000000}, ["body", "started_at"], "datetime_type"),
        ({"title": "ok", "completed_at": "2025-13-01T00:00:00Z"}, ["body", "completed_at"], "datetime_parsing"),
        ({"title": "ok", "started_at": "0001-01-01T00:00:00+01:00"}, ["body", "started_at"], "datetime_range"),
        ({"title": "nul\u0000byte"}, ["body", "title"], "string_nul"),
        ({"title": "ok", "colour": "red"}, ["body", "colour"], "extra_forbidden"),
        ({"title": "ok", "id": 7}, ["body", "id"], "extra_forbidden"),
        ({"title": "ok", "created_at": "2025-11-12T15:30:00Z"}, ["body", "created_at"], "extra_forbidden"),
        ({"title": "ok", "updated_at": "2025-11-12T15:30:00Z"}, ["body", "updated_at"], "extra_forbidden"),
    ],
)
def test_invalid_bodies_get_422_naming_the_field(
    api: LambdaApiClient, body: dict[str, Any], location: list[str], error_type: str
) -> None:
    response = api.post("/api/sessions/", body)
    assert response.status == 422, response.body
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert {"loc": location, "type": error_type} in [{"loc": d["loc"], "type": d["type"]} for d in error["details"]]
    assert all(detail["message"] for detail in error["details"])
    assert_no_sessions(api)


def test_every_bad_field_is_listed(api: LambdaApiClient) -> None:
    response = api.post("/api/sessions/", {"title": "", "status": "x", "difficulty": "d" * 51})
    locations = [detail["loc"] for detail in response.json()["error"]["details"]]
    assert ["body", "title"] in locations
    assert ["body", "status"] in locations
    assert ["body", "difficulty"] in locations


def test_completed_before_started_is_rejected(api: LambdaApiClient) -> None:
    response = api.post(
        "/api/sessions/",
        {"title": "ok", "started_at": "2025-11-12T15:30:00Z", "completed_at": "2025-11-12T15:29:59Z"},
    )
    assert response.status == 422
    assert response.json()["error"]["details"][0]["loc"] == ["body", "completed_at"]
    assert_no_sessions(api)


def test_completed_equal_to_started_is_accepted(api: LambdaApiClient) -> None:
    data = api.create(started_at="2025-11-12T15:30:00Z", completed_at="2025-11-12T17:30:00+02:00")
    assert data["completed_at"] == data["started_at"]


def test_creating_in_progress_stamps_started_at(api: LambdaApiClient) -> None:
    before = datetime.now(UTC)
    data = api.create(status="in_progress")
    assert parse_utc(data["started_at"]) >= before - timedelta(seconds=1)
    assert data["completed_at"] is None


def test_creating_completed_stamps_completed_at_only(api: LambdaApiClient) -> None:
    data = api.create(status="completed")
    assert data["completed_at"] is not None
    assert data["started_at"] is None


def test_given_started_at_is_kept_when_creating_in_progress(api: LambdaApiClient) -> None:
    data = api.create(status="in_progress", started_at="2025-01-01T08:00:00Z")
    assert data["started_at"] == "2025-01-01T08:00:00.000000+00:00"


def test_explicit_null_started_at_is_respected(api: LambdaApiClient) -> None:
    assert api.create(status="in_progress", started_at=None)["started_at"] is None
