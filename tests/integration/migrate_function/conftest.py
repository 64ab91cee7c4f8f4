"""Fixtures for the migrate function's custom-resource tests: a database of each backend, the
ResponseURL stand-in, and the handler module loaded from its file as Lambda would load it."""

from __future__ import annotations

import logging
import shutil
import textwrap
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import URL, create_engine, inspect, make_url, text

from tests.integration.migrate_function.cfn import (
    REGION,
    ResponseEndpoint,
    response_endpoint,
    write_self_signed_certificate,
)
from tests.support.databases import REPO_ROOT, fresh_postgres_database
from tests.support.lambda_functions import load_function_module

# Cleared before every load, so that only what a test sets reaches the function.
DATABASE_ENV = (
    *("DATABASE_URL", "POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"),
    *("POSTGRES_SECRET_ARN", "POSTGRES_HOST_OVERRIDE", "DB_CONNECT_TIMEOUT", "DB_STATEMENT_TIMEOUT_MS"),
)
BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


@dataclass(frozen=True)
class Target:
    """A database for one test and the environment that points the function at it."""

    backend: str
    url: URL
    env: dict[str, str]


@pytest.fixture(params=BACKENDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    if request.param == "sqlite":
        url = make_url(f"sqlite:///{tmp_path / 'learning_sessions.db'}")
        yield Target("sqlite", url, {"DATABASE_URL": url.render_as_string(hide_password=False)})
        return
    with fresh_postgres_database() as url:
        yield postgres(url)


@pytest.fixture
def postgres_target() -> Iterator[Target]:
    with fresh_postgres_database() as url:
        yield postgres(url)


def postgres(url: URL) -> Target:
    # The POSTGRES_* variables, as a deployed function without DATABASE_URL gets them.
    env = {
        "POSTGRES_HOST": url.host or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_DB": url.database or "",
        "POSTGRES_USER": url.username or "postgres",
        "POSTGRES_PASSWORD": url.password or "",
    }
    return Target("postgres", url, env)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def cfn(tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[ResponseEndpoint]:
    cert, key = tls_files
    # crhelper verifies the server against the default trust store; OpenSSL reads this per connection.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with response_endpoint(cert, key) as endpoint:
        yield endpoint


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """crhelper sets the root level and the handler copies its handlers onto 'alembic': undo both."""
    root = logging.getLogger()
    names = ("alembic", "boto", "boto3", "botocore", "urllib3")
    loggers = [logging.getLogger(name) for name in names]
    saved = [(lg, lg.level, list(lg.handlers), lg.propagate) for lg in loggers]
    root_level = root.level
    yield
    root.setLevel(root_level)
    for lg, level, handlers, propagate in saved:
        lg.setLevel(level)
        lg.handlers = handlers
        lg.propagate = propagate


LoadMigrate = Callable[..., ModuleType]


@pytest.fixture
def load_migrate(monkeypatch: pytest.MonkeyPatch) -> LoadMigrate:
    """Import functions/migrate/app.py afresh (a cold start) with the given environment."""

    def load(env: dict[str, str], alembic_config: Path | None = None) -> ModuleType:
        for key in (*DATABASE_ENV, "ALEMBIC_CONFIG", "AWS_SAM_LOCAL"):
            monkeypatch.delenv(key, raising=False)
        # Lambda always sets the region; crhelper builds its boto3 clients with it at import.
        monkeypatch.setenv("AWS_REGION", REGION)
        # A logger of its own per load, so that one test's handlers never see another's records.
        monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", f"migrate-test-{uuid.uuid4().hex[:8]}")
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        if alembic_config is not None:
            monkeypatch.setenv("ALEMBIC_CONFIG", str(alembic_config))
        return load_function_module("migrate")

    return load


# The repository's head when the tests run; the suite must not assume how many revisions exist.
HEAD = ScriptDirectory(str(REPO_ROOT / "migrations")).get_current_head()
EXTRA_REVISION = "ffff_test_extra"


def write_migrations(directory: Path, extra_revision: str) -> Path:
    """The repository's migrations plus one more revision on top of head, whose upgrade() is the
    given body; returns the alembic.ini to point the function at."""
    shutil.copytree(REPO_ROOT / "migrations", directory / "migrations", ignore=shutil.ignore_patterns("__pycache__"))
    body = textwrap.indent(textwrap.dedent(extra_revision).strip(), "    ")
    (directory / "migrations" / "versions" / f"{EXTRA_REVISION}.py").write_text(
        f'"""Made by the test."""\n\n'
        "import time\n\nfrom alembic import op\n\n"
        f'revision = "{EXTRA_REVISION}"\ndown_revision = "{HEAD}"\nbranch_labels = None\ndepends_on = None\n\n\n'
        f"def upgrade() -> None:\n{body}\n\n\ndef downgrade() -> None:\n    pass\n",
        encoding="utf-8",
    )
    ini = directory / "alembic.ini"
    ini.write_text("[alembic]\nscript_location = %(here)s/migrations\npath_separator = os\n", encoding="utf-8")
    return ini


def snapshot(url: URL) -> dict[str, Any]:
    """Everything an Update that changes nothing must leave as it was."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            inspector = inspect(conn)
            tables = sorted(inspector.get_table_names())
            state: dict[str, Any] = {
                "tables": tables,
                "columns": {t: [(c["name"], str(c["type"])) for c in inspector.get_columns(t)] for t in tables},
                "indexes": {t: sorted(i["name"] or "" for i in inspector.get_indexes(t)) for t in tables},
            }
            if "alembic_version" in tables:
                state["versions"] = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            if "learning_sessions" in tables:
                state["rows"] = conn.execute(text("SELECT * FROM learning_sessions ORDER BY id")).all()
            return state
    finally:
        engine.dispose()
