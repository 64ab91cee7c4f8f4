"""The built artifacts (one `sam build` per session) and a database of each backend to run them on."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import URL, make_url

from tests.integration.migrate_function.cfn import (
    RecordedResponse,
    custom_resource_event,
    response_endpoint,
    write_self_signed_certificate,
)
from tests.support.databases import fresh_postgres_database
from tools.lambda_layout import Invocation, invoke, make_runtime_dir, sam_build

BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def build_dir() -> Path:
    return sam_build()


@pytest.fixture(scope="session")
def layer_dir(build_dir: Path) -> Path:
    return build_dir / "SharedLayer" / "python"


@pytest.fixture(scope="session")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_runtime_dir(tmp_path_factory.mktemp("var-runtime"))


@dataclass(frozen=True)
class Migrated:
    """A fresh database migrated by the built migrate function, and what that run produced."""

    backend: str
    url: URL
    env: dict[str, str]
    invocation: Invocation
    responses: list[RecordedResponse]


@pytest.fixture(scope="session", params=BACKENDS)
def migrated(
    request: pytest.FixtureRequest,
    build_dir: Path,
    layer_dir: Path,
    runtime_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Migrated]:
    tmp = tmp_path_factory.mktemp(f"artifact-{request.param}")
    if request.param == "sqlite":
        url = make_url(f"sqlite:///{tmp / 'learning_sessions.db'}")
        yield run_migrate(request.param, url, build_dir, layer_dir, runtime_dir, tmp)
        return
    with fresh_postgres_database() as url:
        yield run_migrate(request.param, url, build_dir, layer_dir, runtime_dir, tmp)


def run_migrate(backend: str, url: URL, build_dir: Path, layer_dir: Path, runtime_dir: Path, tmp: Path) -> Migrated:
    cert, key = write_self_signed_certificate(tmp)
    env = {"DATABASE_URL": url.render_as_string(hide_password=False)}
    with response_endpoint(cert, key) as endpoint:
        create = custom_resource_event("Create", endpoint)
        update = custom_resource_event("Update", endpoint, old_migrations_hash="0ld")
        invocation = invoke(
            build_dir / "MigrateFunction",
            layer_dir,
            runtime_dir,
            [create, update],
            {**env, "SSL_CERT_FILE": str(cert), "POWERTOOLS_SERVICE_NAME": "learning-sessions-migrate"},
            timeout_ms=60_000,
            function_name="MigrateFunction",
        )
        responses = endpoint.wait_for(2)
    return Migrated(backend, url, env, invocation, responses)
