"""A database that is there but cannot take the request now answers 503 with Retry-After, never 500.

The limits are real Postgres limits, reached on purpose: a role's connection limit (SQLSTATE 53300,
what a full max_connections also raises) and a role's lock_timeout behind a held row lock (55P03).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import URL, Engine, create_engine, text

from tests.integration.reliability.conftest import env_for, lock_held
from tests.integration.reliability.test_database_faults import assert_unavailable
from tests.support.client import LambdaApiClient
from tests.support.lambda_functions import load_handlers


@pytest.fixture
def limited_role(pg_url: URL, pg_engine: Engine) -> Iterator[str]:
    """A login role with all rights on the test's tables, to hang per-role limits on."""
    role = f"limited_{uuid.uuid4().hex[:8]}"
    with pg_engine.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(text(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"'))
        conn.execute(text(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{role}"'))
    try:
        yield role
    finally:
        with pg_engine.begin() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :role"), {"role": role}
            )
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))


def test_no_connection_slot_left_answers_503(pg_url: URL, pg_engine: Engine, limited_role: str) -> None:
    with pg_engine.begin() as conn:
        conn.execute(text(f'ALTER ROLE "{limited_role}" CONNECTION LIMIT 1'))
    role_url = pg_url.set(username=limited_role)
    squatter = create_engine(role_url)
    try:
        with squatter.connect():
            api = LambdaApiClient(load_handlers(env_for(role_url)))
            for response in (api.get("/api/sessions/"), api.post("/api/sessions/", {"title": "no slot"})):
                assert_unavailable(response)
        with pg_engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM learning_sessions")).scalar() == 0
    finally:
        squatter.dispose()


def test_lock_timeout_answers_503(pg_url: URL, pg_engine: Engine, limited_role: str) -> None:
    with pg_engine.begin() as conn:
        conn.execute(text(f"ALTER ROLE \"{limited_role}\" SET lock_timeout = '100ms'"))
    api = LambdaApiClient(load_handlers(env_for(pg_url.set(username=limited_role))))
    session = api.create(title="locked")
    with lock_held(pg_engine, "SELECT id FROM learning_sessions WHERE id = :id FOR UPDATE", id=session["id"]):
        assert_unavailable(api.patch(f"/api/sessions/{session['id']}", {"title": "changed"}))
    assert api.get(f"/api/sessions/{session['id']}").json()["data"] == session
