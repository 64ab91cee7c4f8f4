"""Database faults on a real Postgres: dropped connections, an outage, a black hole, slow statements.

The handlers are loaded once per test and kept warm throughout, so "recovers" means
recovers without a cold start.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import URL, Engine, text
from sqlalchemy.exc import DBAPIError

from tests.integration.reliability.conftest import env_for, lock_held
from tests.support.client import ApiResponse, LambdaApiClient
from tests.support.databases import injected_fault
from tests.support.lambda_functions import load_handlers
from tests.support.tcp_proxy import FaultyProxy, Mode

# Faults are injected between the functions and a real Postgres (tests/support/tcp_proxy.py).
pytestmark = pytest.mark.postgres

CONNECT_TIMEOUT_SECONDS = 1


def through_proxy(pg_url: URL, proxy: FaultyProxy, **extra: str) -> LambdaApiClient:
    url = pg_url.set(host="127.0.0.1", port=proxy.port)
    return LambdaApiClient(load_handlers(env_for(url, DB_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT_SECONDS), **extra)))


def assert_unavailable(response: ApiResponse) -> None:
    assert response.status == 503, response.body
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response.header("Retry-After") is not None
    assert "Traceback" not in response.body


@pytest.mark.parametrize("ping_after_idle", ["30", "0"], ids=["poll-only", "always-ping"])
def test_connection_killed_between_invocations_is_invisible(
    pg_url: URL, pg_engine: Engine, ping_after_idle: str
) -> None:
    api = LambdaApiClient(load_handlers(env_for(pg_url, DB_PING_AFTER_IDLE_SECONDS=ping_after_idle)))
    session = api.create()
    assert api.get(f"/api/sessions/{session['id']}").status == 200
    with pg_engine.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'learning-sessions' AND datname = current_database()"
            )
        ).scalar()
    assert killed, "the handlers' connections should have been found and terminated"
    for method, path in (("GET", f"/api/sessions/{session['id']}"), ("GET", "/api/sessions/")):
        assert api.request(method, path).status == 200
    assert api.patch(f"/api/sessions/{session['id']}", {"title": "after the kill"}).status == 200


def test_writes_after_the_idle_ping_are_kept(pg_url: URL, pg_engine: Engine) -> None:
    """The ping of a connection idle for long (here: at every checkout) leaves no transaction open.

    Otherwise the autocommitted write that follows (a create without a key, a plain delete) runs
    inside it and is rolled back when the connection goes back to the pool, after its 201 or 204.
    """
    api = LambdaApiClient(load_handlers(env_for(pg_url, DB_PING_AFTER_IDLE_SECONDS="0")))
    created = [api.create(title=f"after a ping {n}")["id"] for n in range(3)]
    assert api.delete(f"/api/sessions/{created[0]}").status == 204
    with pg_engine.connect() as conn:
        stored = conn.execute(text("SELECT id FROM learning_sessions ORDER BY id")).scalars().all()
    assert stored == created[1:]


def handler_backends(pg_engine: Engine) -> set[int]:
    with pg_engine.connect() as conn:
        pids = conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE application_name = 'learning-sessions' AND datname = current_database()"
            )
        ).scalars()
        return set(pids)


def test_a_live_connection_passes_the_idle_ping_and_is_kept(pg_url: URL, pg_engine: Engine) -> None:
    """A ping that failed on a live connection would cost a new connection (and its TLS and
    authentication) at every checkout after an idle spell, with every answer still a 200."""
    api = LambdaApiClient(load_handlers(env_for(pg_url, DB_PING_AFTER_IDLE_SECONDS="0")))
    session = api.create()
    connected = handler_backends(pg_engine)
    for _ in range(3):
        assert api.get(f"/api/sessions/{session['id']}").status == 200
    assert connected
    assert handler_backends(pg_engine) == connected


def test_outage_answers_503_then_recovers_without_a_cold_start(pg_url: URL, proxy: FaultyProxy) -> None:
    api = through_proxy(pg_url, proxy)
    session = api.create(title="before")
    proxy.set_mode(Mode.DOWN)
    for response in (
        api.get(f"/api/sessions/{session['id']}"),
        api.get("/api/sessions/"),
        api.post("/api/sessions/", {"title": "during"}),
        api.patch(f"/api/sessions/{session['id']}", {"title": "during"}),
        api.delete(f"/api/sessions/{session['id']}"),
        api.post("/api/sessions/", {"title": "during"}, headers={"Idempotency-Key": "outage"}),
    ):
        assert_unavailable(response)
    proxy.set_mode(Mode.FORWARD)
    assert api.get(f"/api/sessions/{session['id']}").json()["data"] == session
    titles = [item["title"] for item in api.get("/api/sessions/").json()["data"]]
    assert titles == ["before"], "nothing from the outage may have been written"
    assert api.post("/api/sessions/", {"title": "during"}, headers={"Idempotency-Key": "outage"}).status == 201


def test_black_holed_database_fails_fast_not_hangs(pg_url: URL, proxy: FaultyProxy) -> None:
    api = through_proxy(pg_url, proxy)
    api.get("/api/sessions/")
    proxy.set_mode(Mode.BLACKHOLE)
    started = time.monotonic()
    assert_unavailable(api.get("/api/sessions/"))
    # A hang check, not a speed target: the request must end near the connect timeout,
    # far inside the 10 s Lambda timeout, rather than wait on the socket forever.
    assert time.monotonic() - started < 4 * CONNECT_TIMEOUT_SECONDS + 2
    proxy.set_mode(Mode.FORWARD)
    assert api.get("/api/sessions/").status == 200


def test_slow_statement_is_cut_by_the_statement_timeout_and_changes_nothing(pg_url: URL, pg_engine: Engine) -> None:
    api = LambdaApiClient(load_handlers(env_for(pg_url, DB_STATEMENT_TIMEOUT_MS="300")))
    session = api.create(title="original")
    with lock_held(pg_engine, "SELECT id FROM learning_sessions WHERE id = :id FOR UPDATE", id=session["id"]):
        assert_unavailable(api.patch(f"/api/sessions/{session['id']}", {"title": "changed", "description": "x"}))
        assert_unavailable(api.delete(f"/api/sessions/{session['id']}"))
    assert api.get(f"/api/sessions/{session['id']}").json()["data"] == session
    assert api.patch(f"/api/sessions/{session['id']}", {"title": "changed"}).status == 200


def test_statement_timeout_applies_to_every_connection(pg_url: URL) -> None:
    from learning_sessions.config.settings import Settings
    from learning_sessions.data.database import create_db_engine
    from learning_sessions.http.http_errors import is_database_unavailable

    engine = create_db_engine(Settings.from_environ(env_for(pg_url, DB_STATEMENT_TIMEOUT_MS="100")))
    try:
        with pytest.raises(DBAPIError) as raised, engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(1)"))
        assert is_database_unavailable(raised.value)
    finally:
        engine.dispose()


def test_a_connection_dying_as_it_is_handed_out_is_retried_invisibly(
    pg_url: URL, pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the liveness poll cannot see: the backend is killed, but its farewell is not yet readable."""
    api = LambdaApiClient(load_handlers(env_for(pg_url)))
    session = api.create()
    with pg_engine.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'learning-sessions' AND datname = current_database()"
            )
        )
        for _ in range(100):  # until the backends are really gone
            alive = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE application_name = 'learning-sessions' AND datname = current_database()"
                )
            ).scalar()
            if not alive:
                break
            time.sleep(0.02)
    # Blind the poll, so the dead connections are handed out as if the kill had only just happened.
    monkeypatch.setattr("select.select", lambda *args: ([], [], []))
    for path in (f"/api/sessions/{session['id']}", "/api/sessions/"):
        assert api.get(path).status == 200
    assert api.patch(f"/api/sessions/{session['id']}", {"title": "after"}).status == 200


def keyed_post(api: LambdaApiClient) -> ApiResponse:
    return api.post("/api/sessions/", {"title": "exactly once"}, headers={"Idempotency-Key": "once"})


def stored_sessions(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM learning_sessions")).scalar_one())


def rows_and_keys(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        keys = conn.execute(text("SELECT count(*) FROM idempotency_keys")).scalar_one()
    return stored_sessions(engine), int(keys)


def assert_retry_creates_exactly_one(api: LambdaApiClient, pg_engine: Engine) -> None:
    retried = keyed_post(api)
    assert retried.status == 201
    assert keyed_post(api).body == retried.body
    assert rows_and_keys(pg_engine) == (1, 1)


# The table that remembers keys; named once so a check against an older design can swap it.
KEY_TABLE = "idempotency_keys"
_KEY_LOCK = 4242


def test_a_keyed_post_that_times_out_on_the_key_leaves_nothing(pg_url: URL, pg_engine: Engine) -> None:
    """A key write that waits on a lock until statement_timeout, after the session's INSERT: both go.

    Before the key shared the row's transaction, the row stayed committed behind the 503, and
    the client's retry created a second one.
    """
    api = LambdaApiClient(load_handlers(env_for(pg_url, DB_STATEMENT_TIMEOUT_MS="300")))
    # Writes of a key wait for the lock held below, once the session's row exists (so the
    # order in which the two are written does not matter).
    wait_for_lock = [
        "CREATE FUNCTION wait_for_key_lock() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF EXISTS (SELECT FROM learning_sessions) THEN PERFORM pg_advisory_xact_lock({_KEY_LOCK}); END IF; "
        "RETURN NEW; END $$",
        f"CREATE TRIGGER wait_for_key_lock BEFORE INSERT OR UPDATE ON {KEY_TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION wait_for_key_lock()",
    ]
    drop = [f"DROP TRIGGER wait_for_key_lock ON {KEY_TABLE}", "DROP FUNCTION wait_for_key_lock()"]
    with injected_fault(pg_engine, wait_for_lock, drop):
        with lock_held(pg_engine, f"SELECT pg_advisory_xact_lock({_KEY_LOCK})"):
            assert_unavailable(keyed_post(api))
        assert stored_sessions(pg_engine) == 0
    assert_retry_creates_exactly_one(api, pg_engine)


def test_a_keyed_post_whose_commit_fails_leaves_nothing(pg_url: URL, pg_engine: Engine) -> None:
    """A COMMIT that fails (a deferred check refuses it) keeps neither the row nor the key."""
    api = LambdaApiClient(load_handlers(env_for(pg_url)))
    refuse_at_commit = [
        "CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF EXISTS (SELECT FROM learning_sessions) THEN "
        "RAISE EXCEPTION 'injected fault' USING ERRCODE = 'serialization_failure'; END IF; "
        "RETURN NULL; END $$",
        f"CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT OR UPDATE ON {KEY_TABLE} "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit()",
    ]
    drop = [f"DROP TRIGGER refuse_commit ON {KEY_TABLE}", "DROP FUNCTION refuse_commit()"]
    with injected_fault(pg_engine, refuse_at_commit, drop):
        assert_unavailable(keyed_post(api))
        assert stored_sessions(pg_engine) == 0
    assert_retry_creates_exactly_one(api, pg_engine)


def test_a_connection_dropped_inside_a_keyed_post_is_retried_into_one_row(
    pg_url: URL, pg_engine: Engine, proxy: FaultyProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection dies between the two INSERTs: the server drops the half-done transaction,
    and the unit of work runs again on a fresh connection, so the client sees one clean 201."""
    from learning_sessions.data import queries

    api = through_proxy(pg_url, proxy)
    api.get("/api/sessions/")
    real_insert_key = queries.insert_idempotency_key_row
    cuts: list[int] = []

    def cut_first_time(*args: Any, **kwargs: Any) -> bool:
        if not cuts:
            cuts.append(1)
            proxy.cut_connections()
        return real_insert_key(*args, **kwargs)

    monkeypatch.setattr(queries, "insert_idempotency_key_row", cut_first_time)
    created = keyed_post(api)
    assert cuts, "the connection was never cut"
    assert created.status == 201, created.body
    assert rows_and_keys(pg_engine) == (1, 1)
    assert keyed_post(api).body == created.body
