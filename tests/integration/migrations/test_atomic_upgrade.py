"""`alembic upgrade` is all or nothing on both databases: a revision that fails partway leaves the
database exactly as it was, and a re-run (once the revision is fixed) succeeds."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import URL, create_engine, text

from tests.integration.migrate_function.conftest import EXTRA_REVISION, HEAD, snapshot, write_migrations
from tests.support.databases import REPO_ROOT, fresh_postgres_database, migrate, postgres_admin_url

# Creates a table and an index, then fails, as a revision with a typo in its last statement would.
HALF_DONE = """
op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
op.create_index("ix_half_done_id", "half_done", ["id"])
op.execute("UPDATE no_such_table SET x = 1")
"""
FIXED = """
op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
op.create_index("ix_half_done_id", "half_done", ["id"])
"""


def config_for(ini: Path, url: URL) -> Config:
    config = Config(str(ini))
    config.set_main_option("sqlalchemy.url", url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def with_sqlalchemy_import(body: str) -> str:
    return "import sqlalchemy as sa\n" + body


@pytest.mark.parametrize("start", ["empty", "at-head"])
def test_a_revision_failing_partway_changes_nothing_and_a_rerun_succeeds(
    start: str,
    empty_database: URL,
    tmp_path: Path,
) -> None:
    database = empty_database
    if start == "at-head":
        migrate(database)
    before = snapshot(database)
    ini = write_migrations(tmp_path / "broken", with_sqlalchemy_import(HALF_DONE))

    with pytest.raises(Exception, match="no_such_table"):
        command.upgrade(config_for(ini, database), "head")

    # Not a single table or index from the failed run: on SQLite, pysqlite used to commit each DDL.
    assert snapshot(database) == before
    fixed = write_migrations(tmp_path / "fixed", with_sqlalchemy_import(FIXED))
    command.upgrade(config_for(fixed, database), "head")
    after = snapshot(database)
    assert after["versions"] == [EXTRA_REVISION]
    assert "half_done" in after["tables"]
    assert HEAD != EXTRA_REVISION


def test_alembic_without_a_database_configured_says_so_in_one_line(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "POSTGRES_"))}
    # The repository's alembic.ini from another directory, so that no .env of the checkout is read.
    ini = tmp_path / "alembic.ini"
    ini.write_text((REPO_ROOT / "alembic.ini").read_text(encoding="utf-8").replace("%(here)s", str(REPO_ROOT)))
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ini), "upgrade", "head"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert "FAILED: No database configured" in result.stdout + result.stderr


@pytest.mark.postgres
def test_a_database_owner_without_createrole_can_still_migrate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Locally a database is often migrated by its owner, who may not create roles: 0004 then skips the role."""
    owner, app_role = f"owner_{uuid.uuid4().hex[:8]}", f"app_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("APP_DB_ROLE", app_role)
    try:
        with fresh_postgres_database() as url:
            admin = create_engine(url, isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE ROLE "{owner}" LOGIN'))
                    conn.execute(text(f'ALTER DATABASE "{url.database}" OWNER TO "{owner}"'))
                migrate(url.set(username=owner))
                with admin.connect() as conn:
                    created = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": app_role}).scalar()
                    assert created is None
                    assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP OWNED BY "{owner}"'))
                    conn.execute(text(f'ALTER DATABASE "{url.database}" OWNER TO postgres'))
                admin.dispose()
    finally:
        drop = create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
        with drop.connect() as conn:
            conn.execute(text(f'DROP ROLE IF EXISTS "{owner}"'))
        drop.dispose()
