"""`alembic upgrade head` at startup, with the environment the server computed."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from local_api.migrate import MigrationError, upgrade_head
from tests.local_api.conftest import FIXTURES


def alembic_project(path: Path) -> Path:
    shutil.copytree(FIXTURES / "alembic", path, dirs_exist_ok=True)
    return path


def test_upgrade_head_uses_the_given_database_url(tmp_path: Path) -> None:
    project = alembic_project(tmp_path)
    database = tmp_path / "migrated.db"

    assert upgrade_head(project, {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}) is True

    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("select name from sqlite_master where type = 'table'")}
    assert "fixture_items" in tables


def test_no_alembic_ini_means_nothing_to_migrate(tmp_path: Path) -> None:
    assert upgrade_head(tmp_path, dict(os.environ)) is False


def test_a_failing_migration_stops_startup(tmp_path: Path) -> None:
    project = alembic_project(tmp_path)

    with pytest.raises(MigrationError):
        upgrade_head(project, {**os.environ, "DATABASE_URL": "nosuchdialect://nowhere"})
