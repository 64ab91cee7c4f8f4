"""Optimistic concurrency (ETag / If-Match) and Idempotency-Key on POST."""

from __future__ import annotations

import multiprocessing
from contextlib import AbstractContextManager
from typing import Any

import pytest
from sqlalchemy import URL, Engine, func, select, update

from learning_sessions.data.tables import idempotency_keys, learning_sessions
from tests.support.client import ApiResponse, LambdaApiClient
from tests.support.databases import injected_fault
from tests.support.lambda_functions import load_handlers


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
    def test_same_key_same_body_replays_the_first_response_byte_for_byte(self, api: LambdaApiClient) -> None:
        body = {"title": "Once", "status": "in_progress"}
        first = api.post("/api/sessions/", body, headers={"Idempotency-Key": "key-1"})
        second = api.post("/api/sessions/", body, headers={"Idempotency-Key": "key-1"})
        assert first.status == second.status == 201
        assert second.body == first.body
        assert second.header("Location") == first.header("Location")
        assert second.header("ETag") == first.header("ETag")
        assert count_sessions(api) == 1

    def test_replay_returns_the_first_response_even_after_an_update(self, api: LambdaApiClient) -> None:
        first = api.post("/api/sessions/", {"title": "Once"}, headers={"Idempotency-Key": "key-2"})
        api.patch(first.header("Location") or "", {"title": "Changed"})
        replay = api.post("/api/sessions/", {"title": "Once"}, headers={"Idempotency-Key": "key-2"})
        assert replay.body == first.body
        assert replay.header("ETag") == first.header("ETag")

    def test_same_key_different_body_is_422(self, api: LambdaApiClient) -> None:
        api.post("/api/sessions/", {"title": "A"}, headers={"Idempotency-Key": "key-3"})
        response = api.post("/api/sessions/", {"title": "B"}, headers={"Idempotency-Key": "key-3"})
        assert response.status == 422
        assert response.json()["error"]["details"][0]["type"] == "idempotency_key_reused"
        assert response.json()["error"]["details"][0]["loc"] == ["header", "idempotency-key"]
        assert count_sessions(api) == 1

    def test_different_keys_create_different_rows(self, api: LambdaApiClient) -> None:
        for key in ("a", "b"):
            api.post("/api/sessions/", {"title": "same"}, headers={"Idempotency-Key": key})
        assert count_sessions(api) == 2

    def test_invalid_body_with_a_key_stores_no_key(self, api: LambdaApiClient, clean_db: Engine) -> None:
        assert api.post("/api/sessions/", {"title": ""}, headers={"Idempotency-Key": "key-4"}).status == 422
        assert stored_keys(clean_db) == 0
        assert api.post("/api/sessions/", {"title": "ok"}, headers={"Idempotency-Key": "key-4"}).status == 201

    def test_overlong_key_is_422(self, api: LambdaApiClient) -> None:
        response = api.post("/api/sessions/", {"title": "x"}, headers={"Idempotency-Key": "k" * 256})
        assert response.status == 422
        assert response.json()["error"]["details"][0]["loc"] == ["header", "idempotency-key"]

    def test_an_expired_key_is_taken_over_by_a_new_session(self, api: LambdaApiClient, clean_db: Engine) -> None:
        first = api.post("/api/sessions/", {"title": "Old"}, headers={"Idempotency-Key": "key-5"})
        expire_all_keys(clean_db)
        # Expired, the key is free: even another body creates a new session rather than a 422.
        second = api.post("/api/sessions/", {"title": "New"}, headers={"Idempotency-Key": "key-5"})
        assert second.status == 201
        assert second.json()["data"]["id"] != first.json()["data"]["id"]
        assert count_sessions(api) == 2
        # The key now stands for the second session, and is remembered afresh.
        replay = api.post("/api/sessions/", {"title": "New"}, headers={"Idempotency-Key": "key-5"})
        assert replay.body == second.body
        assert count_sessions(api) == 2
        assert stored_keys(clean_db) == 1


def test_keys_are_scoped_by_owner(clean_db: Engine) -> None:
    """One owner's key never replays, blocks or refuses another owner's request."""
    from datetime import timedelta

    from learning_sessions.domain import service
    from learning_sessions.domain.schemas import SessionCreate

    def create(owner: str, title: str) -> int:
        payload = SessionCreate.model_validate({"title": title})
        created = service.create_session(
            clean_db, payload, owner=owner, idempotency_key="shared", key_lifetime=timedelta(hours=1)
        )
        return created.session_id

    alice, bob = create("alice", "mine"), create("bob", "something else")
    assert alice != bob
    assert create("alice", "mine") == alice
    assert create("bob", "something else") == bob
    assert stored_keys(clean_db) == 2


def test_the_longest_allowed_expiry_works(database_url: URL, clean_db: Engine) -> None:
    """IDEMPOTENCY_EXPIRY_SECONDS at its bound stores a key both databases can hold."""
    from learning_sessions.config.settings import MAX_IDEMPOTENCY_EXPIRY_SECONDS

    env = {
        "DATABASE_URL": database_url.render_as_string(hide_password=False),
        "IDEMPOTENCY_EXPIRY_SECONDS": str(MAX_IDEMPOTENCY_EXPIRY_SECONDS),
    }
    api = LambdaApiClient(load_handlers(env))
    first = api.post("/api/sessions/", {"title": "long"}, headers={"Idempotency-Key": "decade"})
    assert first.status == 201
    assert api.post("/api/sessions/", {"title": "long"}, headers={"Idempotency-Key": "decade"}).body == first.body


# The table that remembers keys; named once so a check against an older design can swap it.
KEY_TABLE = "idempotency_keys"


def key_writes_fail_once_the_row_exists(engine: Engine) -> AbstractContextManager[None]:
    """The database refuses any write of a key once the session's row exists, whatever the order of writes."""
    if engine.dialect.name == "postgresql":
        create = [
            "CREATE FUNCTION refuse_key() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF EXISTS (SELECT FROM learning_sessions) THEN RAISE EXCEPTION 'injected fault'; END IF; "
            "RETURN NEW; END $$",
            f"CREATE TRIGGER refuse_key BEFORE INSERT OR UPDATE ON {KEY_TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_key()",
        ]
        drop = [f"DROP TRIGGER refuse_key ON {KEY_TABLE}", "DROP FUNCTION refuse_key()"]
    else:
        create = [
            f"CREATE TRIGGER refuse_key_{event} BEFORE {event} ON {KEY_TABLE} "
            "WHEN EXISTS (SELECT 1 FROM learning_sessions) BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
            for event in ("INSERT", "UPDATE")
        ]
        drop = ["DROP TRIGGER refuse_key_INSERT", "DROP TRIGGER refuse_key_UPDATE"]
    return injected_fault(engine, create, drop)


def test_a_failed_key_write_leaves_no_row_and_the_retry_creates_one(api: LambdaApiClient, clean_db: Engine) -> None:
    """The session's row and its key commit together or not at all.

    Fails when the key is written apart from the row (as Powertools' records were, after it).
    """

    def post() -> ApiResponse:
        return api.post("/api/sessions/", {"title": "atomic"}, headers={"Idempotency-Key": "key-6"})

    with key_writes_fail_once_the_row_exists(clean_db):
        failed = post()
    assert failed.status >= 500
    assert "error" in failed.json()
    assert stored_sessions(clean_db) == 0
    retried = post()
    assert retried.status == 201
    assert post().body == retried.body
    assert (stored_sessions(clean_db), stored_keys(clean_db)) == (1, 1)


def stored_sessions(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(learning_sessions)).scalar_one())


def stored_keys(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(idempotency_keys)).scalar_one())


def expire_all_keys(engine: Engine) -> None:
    from datetime import UTC, datetime, timedelta

    with engine.begin() as conn:
        conn.execute(update(idempotency_keys).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))


_racer: LambdaApiClient | None = None


def _start_racer(env: dict[str, str]) -> None:
    global _racer
    _racer = LambdaApiClient(load_handlers(env))


def _race(key: str) -> tuple[int, str, str | None]:
    assert _racer is not None
    response = _racer.post("/api/sessions/", {"title": "raced"}, headers={"Idempotency-Key": key})
    return response.status, response.body, response.header("ETag")


def test_racing_posts_with_one_key_create_one_row(database_url: URL, api: LambdaApiClient) -> None:
    """Separate execution environments (processes) racing one key: one row, every answer the same 201.

    Postgres: the key's unique index makes the later INSERT wait for the first transaction.
    SQLite: BEGIN IMMEDIATE queues the writers, so the later one finds the key committed.
    """
    env = {"DATABASE_URL": database_url.render_as_string(hide_password=False)}
    with multiprocessing.get_context("spawn").Pool(4, initializer=_start_racer, initargs=(env,)) as pool:
        answers = pool.map(_race, ["raced"] * 12, chunksize=1)
    assert {status for status, _, _ in answers} == {201}
    assert len({(body, etag) for _, body, etag in answers}) == 1
    assert count_sessions(api) == 1
