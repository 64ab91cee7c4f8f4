"""Idempotency-Key with date-times in the body: the fingerprint is of the JSON as validated."""

from __future__ import annotations

from tests.support.client import LambdaApiClient

BODY = {
    "title": "t",
    "status": "completed",
    "started_at": "2026-01-01T10:00:00Z",
    "completed_at": "2026-01-01T11:00:00Z",
}


def test_a_repeat_with_the_same_times_replays_the_first_answer(api: LambdaApiClient) -> None:
    first = api.post("/api/sessions/", BODY, headers={"Idempotency-Key": "times-1"})
    again = api.post("/api/sessions/", BODY, headers={"Idempotency-Key": "times-1"})
    assert (first.status, again.status, again.body) == (201, 201, first.body)


def test_a_repeat_with_other_times_is_refused(api: LambdaApiClient) -> None:
    assert api.post("/api/sessions/", BODY, headers={"Idempotency-Key": "times-2"}).status == 201
    changed = {**BODY, "completed_at": "2026-01-01T12:00:00Z"}
    refused = api.post("/api/sessions/", changed, headers={"Idempotency-Key": "times-2"})
    assert refused.status == 422
    assert refused.json()["error"]["details"][0]["type"] == "idempotency_key_reused"
