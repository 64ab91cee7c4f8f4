"""Conditional writes lock the row they check, so the version checked is the version written (Postgres)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import URL, Engine, text

from tests.integration.reliability.conftest import env_for
from tests.support.client import ApiResponse, LambdaApiClient
from tests.support.lambda_functions import load_handlers

pytestmark = pytest.mark.postgres


def lock_waits(engine: Engine) -> int:
    """How many backends of this database wait on a lock now."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )


def wait_for_a_lock_wait(engine: Engine) -> None:
    """Until another backend of this database waits on a lock (a condition, not a timing)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if lock_waits(engine):
            return
        time.sleep(0.01)
    raise AssertionError("the write never waited for the row lock")


@pytest.mark.parametrize("method", ["DELETE", "PATCH"])
def test_a_write_with_if_match_rechecks_the_version_a_concurrent_update_committed(
    pg_url: URL, pg_engine: Engine, method: str
) -> None:
    """Without the row lock (for_update), the write reads the old version, its check passes, and it
    then deletes or overwrites the row another transaction has just changed: a lost update."""
    api = LambdaApiClient(load_handlers(env_for(pg_url)))
    created = api.post("/api/sessions/", {"title": "before"})
    session_id = created.json()["data"]["id"]
    etag = created.header("ETag")
    assert etag
    answers: list[ApiResponse] = []

    with pg_engine.connect() as writer:
        update = writer.begin()
        writer.execute(
            text("UPDATE learning_sessions SET title = 'changed', version = version + 1 WHERE id = :id"),
            {"id": session_id},
        )
        deleter = threading.Thread(
            target=lambda: answers.append(
                api.request(
                    method,
                    f"/api/sessions/{session_id}",
                    json_body={"description": "stale"} if method == "PATCH" else None,
                    headers={"If-Match": etag},
                )
            )
        )
        deleter.start()
        try:
            wait_for_a_lock_wait(pg_engine)
        finally:
            update.commit()
            deleter.join()

    assert [answer.status for answer in answers] == [412]
    with pg_engine.connect() as conn:
        row = conn.execute(
            text("SELECT title, description, version FROM learning_sessions WHERE id = :id"), {"id": session_id}
        ).one()
    assert tuple(row) == ("changed", None, 2)


def test_a_read_does_not_wait_for_a_row_lock(pg_url: URL, pg_engine: Engine) -> None:
    """Only conditional writes lock: a GET under FOR UPDATE would queue behind every open write
    of its row (and hold up the next one), where Postgres can answer it from the committed version."""
    api = LambdaApiClient(load_handlers(env_for(pg_url)))
    session_id = api.post("/api/sessions/", {"title": "committed"}).json()["data"]["id"]
    answers: list[ApiResponse] = []
    with pg_engine.connect() as writer:
        update = writer.begin()
        writer.execute(text("UPDATE learning_sessions SET title = 'pending' WHERE id = :id"), {"id": session_id})
        reader = threading.Thread(target=lambda: answers.append(api.get(f"/api/sessions/{session_id}")))
        reader.start()
        waited = False
        while reader.is_alive() and not waited:
            waited = lock_waits(pg_engine) > 0
            reader.join(timeout=0.01)
        update.rollback()
        reader.join()
    assert not waited, "the GET waited for the writer's row lock"
    assert [answer.json()["data"]["title"] for answer in answers] == ["committed"]
