"""Throwaway databases for the suite: a SQLite file and a fresh Postgres database per run."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import NoReturn

import pytest
from sqlalchemy import URL, Engine, make_url, text

from tests.support.no_write import tables_of
from tools.databases import (
    DEFAULT_POSTGRES_ADMIN_URL,
    REPO_ROOT,
    PostgresUnavailable,
    alembic_config,
    migrate,
    throwaway_postgres_database,
)

# Re-exported: the suite imports them from here.
__all__ = [
    "REPO_ROOT",
    "PostgresUnavailable",
    "alembic_config",
    "empty_tables",
    "fresh_postgres_database",
    "in_ci",
    "injected_fault",
    "migrate",
    "postgres_admin_url",
    "postgres_unavailable",
    "throwaway_cluster",
    "throwaway_postgres_database",
]
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


@contextmanager
def throwaway_cluster(name: str, port: int, version: str = "15", **settings: str) -> Iterator[URL]:
    """A Postgres cluster of its own (Debian's pg_createcluster, as root), with these server settings.

    Its admin URL (trust authentication); the cluster is stopped and dropped afterwards.
    """
    options = [argument for key, value in settings.items() for argument in ("-o", f"{key}={value}")]
    subprocess.run(
        ["pg_createcluster", version, name, "-p", str(port), *options, "--", "--auth-local=trust", "--auth-host=trust"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        subprocess.run(["pg_ctlcluster", version, name, "start"], check=True)
        yield make_url(f"postgresql+pg8000://postgres@127.0.0.1:{port}/postgres")
    finally:
        subprocess.run(["pg_dropcluster", "--stop", version, name], check=False)


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
