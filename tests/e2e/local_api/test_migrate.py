"""`alembic upgrade head` at startup, with the environment the server computed."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from local_api.migrate import MigrationError, upgrade_head
from tests.e2e.local_api.conftest import FIXTURES, REPO_ROOT


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


@pytest.mark.parametrize("port_kind", ["silent", "closed"])
def test_unreachable_database_stops_startup_with_one_line(port_kind: str, request: pytest.FixtureRequest) -> None:
    """`python -m local_api` on the real project: no hang on a database that never answers, and one
    line naming host and port (not the password) instead of alembic's traceback."""
    port = request.getfixturevalue(f"{port_kind}_port")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql://postgres:Hunter2Secret@127.0.0.1:{port}/learning_sessions",
        "DB_CONNECT_TIMEOUT": "1",
    }
    # The timeout only turns a hang into a failure; the connect timeout is 1 s.
    result = subprocess.run(
        [sys.executable, "-m", "local_api", "--port", "0"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line or "FAILED" in line]
    assert len(errors) == 1, result.stderr
    assert f"127.0.0.1:{port}" in errors[0]
    assert "Traceback" not in result.stderr
    assert "Hunter2Secret" not in result.stderr + result.stdout
