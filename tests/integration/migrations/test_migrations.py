"""Alembic: the migrations build exactly the schema the code declares, and cycle cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import URL, create_engine, inspect, make_url

from learning_sessions.data.tables import metadata
from tests.support.databases import alembic_config, migrate


def schema_differences(url: URL) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_models_and_migrations_agree(empty_database: URL) -> None:
    migrate(empty_database)
    assert schema_differences(empty_database) == []


def test_autogenerate_would_notice_a_difference(empty_database: URL) -> None:
    """The comparison above can fail: a migration that stops short of head leaves a diff."""
    migrate(empty_database, "head")
    command.downgrade(alembic_config(empty_database), "base")
    assert schema_differences(empty_database) != []


def test_downgrade_base_then_upgrade_head_works_twice(empty_database: URL) -> None:
    config = alembic_config(empty_database)
    for _ in range(2):
        command.upgrade(config, "head")
        command.downgrade(config, "base")
    command.upgrade(config, "head")
    engine = create_engine(empty_database)
    try:
        inspector = inspect(engine)
        assert "learning_sessions" in inspector.get_table_names()
        indexes = {index["name"]: index["column_names"] for index in inspector.get_indexes("learning_sessions")}
        assert indexes == {
            "ix_learning_sessions_owner_created_at_id": ["owner", "created_at", "id"],
            "ix_learning_sessions_owner_status_created_at_id": ["owner", "status", "created_at", "id"],
        }
        checks = [check["name"] for check in inspector.get_check_constraints("learning_sessions")]
        assert checks == ["ck_learning_sessions_status"]
    finally:
        engine.dispose()


def test_upgrade_is_idempotent(empty_database: URL) -> None:
    migrate(empty_database)
    migrate(empty_database)
    assert schema_differences(empty_database) == []


def test_status_check_constraint_is_enforced(empty_database: URL) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    from learning_sessions.data.tables import learning_sessions

    migrate(empty_database)
    engine = create_engine(empty_database)
    now = datetime.now(UTC)
    row = {"title": "t", "status": "archived", "owner": "o", "created_at": now, "updated_at": now}
    try:
        with pytest.raises((IntegrityError, ProgrammingError)), engine.begin() as conn:
            conn.execute(insert(learning_sessions).values(row))
    finally:
        engine.dispose()


def test_alembic_upgrade_head_works_from_the_command_line_with_database_url(tmp_path: Path) -> None:
    """The seed's `alembic upgrade head`, verbatim, from the repository root."""
    import os
    import subprocess
    import sys

    from tests.support.databases import REPO_ROOT

    database = tmp_path / "learning_env.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    alembic = Path(sys.executable).parent / "alembic"
    subprocess.run([str(alembic), "upgrade", "head"], cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    assert schema_differences(make_url(f"sqlite:///{database}")) == []


def test_0003_replaces_idempotency_records_with_idempotency_keys_and_back(empty_database: URL) -> None:
    config = alembic_config(empty_database)

    def tables() -> set[str]:
        engine = create_engine(empty_database)
        try:
            return set(inspect(engine).get_table_names())
        finally:
            engine.dispose()

    command.upgrade(config, "0002")
    assert {"idempotency_records", "idempotency_keys"} & tables() == {"idempotency_records"}
    command.upgrade(config, "0003")
    assert {"idempotency_records", "idempotency_keys"} & tables() == {"idempotency_keys"}
    command.downgrade(config, "0002")
    assert {"idempotency_records", "idempotency_keys"} & tables() == {"idempotency_records"}
    command.upgrade(config, "head")
    assert schema_differences(empty_database) == []
