"""Throwaway Postgres databases and Alembic upgrades: shared by the tests and the benchmark.

No pytest here: bench/ imports it. tests/support/databases.py adds what only the suite needs (the
admin URL from TEST_POSTGRES_URL, skipping or failing when Postgres is missing).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import URL, create_engine, text
from sqlalchemy.exc import DBAPIError

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_POSTGRES_ADMIN_URL = "postgresql+pg8000://postgres@127.0.0.1:5432/postgres"


class PostgresUnavailable(Exception):
    """The server at the admin URL cannot be reached, or refuses to create a database."""


@contextmanager
def throwaway_postgres_database(admin_url: URL, prefix: str, time_zone: str | None = None) -> Iterator[URL]:
    """A new, empty database on the server at ``admin_url``, dropped (with its connections) afterwards.

    With ``time_zone``, sessions on it default to that zone instead of the server's.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"timeout": 5})
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            if time_zone is not None:
                conn.execute(text(f"ALTER DATABASE \"{name}\" SET timezone TO '{time_zone}'"))
    except (DBAPIError, OSError) as exc:
        admin.dispose()
        raise PostgresUnavailable(f"{type(exc).__name__}: {exc}") from exc
    try:
        yield admin_url.set(database=name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def alembic_config(url: URL | str) -> Config:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    rendered = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
    config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def migrate(url: URL | str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
