"""data.migrating's rules, in-process: what a lock timeout is, when a migration is run again, and what
serialise_migrations sets on Postgres (test_serialised_upgrades.py drives the same through alembic
processes, which no mutant of `make mutate` reaches)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import URL, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from learning_sessions.data import migrating
from learning_sessions.data.migrating import (
    MIGRATION_LOCK_KEY,
    is_lock_timeout,
    run_with_lock_retry,
    serialise_migrations,
)
from tests.integration.reliability.conftest import lock_held
from tests.support.databases import fresh_postgres_database


@pytest.fixture
def postgres_url() -> Iterator[URL]:
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def postgres(postgres_url: URL) -> Iterator[Engine]:
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE guarded (id integer)"))
        yield engine
    finally:
        engine.dispose()


def server_error(sqlstate: str) -> DBAPIError:
    """A DBAPIError around a driver error carrying the server's fields, as pg8000 raises them."""
    return DBAPIError("ALTER TABLE guarded ADD COLUMN x integer", None, Exception({"C": sqlstate, "M": "message"}))


def add_column(engine: Engine) -> None:
    with engine.begin() as conn:
        serialise_migrations(conn, 50)
        conn.execute(text("ALTER TABLE guarded ADD COLUMN x integer"))


def real_lock_timeout(engine: Engine) -> DBAPIError:
    """What Postgres answers a DDL that waited longer than lock_timeout for its table lock."""
    with lock_held(engine, "LOCK TABLE guarded IN ACCESS SHARE MODE"), pytest.raises(DBAPIError) as failure:
        add_column(engine)
    return failure.value


@pytest.mark.postgres
def test_a_ddl_that_waited_past_lock_timeout_is_a_lock_timeout_even_when_wrapped(postgres: Engine) -> None:
    timeout = real_lock_timeout(postgres)
    assert is_lock_timeout(timeout)

    try:
        raise RuntimeError("the migration failed") from timeout
    except RuntimeError as wrapped:
        assert is_lock_timeout(wrapped)


def test_other_failures_are_not_lock_timeouts() -> None:
    assert not is_lock_timeout(server_error("42601"))  # a syntax error
    assert not is_lock_timeout(DBAPIError("SELECT 1", None, Exception("no server fields")))
    assert not is_lock_timeout(RuntimeError("not a database error"))
    assert is_lock_timeout(server_error(migrating.LOCK_NOT_AVAILABLE))


class Attempts:
    """A migration run that gives up on a lock `failures` times, then succeeds."""

    def __init__(self, failures: int, error: BaseException | None = None) -> None:
        self.failures = failures
        self.error = error or server_error(migrating.LOCK_NOT_AVAILABLE)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "migrated"


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr("learning_sessions.data.migrating.time.sleep", slept.append)
    return slept


def test_a_lock_timeout_is_retried_until_an_attempt_succeeds_with_a_pause_of_a_second(pauses: list[float]) -> None:
    run = Attempts(failures=2)
    assert run_with_lock_retry(run, attempts=3) == "migrated"
    assert run.calls == 3
    assert pauses == [1.0, 1.0]


def test_after_the_last_attempt_the_lock_timeout_is_raised(pauses: list[float]) -> None:
    run = Attempts(failures=10)
    with pytest.raises(DBAPIError) as failure:
        run_with_lock_retry(run, attempts=3, pause_seconds=0.25)
    assert failure.value is run.error
    assert run.calls == 3
    assert pauses == [0.25, 0.25]


def test_a_first_success_runs_once(pauses: list[float]) -> None:
    run = Attempts(failures=0)
    assert run_with_lock_retry(run, attempts=3) == "migrated"
    assert (run.calls, pauses) == (1, [])


def test_other_failures_are_not_retried(pauses: list[float]) -> None:
    run = Attempts(failures=1, error=server_error("42601"))
    with pytest.raises(DBAPIError):
        run_with_lock_retry(run, attempts=3)
    assert (run.calls, pauses) == (1, [])


def test_no_retry_once_should_retry_says_no(pauses: list[float]) -> None:
    answers = iter([True, False])
    run = Attempts(failures=10)
    with pytest.raises(DBAPIError):
        run_with_lock_retry(run, attempts=5, should_retry=lambda: next(answers))
    assert run.calls == 2


@pytest.mark.postgres
def test_serialise_migrations_bounds_lock_waits_and_takes_the_advisory_lock_for_the_transaction(
    postgres: Engine,
) -> None:
    advisory = text(
        "SELECT classid::bigint * 4294967296 + objid::bigint FROM pg_locks"
        " WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted"
    )
    with postgres.connect() as conn:
        with conn.begin():
            serialise_migrations(conn, 1500)
            assert conn.execute(text("SHOW lock_timeout")).scalar_one() == "1500ms"
            assert conn.execute(advisory).scalars().all() == [MIGRATION_LOCK_KEY]
        # SET LOCAL and an xact lock: both end with the transaction.
        assert conn.execute(text("SHOW lock_timeout")).scalar_one() == "0"
        assert conn.execute(advisory).scalars().all() == []
        conn.rollback()  # the autobegun transaction of the two reads
        with conn.begin():
            # 0 would mean "wait forever": the shortest bound instead.
            serialise_migrations(conn, 0)
            assert conn.execute(text("SHOW lock_timeout")).scalar_one() == "1ms"


@pytest.mark.postgres
def test_a_second_run_waits_for_the_first(postgres: Engine) -> None:
    holding = lock_held(postgres, f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
    with holding, pytest.raises(DBAPIError) as failure, postgres.begin() as conn:
        serialise_migrations(conn, 50)
    assert is_lock_timeout(failure.value)


def test_on_sqlite_nothing_is_sent(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    sent: list[str] = []
    try:
        with engine.connect() as conn:
            conn.connection.dbapi_connection.set_trace_callback(sent.append)  # type: ignore[union-attr]
            serialise_migrations(conn, 1000)
    finally:
        engine.dispose()
    assert sent == []


def test_each_retry_is_logged_with_its_attempt(pauses: list[float], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger=migrating.LOG.name):
        assert run_with_lock_retry(Attempts(failures=1), attempts=3) == "migrated"
    assert [record.getMessage() for record in caplog.records] == [
        "Migration gave up waiting for a lock (attempt 1 of 3); retrying"
    ]
