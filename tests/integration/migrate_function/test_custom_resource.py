"""The migrate function as CloudFormation drives it: custom-resource events in, one PUT to ResponseURL out."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.integration.migrate_function.cfn import (
    EXPECTED_PHYSICAL_ID,
    LambdaContext,
    ResponseEndpoint,
    assert_failed,
    assert_valid_response,
    custom_resource_event,
)
from tests.integration.migrate_function.conftest import (
    EXTRA_REVISION,
    HEAD,
    LoadMigrate,
    Target,
    snapshot,
    write_migrations,
)


@contextmanager
def captured(*logger_names: str) -> Iterator[list[logging.LogRecord]]:
    """Records reaching the named loggers' own handlers (Powertools' loggers do not propagate)."""
    records: list[logging.LogRecord] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Capture(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in logger_names]
    for lg in loggers:
        lg.addHandler(handler)
    try:
        yield records
    finally:
        for lg in loggers:
            lg.removeHandler(handler)


def test_create_migrates_to_head(target: Target, cfn: ResponseEndpoint, load_migrate: LoadMigrate) -> None:
    app = load_migrate(target.env)
    event = custom_resource_event("Create", cfn)
    service = app.logger.service

    with captured(service, "alembic") as records:
        app.lambda_handler(event, LambdaContext())

    response = cfn.only_response()
    assert_valid_response(response, event)
    assert response.body["Status"] == "SUCCESS", response.body["Reason"]
    assert response.body["PhysicalResourceId"] == EXPECTED_PHYSICAL_ID
    assert response.body["Data"] == {"Revision": HEAD, "PreviousRevision": ""}
    state = snapshot(target.url)
    assert {"learning_sessions", "alembic_version"} <= set(state["tables"])
    assert state["versions"] == [HEAD]
    # Alembic ran and logged through Powertools' handler, and our own logger was not disabled by it.
    assert not logging.getLogger(service).disabled
    messages = [(r.name, r.getMessage()) for r in records]
    assert any(name.startswith("alembic") and "Running upgrade  -> " in msg for name, msg in messages), messages
    assert (service, "Database at head") in messages


def test_second_update_changes_nothing(target: Target, cfn: ResponseEndpoint, load_migrate: LoadMigrate) -> None:
    app = load_migrate(target.env)
    app.lambda_handler(custom_resource_event("Create", cfn), LambdaContext())
    engine = create_engine(target.url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO learning_sessions (title, status, owner, created_at, updated_at)"
                " VALUES ('kept', 'planned', 'someone', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    engine.dispose()
    before = snapshot(target.url)

    # A physical id from an earlier version of the function must be kept, or CloudFormation replaces it.
    event = custom_resource_event("Update", cfn, physical_resource_id="legacy-id", old_migrations_hash="0ld")
    with captured("alembic") as records:
        app.lambda_handler(event, LambdaContext())

    response = cfn.wait_for(2)[1]
    assert_valid_response(response, event)
    assert response.body["Status"] == "SUCCESS", response.body["Reason"]
    assert response.body["PhysicalResourceId"] == "legacy-id"
    assert response.body["Data"] == {"Revision": HEAD, "PreviousRevision": HEAD}
    assert snapshot(target.url) == before
    assert not [r for r in records if "Running upgrade" in r.getMessage()]


def test_broken_migration_answers_failed(
    target: Target, cfn: ResponseEndpoint, load_migrate: LoadMigrate, tmp_path: Path
) -> None:
    ini = write_migrations(tmp_path, 'op.execute("UPDATE no_such_table SET x = 1")')
    app = load_migrate(target.env, alembic_config=ini)
    event = custom_resource_event("Create", cfn)

    app.lambda_handler(event, LambdaContext())

    response = cfn.only_response()
    assert_failed(response, event, reason_starts="Migration failed: ", mentions="no_such_table")
    assert response.body["PhysicalResourceId"] == EXPECTED_PHYSICAL_ID
    state = snapshot(target.url)
    assert state.get("versions") != [EXTRA_REVISION]
    if target.backend == "postgres":
        # Transactional DDL: the whole upgrade rolled back, earlier revisions included.
        assert "learning_sessions" not in state["tables"]
        assert "alembic_version" not in state["tables"]


def test_near_timeout_answers_failed_before_the_deadline(
    target: Target, cfn: ResponseEndpoint, load_migrate: LoadMigrate, tmp_path: Path
) -> None:
    ini = write_migrations(tmp_path, "time.sleep(2.5)")
    app = load_migrate(target.env, alembic_config=ini)
    event = custom_resource_event("Create", cfn)
    context = LambdaContext(timeout_ms=1_500)

    app.lambda_handler(event, context)

    first = cfn.only_response()
    assert_valid_response(first, event)
    assert first.body["Status"] == "FAILED"
    assert first.body["Reason"] == "Execution timed out: the migration was not committed"
    assert first.received_at < context.deadline
    # The timer answered only after making COMMIT impossible: the migration, which went on after
    # the answer here (on Lambda the process ends), committed nothing, and nothing answered twice.
    assert snapshot(target.url).get("versions") != [EXTRA_REVISION]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("timeout_ms", "env"),
    [
        # 9 s left: the statement gets 9 - 5 (margin) - 2 (socket slack) = 2 s, before crhelper's timer at 8.5 s.
        pytest.param(9_000, {}, id="time-left"),
        # Plenty of time, but DB_STATEMENT_TIMEOUT_MS set for the function caps it.
        pytest.param(60_000, {"DB_STATEMENT_TIMEOUT_MS": "1500"}, id="configured-cap"),
    ],
)
def test_statements_stop_before_the_lambda_timeout(
    timeout_ms: int,
    env: dict[str, str],
    postgres_target: Target,
    cfn: ResponseEndpoint,
    load_migrate: LoadMigrate,
    tmp_path: Path,
) -> None:
    target = postgres_target
    ini = write_migrations(tmp_path, 'op.execute("SELECT pg_sleep(5)")')
    app = load_migrate({**target.env, **env}, alembic_config=ini)
    event = custom_resource_event("Create", cfn)
    context = LambdaContext(timeout_ms=timeout_ms)
    started = time.monotonic()

    app.lambda_handler(event, context)

    response = cfn.only_response()
    assert response.received_at - started < 4
    assert response.body["Status"] == "FAILED"
    assert "statement timeout" in response.body["Reason"]
    assert "57014" in response.body["Reason"]
    assert "learning_sessions" not in snapshot(target.url)["tables"]


def test_unreachable_database_fails_fast(
    cfn: ResponseEndpoint, load_migrate: LoadMigrate, silent_port: int, closed_port: int
) -> None:
    for port in (silent_port, closed_port):
        env = {"POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": str(port), "POSTGRES_DB": "learning_sessions"}
        app = load_migrate({**env, "POSTGRES_USER": "postgres", "DB_CONNECT_TIMEOUT": "1"})
        event = custom_resource_event("Create", cfn)
        started = time.monotonic()

        # 60 s left: only DB_CONNECT_TIMEOUT may bound the wait, not the time left for migrating.
        app.lambda_handler(event, LambdaContext(timeout_ms=60_000))

        response = cfn.wait_for(1)[-1]
        cfn.responses.clear()
        assert response.received_at - started < 4, f"port {port}: took {response.received_at - started:.1f} s"
        # What an operator needs: which timeout, and the driver's own words (a black hole or a refusal).
        cause = "TimeoutError: timed out" if port == silent_port else "InterfaceError: Can't create a connection"
        assert_failed(
            response,
            event,
            reason_starts="Migration failed: ConnectionError: database not reachable within DB_CONNECT_TIMEOUT=1s",
            mentions=f"s ({cause}",
        )


def test_delete_answers_success_and_touches_nothing(
    target: Target, cfn: ResponseEndpoint, load_migrate: LoadMigrate
) -> None:
    app = load_migrate(target.env)
    app.lambda_handler(custom_resource_event("Create", cfn), LambdaContext())
    before = snapshot(target.url)
    event = custom_resource_event("Delete", cfn)

    app.lambda_handler(event, LambdaContext())

    response = cfn.wait_for(2)[1]
    assert_valid_response(response, event)
    assert response.body["Status"] == "SUCCESS"
    assert response.body["PhysicalResourceId"] == EXPECTED_PHYSICAL_ID
    assert snapshot(target.url) == before


def test_delete_does_not_connect(cfn: ResponseEndpoint, load_migrate: LoadMigrate, silent_port: int) -> None:
    env = {"POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": str(silent_port), "POSTGRES_DB": "learning_sessions"}
    app = load_migrate({**env, "POSTGRES_USER": "postgres", "DB_CONNECT_TIMEOUT": "5"})
    event = custom_resource_event("Delete", cfn)
    started = time.monotonic()

    app.lambda_handler(event, LambdaContext())

    response = cfn.only_response()
    assert response.body["Status"] == "SUCCESS"
    assert response.received_at - started < 2


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        pytest.param({"DB_CONNECT_TIMEOUT": "soon"}, "DB_CONNECT_TIMEOUT", id="bad-setting"),
        pytest.param({"DATABASE_URL": ""}, "No database configured", id="no-database"),
        pytest.param({"ALEMBIC_CONFIG": "/nonexistent/alembic.ini"}, "/nonexistent/alembic.ini", id="no-alembic-ini"),
    ],
)
def test_import_time_failure_fails_create_but_not_delete(
    env: dict[str, str], reason: str, cfn: ResponseEndpoint, load_migrate: LoadMigrate, tmp_path: Path
) -> None:
    database = {"DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}"} if "DATABASE_URL" not in env else {}
    app = load_migrate({**database, **env})
    assert app.init_error is not None
    create = custom_resource_event("Create", cfn)

    app.lambda_handler(create, LambdaContext())

    response = cfn.only_response()
    assert_failed(response, create, reason_starts="Initialisation failed: ", mentions=reason)
    assert response.body["PhysicalResourceId"] == EXPECTED_PHYSICAL_ID

    # The rollback that follows sends Delete, which must not fail too (ROLLBACK_FAILED).
    delete = custom_resource_event("Delete", cfn)
    app.lambda_handler(delete, LambdaContext())
    assert cfn.wait_for(2)[1].body["Status"] == "SUCCESS"
    assert not (tmp_path / "never.db").exists()
