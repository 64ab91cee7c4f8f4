"""Throwaway databases for the suite: a SQLite file and a fresh Postgres database per run."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import NoReturn

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import URL, Engine, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from tests.support.no_write import tables_of

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_POSTGRES_ADMIN_URL = "postgresql+pg8000://postgres@127.0.0.1:5432/postgres"
# The default time zone of the suite's Postgres databases: not UTC, and not a whole number of
# hours from it, so that any connection the service leaves in the database's zone shows up.
TEST_DATABASE_TIME_ZONE = "Asia/Kathmandu"


def postgres_admin_url() -> URL:
    return make_url(os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_ADMIN_URL))


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def postgres_unavailable(reason: str) -> NoReturn:
    """Skip on a developer's machine without Postgres; in CI a skipped Postgres test is a failure."""
    message = f"Postgres is not reachable at {postgres_admin_url().render_as_string()}: {reason}"
    if in_ci():
        pytest.fail(message + " (CI=true: Postgres tests must run, not skip)", pytrace=False)
    pytest.skip(message + ". Start Postgres or set TEST_POSTGRES_URL to run these tests.")


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


@contextmanager
def fresh_postgres_database(time_zone: str = TEST_DATABASE_TIME_ZONE) -> Iterator[URL]:
    """A new, empty database on the test server, in a time zone other than UTC unless told otherwise."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(
                throwaway_postgres_database(postgres_admin_url(), "learning_sessions_test", time_zone)
            )
        except PostgresUnavailable as exc:
            postgres_unavailable(str(exc))
        yield url


def alembic_config(url: URL | str) -> Config:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    rendered = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
    config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def migrate(url: URL | str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def empty_tables(engine: Engine) -> None:
    """No sessions and no idempotency records: what each test starts from.

    Every table but alembic_version, children first, so it holds whatever tables the schema has.
    """
    with engine.begin() as conn:
        for table in reversed(tables_of(engine)):
            conn.execute(table.delete())


@contextmanager
def injected_fault(engine: Engine, create: Sequence[str], drop: Sequence[str]) -> Iterator[None]:
    """A fault built into the database itself (triggers, functions) for the block, removed after it."""
    with engine.begin() as conn:
        for statement in create:
            conn.execute(text(statement))
    try:
        yield
    finally:
        with engine.begin() as conn:
            for statement in drop:
                conn.execute(text(statement))
