"""Two migration runs never overlap (Postgres advisory lock), and a DDL waiting for a table lock gives
up after MIGRATION_LOCK_TIMEOUT_MS, retries a bounded number of times, and leaves the schema as it was.

The runs are `alembic upgrade head` processes, as `make migrate` and the local server start them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import URL, Engine, create_engine, text

from learning_sessions.data.migrating import MIGRATION_LOCK_KEY
from tests.integration.migrate_function.conftest import EXTRA_REVISION, snapshot, write_migrations
from tests.integration.reliability.conftest import lock_held
from tests.support.databases import REPO_ROOT, fresh_postgres_database, migrate

pytestmark = pytest.mark.postgres

ADD_COLUMN = 'op.execute("ALTER TABLE learning_sessions ADD COLUMN extra integer")'


@pytest.fixture
def database() -> Iterator[tuple[URL, Engine]]:
    with fresh_postgres_database() as url:
        migrate(url)
        engine = create_engine(url)
        try:
            yield url, engine
        finally:
            engine.dispose()


def migrations_with_extra_revision(directory: Path, body: str) -> Path:
    """The repository's migrations plus one revision, with the repository's alembic.ini (its logging too)."""
    ini = write_migrations(directory, body)
    ini.write_text((REPO_ROOT / "alembic.ini").read_text(encoding="utf-8"), encoding="utf-8")
    return ini


def start_upgrade(ini: Path, url: URL, **env: str) -> subprocess.Popen[str]:
    environ = {
        **os.environ,
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "PYTHONPATH": str(REPO_ROOT / "shared"),
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "alembic", "-c", str(ini), "upgrade", "head"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"gave up waiting until {what}"
        time.sleep(0.05)


def test_two_runs_never_overlap_and_the_second_finds_nothing_to_do(
    database: tuple[URL, Engine], tmp_path: Path
) -> None:
    url, engine = database
    ini = migrations_with_extra_revision(tmp_path, ADD_COLUMN)

    def waiting_for_the_migration_lock() -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).scalar()
                or 0
            )

    # Both runs start while a third party holds the lock, so both are surely running at once.
    with lock_held(engine, f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"):
        runs = [start_upgrade(ini, url, MIGRATION_LOCK_TIMEOUT_MS="60000") for _ in range(2)]
        wait_until(lambda: waiting_for_the_migration_lock() == 2, "both runs wait for the migration lock")
    outputs = [run.communicate(timeout=60)[0] for run in runs]

    assert [run.returncode for run in runs] == [0, 0], outputs
    upgrades = [output for output in outputs if f"-> {EXTRA_REVISION}" in output]
    assert len(upgrades) == 1, outputs  # the other one found the schema at head
    assert snapshot(url)["versions"] == [EXTRA_REVISION]


def test_a_ddl_behind_a_held_table_lock_gives_up_retries_and_changes_nothing(
    database: tuple[URL, Engine], tmp_path: Path
) -> None:
    url, engine = database
    ini = migrations_with_extra_revision(tmp_path, ADD_COLUMN)
    before = snapshot(url)

    # An API transaction that reads the table and stays open: ALTER TABLE needs it to end first.
    with lock_held(engine, "SELECT count(*) FROM learning_sessions"):
        run = start_upgrade(ini, url, MIGRATION_LOCK_TIMEOUT_MS="200", MIGRATION_ATTEMPTS="3")
        output = run.communicate(timeout=60)[0]

    assert run.returncode != 0
    assert output.count("gave up waiting for a lock") == 2, output  # three attempts in all
    assert "lock timeout" in output
    assert snapshot(url) == before
    # Once the lock is gone, the same run succeeds.
    rerun = start_upgrade(ini, url)
    assert rerun.communicate(timeout=60)[0] is not None
    assert rerun.returncode == 0
    assert snapshot(url)["versions"] == [EXTRA_REVISION]
