"""?sslmode= in DATABASE_URL is honoured per request, not passed to pg8000 (which has no such argument)."""

from __future__ import annotations

from sqlalchemy import URL, Engine, text

from tests.integration.reliability.conftest import env_for
from tests.support.client import LambdaApiClient
from tests.support.lambda_functions import load_handlers


def handlers_with(pg_url: URL, query: str) -> LambdaApiClient:
    env = env_for(pg_url, DB_CONNECT_TIMEOUT="2")
    return LambdaApiClient(load_handlers({**env, "DATABASE_URL": f"{env['DATABASE_URL']}?{query}"}))


def test_sslmode_disable_in_the_url_serves_requests(pg_url: URL) -> None:
    api = handlers_with(pg_url, "sslmode=disable")
    created = api.post("/api/sessions/", {"title": "plain"})
    assert created.status == 201, created.body
    assert api.get("/api/sessions/").status == 200


def test_sslmode_require_in_the_url_is_honoured(pg_url: URL, pg_engine: Engine) -> None:
    with pg_engine.connect() as conn:
        server_has_tls = conn.execute(text("SHOW ssl")).scalar_one() == "on"
    api = handlers_with(pg_url, "sslmode=require")
    response = api.get("/api/sessions/")
    if server_has_tls:
        assert response.status == 200, response.body
    else:
        # "require" must not fall back to a plain connection: the database is unreachable as asked.
        assert response.status == 503, response.body
        assert response.header("Retry-After")
