"""Each kind of request sends Postgres exactly the statements it needs, as pg_stat_statements counts them.

Postgres' own account, not the client's: the server counts every statement it executes, including
transaction control and anything a driver or SQLAlchemy might send on its own. Requests go through
the real handlers on a warm execution environment (its connection open, its statements prepared),
as nearly every request does on Lambda; the database's default time zone is not UTC. So there must
be no session-level SET (the time zone is a startup parameter), no BEGIN around a read or a single
autocommitted write, and no statement to learn the owner (the token's sub) or anything else: only
the statements of data.queries each request runs, as compiled for the project's dialect.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pg8000.dbapi import convert_paramstyle
from sqlalchemy import URL, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from learning_sessions.config.settings import Settings
from learning_sessions.data import queries
from learning_sessions.data.compiled import Statement
from learning_sessions.data.database import create_db_engine
from tests.support.client import ApiResponse, LambdaApiClient
from tests.support.databases import (
    TEST_DATABASE_TIME_ZONE,
    in_ci,
    migrate,
    postgres_admin_url,
    postgres_unavailable,
    throwaway_cluster,
    throwaway_postgres_database,
)
from tests.support.lambda_functions import load_handlers

# Starts a Postgres cluster of its own unless the suite's server already loads pg_stat_statements.
pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CLUSTER = os.environ.get("TEST_STATEMENTS_CLUSTER_NAME", "statements_per_request")
CLUSTER_PORT = int(os.environ.get("TEST_STATEMENTS_CLUSTER_PORT", "5521"))


@pytest.fixture(scope="module")
def statistics_server() -> Iterator[URL]:
    """The admin URL of a Postgres server that loads pg_stat_statements.

    The suite's own server if it does, else a throwaway cluster that does (pg_createcluster, as root).
    """
    admin = create_engine(postgres_admin_url(), connect_args={"timeout": 5})
    try:
        with admin.connect() as conn:
            preloaded = conn.execute(text("SHOW shared_preload_libraries")).scalar_one()
    except (DBAPIError, OSError) as exc:
        postgres_unavailable(f"{type(exc).__name__}: {exc}")
    finally:
        admin.dispose()
    if "pg_stat_statements" in preloaded:
        yield postgres_admin_url()
        return
    if shutil.which("pg_createcluster") is None or os.geteuid() != 0:
        message = (
            "the Postgres server at TEST_POSTGRES_URL does not load pg_stat_statements, and starting one "
            "that does needs pg_createcluster (postgresql-common) as root"
        )
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    with throwaway_cluster(CLUSTER, CLUSTER_PORT, shared_preload_libraries="pg_stat_statements") as url:
        yield url


@pytest.fixture(scope="module")
def statistics(statistics_server: URL) -> Iterator[Engine]:
    """The server's admin database, where pg_stat_statements is read and reset, outside the one counted."""
    engine = create_engine(statistics_server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def database(statistics_server: URL) -> Iterator[URL]:
    with throwaway_postgres_database(statistics_server, "statements", TEST_DATABASE_TIME_ZONE) as url:
        migrate(url)
        yield url


def statements_sent(statistics: Engine, database: URL, request: Callable[[], ApiResponse]) -> Counter[str]:
    """The statements the server executed in ``database`` during ``request``, and how often."""
    with statistics.connect() as conn:
        conn.execute(text("SELECT pg_stat_statements_reset()"))
        response = request()
        assert response.status < 300, response.body
        rows = conn.execute(
            text(
                "SELECT query, calls FROM pg_stat_statements"
                " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = :database)"
            ),
            {"database": database.database},
        ).all()
    return Counter({query: calls for query, calls in rows})


def test_each_request_runs_exactly_its_statements(statistics: Engine, database: URL) -> None:
    env = {"DATABASE_URL": database.render_as_string(hide_password=False)}
    # Loaded without the client's check of the database after a 5xx: its reads would be counted.
    # Nor does loading connect: the first request does.
    api = LambdaApiClient(load_handlers(env))
    project = create_db_engine(Settings.from_environ(env))
    try:
        with project.connect():  # the dialect learns the server's version, as the handlers' did
            pass

        def sent(statement: Statement) -> str:
            """The statement as the prepared-statement dialect hands it to the server ($1, $2, ...)."""
            sql: str = convert_paramstyle("format", statement.compiled(project.dialect).sql, ())[0]
            return sql

        transaction = ["begin transaction", "commit"]
        claim = queries._claim_key("postgresql")
        fetch, fetch_locked = sent(queries._FETCH), sent(queries._FETCH_FOR_UPDATE)
        insert, update, delete = sent(queries._INSERT), sent(queries._UPDATE), sent(queries._DELETE)
        expected: dict[str, list[str]] = {
            "GET": [fetch],
            "list": [sent(queries._LIST_PAGES[False, False])],
            "create": [insert],
            "create with Idempotency-Key": [*transaction, insert, sent(claim)],
            "create replayed by its Idempotency-Key": [
                "begin transaction", insert, sent(claim), sent(queries._FETCH_KEY), "rollback",
            ],
            "patch": [*transaction, fetch_locked, update],
            "delete": [delete],
            "delete with If-Match": [*transaction, fetch_locked, delete],
        }  # fmt: skip

        def requests() -> dict[str, Callable[[], ApiResponse]]:
            """One request of each kind, on sessions of their own."""
            session, doomed, locked = (api.create(title=f"session {n}") for n in range(3))
            key = {"Idempotency-Key": uuid.uuid4().hex}
            return {
                "GET": lambda: api.get(f"/api/sessions/{session['id']}"),
                "list": lambda: api.get("/api/sessions/"),
                "create": lambda: api.post("/api/sessions/", {"title": "created"}),
                "create with Idempotency-Key": lambda: api.post("/api/sessions/", {"title": "keyed"}, headers=key),
                "create replayed by its Idempotency-Key": lambda: api.post(
                    "/api/sessions/", {"title": "keyed"}, headers=key
                ),
                "patch": lambda: api.patch(f"/api/sessions/{session['id']}", {"status": "in_progress"}),
                "delete": lambda: api.delete(f"/api/sessions/{doomed['id']}"),
                "delete with If-Match": lambda: api.delete(
                    f"/api/sessions/{locked['id']}", headers={"If-Match": f'"{locked["id"]}.1"'}
                ),
            }

        # The cold start's connection: SQLAlchemy learns the server's version and settings once
        # (SELECT and SHOW); anything the session needs is a startup parameter, never a SET.
        cold = statements_sent(statistics, database, lambda: api.get("/api/sessions/"))
        assert cold[sent(queries._LIST_PAGES[False, False])] == 1, cold
        assert [query for query in cold if query.lstrip().lower().startswith("set")] == [], cold
        for request in requests().values():  # warm: every statement prepared on the connection
            request()
        counted: dict[str, Any] = {
            name: statements_sent(statistics, database, request) for name, request in requests().items()
        }
        assert counted == {name: Counter(statements) for name, statements in expected.items()}
    finally:
        project.dispose()
