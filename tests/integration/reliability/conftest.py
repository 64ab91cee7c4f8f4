from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import URL, Engine, create_engine, text

from tests.support.databases import empty_tables
from tests.support.tcp_proxy import FaultyProxy


@pytest.fixture(scope="session")
def pg_engine(postgres_database_url: URL) -> Iterator[Engine]:
    engine = create_engine(postgres_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(postgres_database_url: URL, pg_engine: Engine) -> URL:
    """The run's Postgres database, emptied for this test."""
    empty_tables(pg_engine)
    return postgres_database_url


@pytest.fixture
def proxy(pg_url: URL) -> Iterator[FaultyProxy]:
    with FaultyProxy(pg_url.host or "127.0.0.1", pg_url.port or 5432) as proxy:
        yield proxy


@contextmanager
def lock_held(engine: Engine, statement: str, **params: object) -> Iterator[None]:
    """Another session runs ``statement`` (a lock) in an open transaction until the block ends."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with engine.begin() as conn:
            conn.execute(text(statement), params)
            locked.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(5), "the lock was not taken"
        yield
    finally:
        release.set()
        holder.join()


def env_for(url: URL, **extra: str) -> dict[str, str]:
    return {"DATABASE_URL": url.render_as_string(hide_password=False), **extra}
