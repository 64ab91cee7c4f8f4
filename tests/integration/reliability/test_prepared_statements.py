"""The pg8000 dialect's round-trip savings keep their promises on a real Postgres."""

from __future__ import annotations

import pytest
from sqlalchemy import URL, select, text

from learning_sessions.config.settings import Settings
from learning_sessions.data.database import create_db_engine
from learning_sessions.data.tables import learning_sessions
from learning_sessions.data.units_of_work import read_only
from tests.integration.reliability.conftest import env_for

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize(("enabled", "expected"), [("true", 1), ("false", 0)])
def test_each_statement_is_prepared_once_per_connection(pg_url: URL, enabled: str, expected: int) -> None:
    engine = create_db_engine(Settings.from_environ(env_for(pg_url, DB_PREPARED_STATEMENTS=enabled)))
    statement = select(learning_sessions.c.id).where(learning_sessions.c.id == 1)
    try:
        with engine.connect() as conn:
            for session_id in (1, 2, 3):
                conn.execute(statement, {"id_1": session_id}).all()
            prepared = conn.execute(
                text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :pattern"),
                {"pattern": "%FROM learning_sessions%"},
            ).scalar()
        assert prepared == expected
    finally:
        engine.dispose()


def test_writes_commit_and_roll_back(pg_url: URL) -> None:
    from datetime import UTC, datetime

    engine = create_db_engine(Settings.from_environ(env_for(pg_url)))
    now = datetime.now(UTC)
    row = {"title": "t", "status": "planned", "owner": "o", "created_at": now, "updated_at": now}
    try:
        with engine.begin() as conn:
            conn.execute(learning_sessions.insert().values(**row))
        with engine.connect() as conn:
            transaction = conn.begin()
            conn.execute(learning_sessions.insert().values(**row, description="rolled back"))
            transaction.rollback()
        with read_only(engine) as conn:
            descriptions = conn.execute(select(learning_sessions.c.description)).scalars().all()
        assert descriptions == [None]
    finally:
        engine.dispose()


def test_reads_run_outside_a_transaction(pg_url: URL) -> None:
    engine = create_db_engine(Settings.from_environ(env_for(pg_url)))
    statement = select(learning_sessions.c.id).where(learning_sessions.c.id == 1)
    try:
        with read_only(engine) as conn:
            conn.execute(statement).all()
            assert conn.connection.dbapi_connection._in_transaction is False  # type: ignore[union-attr]
        with engine.connect() as conn:
            conn.execute(statement).all()
            assert conn.connection.dbapi_connection._in_transaction is True  # type: ignore[union-attr]
            assert conn.connection.dbapi_connection.autocommit is False  # type: ignore[union-attr]
    finally:
        engine.dispose()
