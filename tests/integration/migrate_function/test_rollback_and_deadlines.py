"""The migrate function under CloudFormation's rollbacks and Lambda's deadline."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pg8000.exceptions import DatabaseError as PgDatabaseError
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from tests.integration.migrate_function.cfn import (
    LambdaContext,
    RecordedResponse,
    ResponseEndpoint,
    assert_failed,
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
from tests.integration.reliability.conftest import lock_held
from tests.support.databases import migrate


def test_rollback_to_an_older_package_after_a_migration_answers_success(
    target: Target, cfn: ResponseEndpoint, load_migrate: LoadMigrate, tmp_path: Path
) -> None:
    migrate(target.url)
    # The stack update: the new package (one revision more) migrates the database.
    new_package = write_migrations(tmp_path, 'op.execute("CREATE TABLE added_later (id integer)")')
    app = load_migrate(target.env, alembic_config=new_package)
    update = custom_resource_event("Update", cfn, migrations_hash="new", old_migrations_hash="old")
    app.lambda_handler(update, LambdaContext())
    assert cfn.only_response().body["Status"] == "SUCCESS"
    migrated = snapshot(target.url)
    assert migrated["versions"] == [EXTRA_REVISION]
    cfn.responses.clear()

    # A later resource fails; CloudFormation rolls the function back to the old package and sends
    # an Update with the old properties.
    old_app = load_migrate(target.env)
    rollback = custom_resource_event("Update", cfn, migrations_hash="old", old_migrations_hash="new")
    old_app.lambda_handler(rollback, LambdaContext())

    response = cfn.only_response()
    assert response.body["Status"] == "SUCCESS", response.body["Reason"]
    assert response.body["Data"]["Revision"] == EXTRA_REVISION
    assert EXTRA_REVISION in response.body["Data"]["Warning"]
    assert snapshot(target.url) == migrated
    assert HEAD != EXTRA_REVISION


@pytest.mark.postgres
def test_a_migration_that_cannot_finish_in_time_is_rolled_back_before_failed_is_sent(
    postgres_target: Target, cfn: ResponseEndpoint, load_migrate: LoadMigrate, tmp_path: Path
) -> None:
    target = postgres_target
    migrate(target.url)
    ini = write_migrations(
        tmp_path,
        'op.execute("CREATE TABLE added_first (id integer)")\n'
        'op.execute("ALTER TABLE learning_sessions ADD COLUMN extra integer")',
    )
    app = load_migrate(target.env, alembic_config=ini)
    before = snapshot(target.url)
    engine = create_engine(target.url)
    seen_when_answered: list[dict[str, Any]] = []
    record = cfn.record

    def record_with_database_state(response: RecordedResponse) -> None:
        # What the database looks like at the very moment the answer arrives.
        with engine.connect() as conn:
            open_migrations = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'learning-sessions' "
                    "AND datname = current_database() AND state <> 'idle'"
                )
            ).scalar()
        seen_when_answered.append({"snapshot": snapshot(target.url), "open_migrations": open_migrations})
        record(response)

    cfn.record = record_with_database_state  # type: ignore[method-assign]
    event = custom_resource_event("Create", cfn)
    try:
        # An API transaction holds the table for longer than the function has left.
        with lock_held(engine, "SELECT count(*) FROM learning_sessions"):
            app.lambda_handler(event, LambdaContext(timeout_ms=8_500))
            response = cfn.only_response()
    finally:
        engine.dispose()

    # Postgres ended the wait (lock or statement timeout, whichever fired first), not Lambda.
    assert_failed(response, event, reason_starts="Migration failed: ", mentions="timeout")
    assert seen_when_answered[0]["open_migrations"] == 0, "FAILED was sent while the transaction was open"
    assert seen_when_answered[0]["snapshot"] == before
    assert snapshot(target.url) == before


def test_more_than_one_migration_head_fails_create_and_names_them(
    target: Target, cfn: ResponseEndpoint, load_migrate: LoadMigrate, tmp_path: Path
) -> None:
    ini = write_migrations(tmp_path, "pass")
    versions = tmp_path / "migrations" / "versions"
    second_head = (versions / f"{EXTRA_REVISION}.py").read_text(encoding="utf-8")
    (versions / "ffff_second_head.py").write_text(
        second_head.replace(f'revision = "{EXTRA_REVISION}"', 'revision = "ffff_second_head"'), encoding="utf-8"
    )
    app = load_migrate(target.env, alembic_config=ini)
    event = custom_resource_event("Create", cfn)

    app.lambda_handler(event, LambdaContext())

    response = cfn.only_response()
    assert_failed(response, event, reason_starts="Initialisation failed: ", mentions="exactly one head")
    assert EXTRA_REVISION in response.body["Reason"]
    assert "ffff_second_head" in response.body["Reason"]
    assert "learning_sessions" not in snapshot(target.url)["tables"]


def test_the_timeout_answer_stays_silent_while_commit_is_under_way(load_migrate: LoadMigrate, tmp_path: Path) -> None:
    """The other order of the race: COMMIT already sent when crhelper's timer fires. The timer must
    not claim a failure the database may not have had; the handler answers with the real outcome."""
    app = load_migrate({"DATABASE_URL": f"sqlite:///{tmp_path / 'guard.db'}"})
    guard = app.CommitGuard()
    committing, finish = threading.Event(), threading.Event()

    def slow_commit() -> None:
        committing.set()
        finish.wait(10)

    committer = threading.Thread(target=guard.commit, args=(slow_commit,))
    committer.start()
    assert committing.wait(10)
    try:
        assert guard.abandon(wait_seconds=0.05) is False
    finally:
        finish.set()
        committer.join()
    assert guard.abandon(wait_seconds=0.05) is False  # committed: nothing left to abandon

    fresh = app.CommitGuard()
    assert fresh.abandon(wait_seconds=0.05) is True
    with pytest.raises(TimeoutError, match=r"^the time to migrate ran out; the transaction was not committed$"):
        fresh.commit(lambda: pytest.fail("COMMIT must not be sent after the timeout answer"))


def test_abandoning_a_run_whose_connection_already_died_still_answers(load_migrate: LoadMigrate) -> None:
    # The server may have closed the socket first (a restart, the statement timeout's FATAL): shutting
    # it down then fails, and the timer must still answer FAILED rather than die with an OSError.
    app = load_migrate({"DATABASE_URL": "sqlite://"})
    guard = app.CommitGuard()
    gone = socket.socket()
    gone.close()
    guard.watch(gone)
    assert guard.abandon(wait_seconds=0.05) is True


@pytest.mark.parametrize(
    ("configured", "budgets"),
    [
        (None, {60_000: 53_000, 7_500: 1_000}),  # the API's 3 s default does not cap a migration
        ("10000", {60_000: 10_000, 7_500: 1_000}),
        ("0", {60_000: 53_000}),  # 0: no cap
    ],
    ids=["default", "capped", "uncapped"],
)
def test_a_statement_may_use_the_time_left_less_the_margin_up_to_the_configured_cap(
    load_migrate: LoadMigrate, configured: str | None, budgets: dict[int, int]
) -> None:
    env = {"DATABASE_URL": "sqlite://"} | ({"DB_STATEMENT_TIMEOUT_MS": configured} if configured else {})
    app = load_migrate(env)
    assert app.RESPONSE_MARGIN_MS + app.SOCKET_SLACK_MS == 7_000
    assert app.MIN_BUDGET_MS == 1_000
    assert {left: app.statement_budget_ms(left) for left in budgets} == budgets


def test_the_migration_connects_with_the_budget_as_its_statement_and_socket_timeouts(
    load_migrate: LoadMigrate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = load_migrate({"DATABASE_URL": f"sqlite:///{tmp_path / 'budget.db'}"})
    engines_for: list[Any] = []
    create_db_engine = app.create_db_engine

    def recording(settings: Any) -> Any:
        engines_for.append(settings)
        return create_db_engine(settings)

    monkeypatch.setattr(app, "create_db_engine", recording)
    assert app.upgrade_to_head(time.monotonic() + 600) == (None, HEAD)
    (settings,) = engines_for
    # Ten minutes left: all but the margin to roll back and answer; the socket waits a little longer.
    assert 593_000 - 100 < settings.db_statement_timeout_ms <= 593_000
    assert settings.db_connect_timeout == (settings.db_statement_timeout_ms + 2_000) / 1000


@pytest.mark.postgres
def test_the_timeout_answer_can_shut_the_migrations_own_connection(
    postgres_target: Target, load_migrate: LoadMigrate, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = load_migrate(postgres_target.env)
    watched: list[tuple[str, int]] = []
    monkeypatch.setattr(app.helper.guard, "watch", lambda sock: watched.append(sock.getpeername()[:2]))
    app.upgrade_to_head(time.monotonic() + 600)
    assert watched == [("127.0.0.1", postgres_target.url.port or 5432)]


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (RuntimeError("boom"), "RuntimeError: boom"),
        (RuntimeError(), "RuntimeError: "),
        (
            DBAPIError("ALTER TABLE x", None, PgDatabaseError({"M": "lock timeout", "C": "55P03", "S": "ERROR"})),
            "DatabaseError: lock timeout (SQLSTATE 55P03)",
        ),
        (DBAPIError("ALTER TABLE x", None, PgDatabaseError({"M": "no code"})), "DatabaseError: no code (SQLSTATE ?)"),
        (DBAPIError("SELECT 1", None, PgDatabaseError({"C": "XX000"})), "DatabaseError: {'C': 'XX000'}"),
        (ValueError("x" * 300), "ValueError: " + "x" * 188),
    ],
    ids=["plain", "no-args", "postgres-fields", "no-sqlstate", "no-message", "long"],
)
def test_the_reason_cloudformation_shows_is_the_drivers_message_and_sqlstate(
    load_migrate: LoadMigrate, error: BaseException, reason: str
) -> None:
    app = load_migrate({"DATABASE_URL": "sqlite://"})
    assert app.describe(error) == reason
    assert len(reason) <= 200


def test_abandoning_a_run_shuts_its_connection(load_migrate: LoadMigrate) -> None:
    # Postgres rolls the transaction back when the session ends; the handler's read wakes up.
    app = load_migrate({"DATABASE_URL": "sqlite://"})
    guard = app.CommitGuard()
    ours, server = socket.socketpair()
    with ours, server:
        server.settimeout(2)  # a connection left open would otherwise hold this test forever
        guard.watch(ours)
        assert guard.abandon(wait_seconds=0.05) is True
        assert server.recv(1) == b""


def test_the_time_a_retried_migration_may_use_keeps_the_margin_to_answer(load_migrate: LoadMigrate) -> None:
    # A lock timeout is retried only while this is positive (run_with_lock_retry's should_retry).
    app = load_migrate({"DATABASE_URL": "sqlite://"})
    margin_ms = app.RESPONSE_MARGIN_MS + app.SOCKET_SLACK_MS
    now = time.monotonic()
    ten_seconds_left = app.time_left_ms(now + 10)
    assert 10_000 - margin_ms - 1_000 < ten_seconds_left <= 10_000 - margin_ms
    assert app.time_left_ms(now + margin_ms / 1000) <= 0
