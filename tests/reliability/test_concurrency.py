"""Concurrent writers on a real Postgres: each worker thread is its own warm execution environment."""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import URL

from tests.client import ApiResponse, LambdaApiClient
from tests.lambda_functions import load_handlers
from tests.reliability.conftest import env_for

ENVIRONMENTS = 8
Request = tuple[str, str, dict[str, Any]]

# Powertools keeps the current event on the router class, so resolvers sharing a process
# are not thread-safe. Lambda never shares one: each execution environment is its own
# process handling one request at a time, and so is each worker here.
_worker_api: LambdaApiClient | None = None


def _start_environment(env: dict[str, str]) -> None:
    global _worker_api
    _worker_api = LambdaApiClient(load_handlers(env))


def _handle(request: Request) -> ApiResponse:
    assert _worker_api is not None
    method, path, kwargs = request
    return _worker_api.request(method, path, **kwargs)


@pytest.fixture(scope="module")
def environments(postgres_database_url: URL) -> Iterator[multiprocessing.pool.Pool]:
    context = multiprocessing.get_context("fork")
    with context.Pool(ENVIRONMENTS, initializer=_start_environment, initargs=(env_for(postgres_database_url),)) as pool:
        pool.map(_handle, [("GET", "/api/sessions/", {})] * ENVIRONMENTS)  # warm every environment
        yield pool


@pytest.fixture
def api(pg_url: URL) -> LambdaApiClient:
    return LambdaApiClient(load_handlers(env_for(pg_url)))


def run_concurrently(pool: multiprocessing.pool.Pool, requests: list[Request]) -> list[ApiResponse]:
    return pool.map(_handle, requests, chunksize=1)


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
