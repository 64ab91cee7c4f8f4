"""Migration 0005 (session owner) on a table that already holds sessions, up and back down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Engine, create_engine, inspect, make_url, text
from sqlalchemy.exc import IntegrityError, ProgrammingError

from tests.support.databases import alembic_config, fresh_postgres_database

OWNER_REVISION = "0005"
ROWS = 7
OLD_INDEXES = {
    "ix_learning_sessions_created_at_id": ["created_at", "id"],
    "ix_learning_sessions_status_created_at_id": ["status", "created_at", "id"],
}
NEW_INDEXES = {
    "ix_learning_sessions_owner_created_at_id": ["owner", "created_at", "id"],
    "ix_learning_sessions_owner_status_created_at_id": ["owner", "status", "created_at", "id"],
}


@pytest.fixture
def engine(empty_database: URL) -> Iterator[Engine]:
    engine = create_engine(empty_database)
    yield engine
    engine.dispose()


def revision_before_owner() -> str:
    """0005's parent, whatever the chain is re-linked to when branches merge."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(OWNER_REVISION)
    assert script is not None
    assert isinstance(script.down_revision, str)
    return script.down_revision


def seed_without_owner(engine: Engine) -> list[tuple[Any, ...]]:
    """ROWS sessions as the schema before 0005 holds them, one deleted (so ids have a gap); the rest."""
    with engine.begin() as conn:
        for n in range(ROWS):
            conn.execute(
                text(
                    "INSERT INTO learning_sessions (title, status, created_at, updated_at)"
                    " VALUES (:title, :status, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"title": f"before owners {n}", "status": ("planned", "completed")[n % 2]},
            )
        conn.execute(text("DELETE FROM learning_sessions WHERE title = :title"), {"title": f"before owners {ROWS - 1}"})
    return sessions(engine)


def sessions(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text("SELECT id, title, status FROM learning_sessions ORDER BY id"))]


def owners(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT owner FROM learning_sessions ORDER BY id")).scalars())


def indexes(engine: Engine) -> dict[str | None, list[str | None]]:
    return {index["name"]: index["column_names"] for index in inspect(engine).get_indexes("learning_sessions")}


def test_upgrade_backfills_every_row_in_batches_then_downgrade_keeps_them(
    empty_database: URL, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, revision_before_owner())
    before = seed_without_owner(engine)
    monkeypatch.setenv("MIGRATION_BACKFILL_OWNER", "the-first-user")
    # Fewer rows per batch than rows: only a loop that runs to the end fills them all.
    monkeypatch.setenv("MIGRATION_BACKFILL_BATCH_SIZE", "2")

    command.upgrade(config, OWNER_REVISION)

    assert sessions(engine) == before
    assert owners(engine) == ["the-first-user"] * (ROWS - 1)
    assert indexes(engine) == NEW_INDEXES
    columns = {column["name"]: column for column in inspect(engine).get_columns("learning_sessions")}
    assert columns["owner"]["nullable"] is False
    with pytest.raises((IntegrityError, ProgrammingError)), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO learning_sessions (title, status, created_at, updated_at)"
                " VALUES ('no owner', 'planned', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    # No helper constraint left behind: the table's checks are the model's.
    assert [check["name"] for check in inspect(engine).get_check_constraints("learning_sessions")] == [
        "ck_learning_sessions_status"
    ]

    command.downgrade(config, revision_before_owner())

    assert sessions(engine) == before
    assert "owner" not in {column["name"] for column in inspect(engine).get_columns("learning_sessions")}
    assert indexes(engine) == OLD_INDEXES

    command.upgrade(config, "head")
    assert sessions(engine) == before


def test_backfill_owner_defaults_to_the_local_user(
    empty_database: URL, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unset, existing rows go to make dev's user, so a local database stays visible as it was."""
    from local_api.authorizer import LOCAL_USER

    monkeypatch.delenv("MIGRATION_BACKFILL_OWNER", raising=False)
    config = alembic_config(empty_database)
    command.upgrade(config, revision_before_owner())
    seed_without_owner(engine)
    command.upgrade(config, OWNER_REVISION)
    assert owners(engine) == [LOCAL_USER] * (ROWS - 1)


def test_sqlite_keeps_autoincrement_through_the_rebuild(tmp_path: Path) -> None:
    """Batch mode rebuilds the table; without AUTOINCREMENT, SQLite would reuse a deleted id."""
    url = make_url(f"sqlite:///{tmp_path / 'rebuild.db'}")
    config = alembic_config(url)
    command.upgrade(config, revision_before_owner())
    engine = create_engine(url)
    try:
        before = seed_without_owner(engine)
        command.upgrade(config, OWNER_REVISION)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO learning_sessions (title, status, owner, created_at, updated_at)"
                    " VALUES ('after', 'planned', 'o', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        # The deleted row had id ROWS; a new one must not take it.
        assert sessions(engine)[-1][0] == ROWS + 1 > before[-1][0]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_upgrade_takes_a_column_and_indexes_prepared_concurrently_by_hand(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """docs/deploying.md's recipe for a large table: the migration finds what was built and goes on."""
    monkeypatch.setenv("MIGRATION_BACKFILL_OWNER", "someone")
    with fresh_postgres_database() as url:
        config = alembic_config(url)
        command.upgrade(config, revision_before_owner())
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            before = seed_without_owner(engine)
            with engine.connect() as conn:
                conn.execute(text("ALTER TABLE learning_sessions ADD COLUMN owner varchar(255)"))
                for name, columns in NEW_INDEXES.items():
                    conn.execute(text(f"CREATE INDEX CONCURRENTLY {name} ON learning_sessions ({', '.join(columns)})"))
            command.upgrade(config, OWNER_REVISION)
            assert sessions(engine) == before
            assert owners(engine) == ["someone"] * (ROWS - 1)
            assert indexes(engine) == NEW_INDEXES
        finally:
            engine.dispose()
