"""A server's farewell (SQLSTATE 57P01-57P03) and a socket error mid-statement count as disconnects."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import URL, Engine, text
from sqlalchemy.dialects.postgresql.pg8000 import PGDialect_pg8000

from learning_sessions.config.settings import Settings
from learning_sessions.data.database import create_db_engine
from learning_sessions.data.units_of_work import read_only, retry_if_disconnected
from tests.integration.reliability.conftest import env_for
from tests.support.client import LambdaApiClient
from tests.support.lambda_functions import load_handlers

# admin_shutdown (pg_terminate_backend, a fast shutdown), crash_shutdown, cannot_connect_now.
SERVER_GONE = ["57P01", "57P02", "57P03"]


def raise_sqlstate(code: str) -> str:
    # The server itself sends the error, with its SQLSTATE, as it would when going away.
    return f"DO $$ BEGIN RAISE EXCEPTION 'going away' USING ERRCODE = '{code}'; END $$"


@pytest.mark.parametrize("code", SERVER_GONE)
def test_a_farewell_sqlstate_discards_the_connection_and_the_read_is_retried(pg_url: URL, code: str) -> None:
    engine = create_db_engine(Settings.from_environ(env_for(pg_url)))
    connections: list[Any] = []

    def read() -> int:
        with read_only(engine) as conn:
            connections.append(conn.connection.dbapi_connection)
            if len(connections) == 1:
                conn.exec_driver_sql(raise_sqlstate(code))
            value: int = conn.execute(text("SELECT 1")).scalar_one()
            return value

    try:
        assert retry_if_disconnected(read) == 1
        assert len(connections) == 2
        assert connections[0] is not connections[1], "the connection that said farewell must be discarded"
    finally:
        engine.dispose()


@pytest.mark.parametrize("code", SERVER_GONE)
def test_a_farewell_sqlstate_on_a_write_answers_503_with_retry_after(pg_url: URL, pg_engine: Engine, code: str) -> None:
    api = LambdaApiClient(load_handlers(env_for(pg_url)))
    with pg_engine.begin() as conn:
        conn.execute(
            text(
                "CREATE FUNCTION farewell() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"RAISE EXCEPTION 'going away' USING ERRCODE = '{code}'; END $$"
            )
        )
        conn.execute(text("CREATE TRIGGER farewell BEFORE INSERT ON learning_sessions EXECUTE FUNCTION farewell()"))
    try:
        response = api.post("/api/sessions/", {"title": "refused"})
    finally:
        with pg_engine.begin() as conn:
            conn.execute(text("DROP TRIGGER farewell ON learning_sessions"))
            conn.execute(text("DROP FUNCTION farewell()"))
    assert response.status == 503, response.body
    assert response.header("Retry-After")
    assert api.get("/api/sessions/").json()["data"] == []


class SocketFault:
    """Arm it, and the next statement fails with a socket error, as pg8000 lets a reset through unwrapped."""

    def __init__(self) -> None:
        self.armed = False
        self.fired = 0

    def arm(self) -> None:
        self.armed = True


@pytest.fixture
def socket_fault(monkeypatch: pytest.MonkeyPatch) -> SocketFault:
    fault = SocketFault()
    original = PGDialect_pg8000.do_execute

    def flaky(self: Any, cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        if fault.armed:
            fault.armed = False
            fault.fired += 1
            raise ConnectionResetError(104, "Connection reset by peer")
        original(self, cursor, statement, parameters, context)  # type: ignore[no-untyped-call]

    # The parent's do_execute: the one pg8000_dialect wraps, with prepared statements off.
    monkeypatch.setattr(PGDialect_pg8000, "do_execute", flaky)
    return fault


def test_a_socket_error_on_a_read_is_a_disconnect_and_retried_invisibly(pg_url: URL, socket_fault: SocketFault) -> None:
    api = LambdaApiClient(load_handlers(env_for(pg_url, DB_PREPARED_STATEMENTS="false")))
    created = api.create(title="kept")
    socket_fault.arm()
    response = api.get(f"/api/sessions/{created['id']}")
    assert socket_fault.fired == 1
    assert response.status == 200, response.body
    assert response.json()["data"] == created


def test_a_socket_error_on_a_write_answers_503_and_writes_nothing(pg_url: URL, socket_fault: SocketFault) -> None:
    api = LambdaApiClient(load_handlers(env_for(pg_url, DB_PREPARED_STATEMENTS="false")))
    socket_fault.arm()
    response = api.post("/api/sessions/", {"title": "refused"})
    assert socket_fault.fired == 1
    assert response.status == 503, response.body
    assert response.header("Retry-After")
    assert api.get("/api/sessions/").json()["data"] == []
