from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import URL, Engine, create_engine, text

from tests.tcp_proxy import FaultyProxy

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="session")
def pg_engine(postgres_database_url: URL) -> Iterator[Engine]:
    engine = create_engine(postgres_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(postgres_database_url: URL, pg_engine: Engine) -> URL:
    """The run's Postgres database, emptied for this test."""
    with pg_engine.begin() as conn:
        conn.execute(text("DELETE FROM learning_sessions"))
        conn.execute(text("DELETE FROM idempotency_records"))
    return postgres_database_url


@pytest.fixture
def proxy(pg_url: URL) -> Iterator[FaultyProxy]:
    with FaultyProxy(pg_url.host or "127.0.0.1", pg_url.port or 5432) as proxy:
        yield proxy


def env_for(url: URL, **extra: str) -> dict[str, str]:
    return {"DATABASE_URL": url.render_as_string(hide_password=False), **extra}
