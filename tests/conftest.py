"""Fixtures shared by the whole suite."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import URL, Engine, create_engine, make_url

from tests.support.databases import empty_tables, fresh_postgres_database, migrate

BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[URL]:
    """A fresh, migrated Postgres database for this run (skips, or fails in CI, without Postgres)."""
    with fresh_postgres_database() as url:
        migrate(url)
        yield url


@pytest.fixture(scope="session")
def sqlite_database_url(tmp_path_factory: pytest.TempPathFactory) -> URL:
    path: Path = tmp_path_factory.mktemp("sqlite") / "learning_sessions.db"
    url = make_url(f"sqlite:///{path}")
    migrate(url)
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> URL:
    """A migrated database of each backend, shared by the tests of one run."""
    url: URL = request.getfixturevalue(f"{request.param}_database_url")
    return url


@pytest.fixture(scope="session")
def engine(database_url: URL) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clean_db(engine: Engine) -> Engine:
    """The migrated database with no sessions (and no Idempotency-Keys) in it."""
    empty_tables(engine)
    return engine


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word: a database behind a black hole."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
