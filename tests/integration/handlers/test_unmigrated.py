"""A database that was never migrated answers the same clear 503 on SQLite and Postgres."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from tests.support.client import LambdaApiClient
from tests.support.databases import fresh_postgres_database
from tests.support.lambda_functions import load_handlers


@pytest.fixture(
    scope="module",
    params=[pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)],
)
def unmigrated_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LambdaApiClient]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('unmigrated') / 'empty.db'}"
        yield LambdaApiClient(load_handlers({"DATABASE_URL": url}))
        return
    with fresh_postgres_database() as pg_url:
        yield LambdaApiClient(load_handlers({"DATABASE_URL": pg_url.render_as_string(hide_password=False)}))


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/sessions/", {"title": "x"}),
        ("GET", "/api/sessions/", None),
        ("GET", "/api/sessions/1", None),
        ("PATCH", "/api/sessions/1", {"title": "y"}),
        ("DELETE", "/api/sessions/1", None),
    ],
)
def test_a_missing_schema_is_a_clear_503_on_both_databases(
    unmigrated_api: LambdaApiClient,
    method: str,
    path: str,
    body: dict[str, str] | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from learning_sessions.http.api import logger

    logs = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", logs)
    if body is None:
        response = unmigrated_api.request(method, path)
    else:
        response = unmigrated_api.request(method, path, json_body=body)
    assert '"level":"ERROR"' in logs.getvalue()
    assert "Database schema missing" in logs.getvalue()
    assert response.status == 503, response.body
    error = response.json()["error"]
    assert error["code"] == "service_unavailable"
    assert "schema is missing" in error["message"]
    assert "migrations" in error["message"]
    # No client retry mends it: only someone running the migrations does.
    assert response.header("Retry-After") is None
