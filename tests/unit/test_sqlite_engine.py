"""The SQLite engine (what `make dev` serves) keeps the Postgres engine's log hygiene and write locking."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from learning_sessions.config.settings import Settings
from learning_sessions.data.database import create_db_engine


@pytest.fixture
def database_file(tmp_path: Path) -> Path:
    return tmp_path / "learning_sessions.db"


def sqlite_engine(path: Path, busy_timeout_seconds: float) -> Engine:
    settings = Settings.from_environ(
        {"DATABASE_URL": f"sqlite:///{path}", "DB_CONNECT_TIMEOUT": str(busy_timeout_seconds)}
    )
    return create_db_engine(settings)


@pytest.fixture
def engine(database_file: Path) -> Iterator[Engine]:
    engine = sqlite_engine(database_file, 5)
    yield engine
    engine.dispose()


def test_a_failed_statement_does_not_quote_the_values_it_was_given(engine: Engine) -> None:
    """An error message would otherwise carry a request body into the logs (issue 13: SQLite ran unchecked)."""
    with pytest.raises(OperationalError) as failure, engine.connect() as conn:
        conn.execute(text("INSERT INTO no_such_table (notes) VALUES (:notes)"), {"notes": "a learner's private notes"})
    assert "private notes" not in str(failure.value)
    assert "no_such_table" in str(failure.value)


def test_a_second_writer_is_held_off_from_begin_not_from_its_first_write(engine: Engine, database_file: Path) -> None:
    """BEGIN IMMEDIATE takes the write lock when a transaction starts, as a Postgres row lock would.

    Otherwise two transactions that both read first then deadlock ("database is locked") on their
    writes. With a busy timeout far shorter than the first transaction, the second one's BEGIN fails.
    """
    impatient = sqlite_engine(database_file, 0.01)
    try:
        with engine.begin() as first:
            first.execute(text("SELECT 1"))
            with pytest.raises(OperationalError, match="database is locked"), impatient.begin() as second:
                second.execute(text("SELECT 1"))
        with impatient.begin() as second:
            assert second.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        impatient.dispose()


def test_the_busy_timeout_is_db_connect_timeout(database_file: Path) -> None:
    """Local workers sharing the file wait this long for each other's write lock (sqlite3's own default is 5 s)."""
    engine = sqlite_engine(database_file, 2.5)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 2500
    finally:
        engine.dispose()
