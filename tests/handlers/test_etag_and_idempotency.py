"""Optimistic concurrency (ETag / If-Match) and Idempotency-Key on POST."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from learning_sessions.tables import idempotency_records
from tests.client import LambdaApiClient


def count_sessions(api: LambdaApiClient) -> int:
    return len(api.get("/api/sessions/", query={"limit": "100"}).json()["data"])


class TestETag:
    def test_every_session_response_carries_the_version_etag(self, api: LambdaApiClient) -> None:
        created = api.post("/api/sessions/", {"title": "t"})
        etag = created.header("ETag")
        assert etag == f'"{created.json()["data"]["id"]}.1"'
        assert api.get(f"/api/sessions/{created.json()['data']['id']}").header("ETag") == etag
        patched = api.patch(f"/api/sessions/{created.json()['data']['id']}", {"title": "u"})
        assert patched.header("ETag") == f'"{created.json()["data"]["id"]}.2"'

    @pytest.mark.parametrize("header", ['"{id}.1"', "*", '"x", "{id}.1"'])
    def test_patch_with_a_matching_if_match_applies_it(self, api: LambdaApiClient, header: str) -> None:
        session = api.create()
        if_match = header.format(id=session["id"])
        response = api.patch(f"/api/sessions/{session['id']}", {"title": "new"}, headers={"If-Match": if_match})
        assert response.status == 200
        stored = api.get(f"/api/sessions/{session['id']}")
        assert stored.json() == response.json()
        assert stored.json()["data"] == {**session, "title": "new", "updated_at": stored.json()["data"]["updated_at"]}
        assert stored.header("ETag") == f'"{session["id"]}.2"'

    @pytest.mark.parametrize("method", ["PATCH", "DELETE"])
    def test_stale_etag_gets_412_and_changes_nothing(self, api: LambdaApiClient, method: str) -> None:
        session = api.create()
        stale = api.get(f"/api/sessions/{session['id']}").header("ETag")
        assert stale is not None
        current = api.patch(f"/api/sessions/{session['id']}", {"title": "moved on"}).json()["data"]
        kwargs: dict[str, Any] = {"json_body": {"title": "lost update"}} if method == "PATCH" else {}
        response = api.request(method, f"/api/sessions/{session['id']}", headers={"If-Match": stale}, **kwargs)
        assert response.status == 412
        assert response.json()["error"]["code"] == "precondition_failed"
        assert response.header("ETag") == f'"{session["id"]}.2"'
        assert api.get(f"/api/sessions/{session['id']}").json()["data"] == current

    @pytest.mark.parametrize(
        ("header", "status"),
        [('"{id}.1"', 204), ("*", 204), ('"x", "{id}.1"', 204), ('W/"{id}.1"', 412), ('"{id}.9"', 412)],
    )
    def test_if_match_forms_on_delete(self, api: LambdaApiClient, header: str, status: int) -> None:
        session = api.create()
        response = api.delete(f"/api/sessions/{session['id']}", headers={"If-Match": header.format(id=session["id"])})
        assert response.status == status
        stored = api.get(f"/api/sessions/{session['id']}")
        if status == 204:
            assert stored.status == 404
            assert count_sessions(api) == 0
        else:
            assert stored.json()["data"] == session
            assert stored.header("ETag") == f'"{session["id"]}.1"'

    @pytest.mark.parametrize("header", ["no-quotes", "", '"a",', '"a" "b"', "**", 'W/ "a"'])
    def test_malformed_if_match_is_422(self, api: LambdaApiClient, header: str) -> None:
        session = api.create()
        response = api.patch(f"/api/sessions/{session['id']}", {"title": "x"}, headers={"If-Match": header})
        assert response.status == 422
        assert response.json()["error"]["details"][0]["loc"] == ["header", "if-match"]
        assert api.get(f"/api/sessions/{session['id']}").json()["data"] == session

    def test_if_match_on_a_missing_session_is_404(self, api: LambdaApiClient) -> None:
        other = api.create()
        assert api.delete("/api/sessions/987654", headers={"If-Match": '"987654.1"'}).status == 404
        patch = api.patch("/api/sessions/987654", {"title": "x"}, headers={"If-Match": '"987654.1"'})
        assert patch.status == 404
        assert api.get("/api/sessions/").json()["data"] == [other]


class TestIdempotencyKey:
    def test_same_key_same_body_returns_the_first_response_without_a_second_row(self, api: LambdaApiClient) -> None:
        body = {"title": "Once", "status": "in_progress"}
        first = api.post("/api/sessions/", body, headers={"Idempotency-Key": "key-1"})
        second = api.post("/api/sessions/", body, headers={"Idempotency-Key": "key-1"})
        assert first.status == second.status == 201
        assert second.json() == first.json()
        assert second.header("Location") == first.header("Location")
        assert second.header("ETag") == first.header("ETag")
        assert count_sessions(api) == 1

    def test_replay_returns_the_first_response_even_after_an_update(self, api: LambdaApiClient) -> None:
        first = api.post("/api/sessions/", {"title": "Once"}, headers={"Idempotency-Key": "key-2"})
        api.patch(first.header("Location") or "", {"title": "Changed"})
        replay = api.post("/api/sessions/", {"title": "Once"}, headers={"Idempotency-Key": "key-2"})
        assert replay.json() == first.json()

    def test_same_key_different_body_is_422(self, api: LambdaApiClient) -> None:
        api.post("/api/sessions/", {"title": "A"}, headers={"Idempotency-Key": "key-3"})
        response = api.post("/api/sessions/", {"title": "B"}, headers={"Idempotency-Key": "key-3"})
        assert response.status == 422
        assert response.json()["error"]["details"][0]["type"] == "idempotency_key_reused"
        assert count_sessions(api) == 1

    def test_different_keys_create_different_rows(self, api: LambdaApiClient) -> None:
        for key in ("a", "b"):
            api.post("/api/sessions/", {"title": "same"}, headers={"Idempotency-Key": key})
        assert count_sessions(api) == 2

    def test_invalid_body_with_a_key_stores_no_record(self, api: LambdaApiClient, clean_db: Engine) -> None:
        with clean_db.begin() as conn:
            conn.execute(idempotency_records.delete())
        assert api.post("/api/sessions/", {"title": ""}, headers={"Idempotency-Key": "key-4"}).status == 422
        with clean_db.connect() as conn:
            assert conn.execute(select(func.count()).select_from(idempotency_records)).scalar() == 0
        assert api.post("/api/sessions/", {"title": "ok"}, headers={"Idempotency-Key": "key-4"}).status == 201

    def test_overlong_key_is_422(self, api: LambdaApiClient) -> None:
        response = api.post("/api/sessions/", {"title": "x"}, headers={"Idempotency-Key": "k" * 256})
        assert response.status == 422
        assert response.json()["error"]["details"][0]["loc"] == ["header", "idempotency-key"]


def test_a_key_still_in_progress_gets_409(
    api: LambdaApiClient, other_api: LambdaApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retry that arrives while the first request runs (in another environment) must not create a second row."""
    from learning_sessions import service
    from tests.client import ApiResponse

    real_create = service.create_session
    inner: list[ApiResponse] = []

    def create_while_retried(*args: object, **kwargs: object) -> object:
        if not inner:
            inner.append(other_api.post("/api/sessions/", {"title": "slow"}, headers={"Idempotency-Key": "busy"}))
        return real_create(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "create_session", create_while_retried)
    first = api.post("/api/sessions/", {"title": "slow"}, headers={"Idempotency-Key": "busy"})
    assert first.status == 201
    assert inner[0].status == 409
    assert inner[0].json()["error"]["code"] == "conflict"
    assert inner[0].header("Retry-After") == "1"
    assert count_sessions(api) == 1
