"""The API under test: `python -m local_api` on each backend, as `make dev` serves it, or a deployed stack.

With LEARNING_SESSIONS_API_URL set (the deploy workflow's e2e-dev job sets it to dev's URL), no
local server and no database are started: every request goes to that base URL, with
`Authorization: Bearer $LEARNING_SESSIONS_API_TOKEN` when a token is given. The tests that need
what only a local run has (the database, a server started with its own settings, /api/docs) skip.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import URL, Engine, create_engine

from tests.support.local_server import REPO_ROOT, Reply, Server, http, start_local_api

DEPLOYED_API_URL = os.environ.get("LEARNING_SESSIONS_API_URL", "").rstrip("/")
DEPLOYED_API_TOKEN = os.environ.get("LEARNING_SESSIONS_API_TOKEN", "")
# The dev stage throttles (ThrottlingRateLimit=10, ThrottlingBurstLimit=20 in samconfig.toml) and the
# suite's bursts exceed that. API Gateway refuses a throttled request before any function sees it,
# and the service itself never answers 429, so a throttled request is sent again, a few times.
THROTTLED_ATTEMPTS = 6
THROTTLED_WAIT_SECONDS = 1.0


def auth_headers() -> dict[str, str]:
    """What every request to a deployed stack carries; the local server runs without authentication."""
    return {"Authorization": f"Bearer {DEPLOYED_API_TOKEN}"} if DEPLOYED_API_URL and DEPLOYED_API_TOKEN else {}


def local_only(why: str) -> pytest.MarkDecorator:
    """Skip against a deployed stack, saying what only the local run has."""
    return pytest.mark.skipif(bool(DEPLOYED_API_URL), reason=f"LEARNING_SESSIONS_API_URL is set: {why}")


def unless_throttled(send: Callable[[], Reply]) -> Reply:
    """Send, and send again while API Gateway answers 429, waiting as it asks (or a second)."""
    for _ in range(THROTTLED_ATTEMPTS - 1):
        reply = send()
        if reply.status != 429:
            return reply
        time.sleep(min(float(reply.headers.get("Retry-After") or THROTTLED_WAIT_SECONDS), 10.0))
    return send()


@dataclass
class DeployedApi:
    base_url: str
    # Nobody here can read a deployed stack's database: the no-write-on-5xx check is a local one.
    no_write_on_5xx: Engine | None = None

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> Reply:
        return unless_throttled(lambda: http(method, self.base_url + path, body, {**auth_headers(), **(headers or {})}))


Api = Server | DeployedApi


def serve(database_url: str, log_dir: Path, *extra_args: str, env: Mapping[str, str] | None = None) -> Server:
    # The repository itself is the project: its alembic.ini, template and docs/openapi.json.
    # An explicit DATABASE_URL wins over a developer's .env there.
    env = {"DATABASE_URL": database_url, "HOME": str(log_dir), **(env or {})}
    return start_local_api(REPO_ROOT, REPO_ROOT / "template.yaml", list(extra_args), env, log_dir=log_dir)


if DEPLOYED_API_URL:

    @pytest.fixture(scope="session", name="live_api")
    def deployed_api() -> Api:
        """The stack at LEARNING_SESSIONS_API_URL, once (it has no backends to choose from)."""
        return DeployedApi(DEPLOYED_API_URL)

else:

    @pytest.fixture(scope="session", name="live_api")
    def local_api(database_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
        """One server per backend for the session; it migrates on start like `make dev`."""
        server = serve(database_url.render_as_string(hide_password=False), tmp_path_factory.mktemp("live_api"))
        server.no_write_on_5xx = create_engine(database_url)
        yield server
        server.no_write_on_5xx.dispose()
        assert server.stop(signal.SIGTERM) == 0, server.log


@pytest.fixture
def created(live_api: Api) -> Iterator[list[str]]:
    """Locations of the sessions a test creates, deleted after it: a deployed stack keeps what it is given."""
    locations: list[str] = []
    yield locations
    for location in locations:
        assert live_api.request("DELETE", location).status in (204, 404)
