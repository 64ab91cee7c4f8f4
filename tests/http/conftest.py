"""The real template served by `python -m local_api`, as `make dev` serves it, on each backend."""

from __future__ import annotations

import signal
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from sqlalchemy import URL, create_engine

from tests.local_server import REPO_ROOT, Server, start_local_api


def serve(database_url: str, log_dir: Path, *extra_args: str, env: Mapping[str, str] | None = None) -> Server:
    # The repository itself is the project: its alembic.ini, template and docs/openapi.json.
    # An explicit DATABASE_URL wins over a developer's .env there.
    env = {"DATABASE_URL": database_url, "HOME": str(log_dir), **(env or {})}
    return start_local_api(REPO_ROOT, REPO_ROOT / "template.yaml", list(extra_args), env, log_dir=log_dir)


@pytest.fixture(scope="session")
def live_api(database_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per backend for the session; it migrates on start like `make dev`."""
    server = serve(database_url.render_as_string(hide_password=False), tmp_path_factory.mktemp("live_api"))
    server.no_write_on_5xx = create_engine(database_url)
    yield server
    server.no_write_on_5xx.dispose()
    assert server.stop(signal.SIGTERM) == 0, server.log
