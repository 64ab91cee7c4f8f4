"""Concurrent writers on a real Postgres and on one SQLite file: each worker is its own environment.

On SQLite several processes share the file, as `make dev`'s workers do; the writes queue behind
BEGIN IMMEDIATE and the busy timeout (learning_sessions.data.database). Without BEGIN IMMEDIATE, two
transactions that read before they write deadlock and one gets "database is locked" at once:
the PATCH and If-Match races below then see 503s.
"""

from __future__ import annotations

import multiprocessing.pool
import sqlite3
from collections.abc import Iterator

import pytest
from sqlalchemy import URL, Engine, text

from learning_sessions.config.settings import Settings
from learning_sessions.data.database import create_db_engine
from tests.integration.reliability.conftest import env_for
from tests.integration.reliability.environments import Request, run_concurrently, start_environments
from tests.support.client import LambdaApiClient
from tests.support.lambda_functions import load_handlers

ENVIRONMENTS = 8


@pytest.fixture(scope="module")
def environments(database_url: URL) -> Iterator[multiprocessing.pool.Pool]:
    """Eight warm environments on each backend (the run's database, shared by this module's tests)."""
    with start_environments(ENVIRONMENTS, env_for(database_url)) as pool:
        yield pool


@pytest.fixture
def api(database_url: URL, clean_db: Engine) -> LambdaApiClient:
    return LambdaApiClient(load_handlers(env_for(database_url)), no_write_on_5xx=clean_db)


def test_fifty_concurrent_creates_give_fifty_rows(
    environments: multiprocessing.pool.Pool, api: LambdaApiClient
) -> None:
    requests: list[Request] = [("POST", "/api/sessions/", {"json_body": {"title": f"session {n}"}}) for n in range(50)]
    responses = run_concurrently(environments, requests)
    assert [response.status for response in responses] == [201] * 50
    assert [response.json()["data"]["title"] for response in responses] == [f"session {n}" for n in range(50)]
    ids = {response.json()["data"]["id"] for response in responses}
    assert len(ids) == 50
    listed = api.get("/api/sessions/", query={"limit": "100"}).json()["data"]
    assert {item["id"] for item in listed} == ids
    assert {item["title"] for item in listed} == {f"session {n}" for n in range(50)}


def test_concurrent_patches_leave_one_whole_request(
    environments: multiprocessing.pool.Pool, api: LambdaApiClient
) -> None:
    session = api.create()
    bodies = [{"title": f"t{n}", "description": f"d{n}", "difficulty": f"x{n}"} for n in range(24)]
    requests: list[Request] = [("PATCH", f"/api/sessions/{session['id']}", {"json_body": body}) for body in bodies]
    responses = run_concurrently(environments, requests)
    assert {response.status for response in responses} == {200}
    final = api.get(f"/api/sessions/{session['id']}").json()["data"]
    assert {key: final[key] for key in ("title", "description", "difficulty")} in bodies
    etags = {response.header("ETag") for response in responses}
    assert len(etags) == len(bodies), "every PATCH must have applied on top of the one before"


def test_if_match_lets_exactly_one_of_racing_writers_win(
    environments: multiprocessing.pool.Pool, api: LambdaApiClient
) -> None:
    created = api.post("/api/sessions/", {"title": "contended"})
    etag = created.header("ETag") or ""
    path = f"/api/sessions/{created.json()['data']['id']}"
    requests: list[Request] = [
        ("PATCH", path, {"json_body": {"title": f"w{n}"}, "headers": {"If-Match": etag}}) for n in range(ENVIRONMENTS)
    ]
    statuses = sorted(response.status for response in run_concurrently(environments, requests))
    assert statuses == [200] + [412] * (ENVIRONMENTS - 1)


def test_reads_and_writes_racing_a_delete_get_404_or_success(
    environments: multiprocessing.pool.Pool, api: LambdaApiClient
) -> None:
    for _ in range(3):
        path = f"/api/sessions/{api.create()['id']}"
        requests: list[Request] = []
        for n in range(15):
            requests.append(("GET", path, {}))
            requests.append(("PATCH", path, {"json_body": {"title": f"p{n}"}}))
            if n == 3:
                requests.append(("DELETE", path, {}))
        responses = run_concurrently(environments, requests)
        statuses = [response.status for response in responses]
        assert set(statuses) <= {200, 204, 404}, [response.body for response in responses if response.status >= 500]
        assert statuses.count(204) == 1
        assert api.get(path).status == 404


def test_concurrent_posts_with_one_idempotency_key_create_one_row(
    environments: multiprocessing.pool.Pool, api: LambdaApiClient
) -> None:
    """Every racer but one waits on the key's unique index, then replays the winner's 201."""
    request: Request = (
        "POST",
        "/api/sessions/",
        {"json_body": {"title": "once"}, "headers": {"Idempotency-Key": "race"}},
    )
    responses = run_concurrently(environments, [request] * (ENVIRONMENTS * 2))
    assert {response.status for response in responses} == {201}
    assert len({response.body for response in responses}) == 1
    assert len({response.header("ETag") for response in responses}) == 1
    assert len(api.get("/api/sessions/").json()["data"]) == 1


def test_sqlite_transactions_take_the_write_lock_at_begin(sqlite_database_url: URL) -> None:
    """Without BEGIN IMMEDIATE a transaction that reads first takes no lock, and two such deadlock."""
    engine = create_db_engine(Settings.from_environ(env_for(sqlite_database_url)))
    other = sqlite3.connect(sqlite_database_url.database or "", timeout=0, isolation_level=None)
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT 1"))
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # and the lock is released at the end of the transaction
        other.execute("ROLLBACK")
    finally:
        other.close()
        engine.dispose()
