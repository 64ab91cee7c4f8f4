from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import URL, make_url

from tests.conftest import BACKENDS
from tests.support.databases import fresh_postgres_database


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[URL]:
    """A database of each backend with nothing in it, not even Alembic's version table."""
    if request.param == "sqlite":
        yield make_url(f"sqlite:///{tmp_path / 'migrations.db'}")
        return
    with fresh_postgres_database() as url:
        yield url
