"""Two users on one database: each sees and changes only their own sessions; the other's are 404."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from tests.support.client import SESSION_FIELDS, ApiResponse, LambdaApiClient

ALICE, BOB = "alice", "bob"


@pytest.fixture
def alice(api: LambdaApiClient) -> LambdaApiClient:
    return api.as_user(ALICE)


@pytest.fixture
def bob(api: LambdaApiClient) -> LambdaApiClient:
    return api.as_user(BOB)


def stored(engine: Engine) -> list[tuple[Any, ...]]:
    """Every session row with its owner, exactly as stored."""
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text("SELECT * FROM learning_sessions ORDER BY id"))]


def owners(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return {row.id: row.owner for row in conn.execute(text("SELECT id, owner FROM learning_sessions"))}


def walk(client: LambdaApiClient, **query: str) -> list[int]:
    """The ids on every page of a listing, following next_cursor to the end."""
    ids: list[int] = []
    cursor: str | None = None
    while True:
        response = client.get("/api/sessions/", query={"limit": "2", **query, **({"cursor": cursor} if cursor else {})})
        assert response.status == 200, response.body
        page = response.json()
        assert all(list(item) == list(SESSION_FIELDS) for item in page["data"])
        ids += [item["id"] for item in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


def assert_not_found(response: ApiResponse, session_id: int) -> None:
    assert response.status == 404, response.body
    assert response.json() == {
        "error": {"code": "not_found", "message": f"Learning session {session_id} does not exist", "details": []}
    }
    assert response.header("ETag") is None


def test_each_user_reads_only_their_own_sessions(
    alice: LambdaApiClient, bob: LambdaApiClient, clean_db: Engine
) -> None:
    alices = [alice.create(title=f"alice {n}", status=("planned", "completed")[n % 2])["id"] for n in range(5)]
    bobs = [bob.create(title=f"bob {n}", status="completed")["id"] for n in range(3)]

    assert owners(clean_db) == {**dict.fromkeys(alices, ALICE), **dict.fromkeys(bobs, BOB)}
    assert walk(alice) == alices[::-1]
    assert walk(bob) == bobs[::-1]
    assert walk(alice, status="completed") == [alices[3], alices[1]]
    assert walk(bob, status="planned") == []
    for session_id in alices:
        assert alice.get(f"/api/sessions/{session_id}").status == 200
        assert_not_found(bob.get(f"/api/sessions/{session_id}"), session_id)
    for session_id in bobs:
        assert_not_found(alice.get(f"/api/sessions/{session_id}"), session_id)


def every_request_for(client: LambdaApiClient, path: str, etag: str) -> list[ApiResponse]:
    """GET, and PATCH and DELETE without If-Match, with the session's real ETag and with "*"."""
    change = {"title": "Taken over"}
    return [
        client.get(path),
        client.patch(path, change),
        client.patch(path, change, headers={"If-Match": etag}),
        client.patch(path, change, headers={"If-Match": "*"}),
        client.delete(path),
        client.delete(path, headers={"If-Match": etag}),
        client.delete(path, headers={"If-Match": "*"}),
    ]


def test_another_users_session_answers_like_a_missing_one_and_is_left_alone(
    alice: LambdaApiClient, bob: LambdaApiClient, clean_db: Engine
) -> None:
    created = alice.post("/api/sessions/", {"title": "Mine", "status": "planned"})
    session_id, etag = created.json()["data"]["id"], created.header("ETag")
    assert etag is not None
    path = f"/api/sessions/{session_id}"
    before = stored(clean_db)

    answers = every_request_for(bob, path, etag)

    assert stored(clean_db) == before
    assert alice.get(path).json() == created.json()
    # Now really missing: the answers to bob were byte for byte those of a missing session.
    assert alice.delete(path, headers={"If-Match": etag}).status == 204
    missing = every_request_for(bob, path, etag)
    for foreign, absent in zip(answers, missing, strict=True):
        assert_not_found(foreign, session_id)
        assert (foreign.status, foreign.body) == (absent.status, absent.body)


def test_the_owner_changes_their_own_session(alice: LambdaApiClient, bob: LambdaApiClient, clean_db: Engine) -> None:
    session_id = alice.create(title="Mine")["id"]
    bob.create(title="Theirs")
    updated = alice.patch(f"/api/sessions/{session_id}", {"status": "in_progress"})
    assert updated.status == 200, updated.body
    assert list(updated.json()["data"]) == list(SESSION_FIELDS)
    assert "owner" not in updated.body
    assert alice.delete(f"/api/sessions/{session_id}").status == 204
    assert list(owners(clean_db).values()) == [BOB]


def test_a_cursor_means_nothing_to_another_user(alice: LambdaApiClient, bob: LambdaApiClient, clean_db: Engine) -> None:
    for n in range(3):
        alice.create(title=f"alice {n}")
        bob.create(title=f"bob {n}")
    cursor = alice.get("/api/sessions/", query={"limit": "1"}).json()["next_cursor"]
    assert cursor is not None

    refused = bob.get("/api/sessions/", query={"limit": "1", "cursor": cursor})

    assert refused.status == 422, refused.body
    assert refused.json()["error"]["details"][0]["type"] == "cursor_invalid"
    assert alice.get("/api/sessions/", query={"limit": "1", "cursor": cursor}).status == 200


def test_the_same_idempotency_key_from_two_users_makes_two_sessions(
    alice: LambdaApiClient, bob: LambdaApiClient, clean_db: Engine
) -> None:
    key = {"Idempotency-Key": "same-key"}
    body = {"title": "Same request"}
    alices = alice.post("/api/sessions/", body, headers=key)
    bobs = bob.post("/api/sessions/", body, headers=key)
    assert (alices.status, bobs.status) == (201, 201)
    assert alices.json()["data"]["id"] != bobs.json()["data"]["id"]

    # Each replay is the user's own first response, and stores nothing more.
    assert alice.post("/api/sessions/", body, headers=key).body == alices.body
    assert bob.post("/api/sessions/", body, headers=key).body == bobs.body
    # Another body under alice's key is refused for alice only; bob's key is his own.
    assert alice.post("/api/sessions/", {"title": "Other"}, headers=key).status == 422
    assert owners(clean_db) == {alices.json()["data"]["id"]: ALICE, bobs.json()["data"]["id"]: BOB}
    with clean_db.connect() as conn:
        keys = conn.execute(text("SELECT owner, idempotency_key FROM idempotency_keys ORDER BY owner")).all()
    assert [tuple(row) for row in keys] == [(ALICE, "same-key"), (BOB, "same-key")]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/sessions/"),
        ("POST", "/api/sessions/"),
        ("GET", "/api/sessions/1"),
        ("PATCH", "/api/sessions/1"),
        ("DELETE", "/api/sessions/1"),
    ],
)
@pytest.mark.parametrize(
    "user", [None, "", "x" * 256, "a\x00b", "\ud800"], ids=["none", "empty", "too-long", "nul", "surrogate"]
)
def test_a_request_without_a_caller_is_401_and_changes_nothing(
    api: LambdaApiClient, clean_db: Engine, method: str, path: str, user: str | None
) -> None:
    """Deployed, API Gateway never lets such a request through; if one comes, it gets no default owner."""
    api.create(title="Somebody's")
    before = stored(clean_db)
    body = {"title": "Nobody's"} if method in ("POST", "PATCH") else None
    response = api.request(method, path, json_body=body, user=user) if body else api.request(method, path, user=user)

    assert response.status == 401, response.body
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.header("WWW-Authenticate") == "Bearer"
    assert stored(clean_db) == before


@pytest.mark.parametrize("sam_local", [None, "false", "1"])
def test_without_claims_outside_sam_local_is_401(
    api: LambdaApiClient, clean_db: Engine, monkeypatch: pytest.MonkeyPatch, sam_local: str | None
) -> None:
    """Only sam local's own "true" opens the door: Lambda never sets AWS_SAM_LOCAL."""
    if sam_local is None:
        monkeypatch.delenv("AWS_SAM_LOCAL", raising=False)
    else:
        monkeypatch.setenv("AWS_SAM_LOCAL", sam_local)
    response = api.request("POST", "/api/sessions/", json_body={"title": "Nobody's"}, user=None)

    assert response.status == 401, response.body
    assert owners(clean_db) == {}


def test_under_sam_local_a_request_without_claims_is_the_local_users(
    api: LambdaApiClient, clean_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sam local start-api` skips JWT authorizers: its requests are the local user's, as in `make dev`."""
    from local_api.authorizer import LOCAL_USER

    monkeypatch.setenv("AWS_SAM_LOCAL", "true")
    theirs = api.as_user(ALICE).create(title="Alice's")["id"]
    created = api.request("POST", "/api/sessions/", json_body={"title": "Local"}, user=None)

    assert created.status == 201, created.body
    session_id = created.json()["data"]["id"]
    assert owners(clean_db) == {theirs: ALICE, session_id: LOCAL_USER}
    assert api.request("GET", f"/api/sessions/{session_id}", user=None).status == 200
    assert_not_found(api.request("GET", f"/api/sessions/{theirs}", user=None), theirs)
    # Claims that are there but name nobody are still refused: only a missing authorizer is sam local's.
    assert api.request("GET", f"/api/sessions/{session_id}", user="").status == 401


def test_the_longest_sub_openid_allows_owns_sessions(api: LambdaApiClient, clean_db: Engine) -> None:
    user = api.as_user("u" * 255)
    session_id = user.create()["id"]
    assert user.get(f"/api/sessions/{session_id}").status == 200
    assert owners(clean_db) == {session_id: "u" * 255}


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The statements on sessions the handlers send to the database.

    Not those of ``engine``, the test's own, which the client's no-write check reads with.
    Transaction control (SQLite's BEGIN IMMEDIATE) is left out: it does not depend on owners.
    """
    sent: list[str] = []

    def capture(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if conn.engine is not engine and "learning_sessions" in statement:
            sent.append(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", capture)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", capture)


def test_ownership_costs_no_extra_statement(alice: LambdaApiClient, bob: LambdaApiClient, clean_db: Engine) -> None:
    """The owner is a condition of the one statement each request already sent, mine or not."""
    session_id = alice.create()["id"]
    etag = alice.get(f"/api/sessions/{session_id}").header("ETag") or ""
    path = f"/api/sessions/{session_id}"
    expected: list[tuple[LambdaApiClient, str, dict[str, Any], int]] = [
        # (client, method, kwargs, statements): reads, creates and plain deletes are one statement;
        # PATCH and DELETE with If-Match lock the row first (and stop there when it is not the caller's).
        (bob, "GET", {}, 1),
        (alice, "GET", {}, 1),
        (bob, "GET", {"path": "/api/sessions/"}, 1),
        (alice, "POST", {"path": "/api/sessions/", "json_body": {"title": "t"}}, 1),
        (bob, "PATCH", {"json_body": {"title": "t"}}, 1),
        (alice, "PATCH", {"json_body": {"title": "t"}}, 2),
        (bob, "DELETE", {"headers": {"If-Match": etag}}, 1),
        (bob, "DELETE", {}, 1),
        (alice, "DELETE", {}, 1),
    ]
    for client, method, kwargs, count in expected:
        with statements(clean_db) as sent:
            client.request(method, kwargs.pop("path", path), **kwargs)
        assert len(sent) == count, (method, sent)
        assert all("owner" in statement for statement in sent), sent
