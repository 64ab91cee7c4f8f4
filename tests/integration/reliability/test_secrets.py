"""Credentials from Secrets Manager: rotation, an unreachable endpoint and a malformed secret.

The rotation test runs a Postgres server of its own with password authentication (the suite's
server trusts every local connection, so it would accept any password) and moto's Secrets Manager,
and rotates the password in both as RDS does, while requests go through the real handlers.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import URL, Engine, NullPool, create_engine, text
from sqlalchemy.exc import DBAPIError

from learning_sessions.config.database_config import SECRET_READ_ATTEMPTS, _secrets_provider, forget_cached_secrets
from tests.support.client import LambdaApiClient
from tests.support.databases import in_ci, migrate, postgres_admin_url, postgres_unavailable
from tests.support.lambda_functions import load_handlers

pytestmark = pytest.mark.postgres

CLUSTER = os.environ.get("TEST_PASSWORD_CLUSTER_NAME", "h2a")
CLUSTER_PORT = int(os.environ.get("TEST_PASSWORD_CLUSTER_PORT", "5500"))
ADMIN_PASSWORD = "admin-Pa55"
ARN_FOR_NOTHING = "arn:aws:secretsmanager:us-east-1:123456789012:secret:learning-sessions-db"


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Dummy credentials: botocore would otherwise probe the instance metadata address.
    for key, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(key, value)
    forget_cached_secrets()
    yield
    forget_cached_secrets()


def checks_passwords(admin_url: URL) -> bool:
    """Whether the server refuses a wrong password (the suite's own server may trust everyone)."""
    role = f"probe_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"timeout": 5})
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD 'right-Pa55'"))
        probe = create_engine(admin_url.set(username=role, password="wrong-Pa55"), poolclass=NullPool)
        try:
            probe.connect().close()
        except DBAPIError:
            return True
        return False
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


@pytest.fixture(scope="module")
def password_server() -> Iterator[URL]:
    """The admin URL of a Postgres server that checks passwords.

    The suite's own server if it does (CI's postgres image uses scram-sha-256), else a throwaway
    cluster with scram-sha-256 (pg_createcluster, as root).
    """
    try:
        suite_server_checks = checks_passwords(postgres_admin_url())
    except (DBAPIError, OSError) as exc:
        postgres_unavailable(f"{type(exc).__name__}: {exc}")
    if suite_server_checks:
        yield postgres_admin_url()
        return
    if shutil.which("pg_createcluster") is None or os.geteuid() != 0:
        message = (
            "the Postgres server at TEST_POSTGRES_URL accepts any password, and starting one that checks "
            "them needs pg_createcluster (postgresql-common) as root"
        )
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    yield from throwaway_password_cluster()


def throwaway_password_cluster() -> Iterator[URL]:
    subprocess.run(["pg_dropcluster", "--stop", "15", CLUSTER], capture_output=True, check=False)
    # initdb runs as the postgres user, so the password file must be readable by it (pytest's
    # temporary directories are not).
    with tempfile.TemporaryDirectory() as directory:
        Path(directory).chmod(0o755)
        pwfile = Path(directory) / "pw"
        pwfile.write_text(ADMIN_PASSWORD + "\n")
        pwfile.chmod(0o644)
        subprocess.run(
            [
                "pg_createcluster", "15", CLUSTER, "-p", str(CLUSTER_PORT), "--",
                "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
    try:
        subprocess.run(["pg_ctlcluster", "15", CLUSTER, "start"], check=True, capture_output=True)
        yield URL.create(
            "postgresql+pg8000",
            username="postgres",
            password=ADMIN_PASSWORD,
            host="127.0.0.1",
            port=CLUSTER_PORT,
            database="postgres",
        )
    finally:
        subprocess.run(["pg_dropcluster", "--stop", "15", CLUSTER], capture_output=True, check=False)


@pytest.fixture(scope="module")
def admin(password_server: URL) -> Iterator[Engine]:
    engine = create_engine(password_server, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture
def role_and_database(password_server: URL, admin: Engine) -> Iterator[tuple[str, str]]:
    """A login role with a password and a migrated database it owns, dropped afterwards."""
    suffix = uuid.uuid4().hex[:8]
    # Unique names: the server may be the suite's own, shared with other runs.
    role, database = f"rotation_app_{suffix}", f"rotation_{suffix}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD 'first-Pa55'"))
        conn.execute(text(f"CREATE DATABASE {database} OWNER {role}"))
    try:
        migrate(password_server.set(username=role, password="first-Pa55", database=database))
        yield role, database
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {database} WITH (FORCE)"))
            conn.execute(text(f"DROP ROLE {role}"))


def wait_until_gone(admin: Engine, user: str) -> None:
    """pg_terminate_backend only signals: wait until the backends have really gone.

    Otherwise the next request could be handed its connection in the instant before it closes,
    a race the reliability tests cover on their own; this test is about the password.
    """
    for _ in range(1000):
        with admin.connect() as conn:  # autocommit: each query sees fresh statistics
            if not conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE usename = :u"), {"u": user}
            ).scalar_one():
                return
        time.sleep(0.01)
    raise AssertionError(f"the backends of {user} did not end")


def put_secret(arn: str, username: str, password: str) -> None:
    boto3.client("secretsmanager").put_secret_value(
        SecretId=arn, SecretString=json.dumps({"username": username, "password": password})
    )


@pytest.mark.usefixtures("aws_environment")
def test_requests_keep_succeeding_across_a_password_rotation(
    password_server: URL, admin: Engine, role_and_database: tuple[str, str]
) -> None:
    role, database = role_and_database
    with mock_aws():
        # What ManageMasterUserPassword creates: credentials only; the address is the function's.
        arn = boto3.client("secretsmanager").create_secret(
            Name="rds!db-rotation", SecretString=json.dumps({"username": role, "password": "first-Pa55"})
        )["ARN"]
        api = LambdaApiClient(
            load_handlers(
                {
                    "POSTGRES_SECRET_ARN": arn,
                    "POSTGRES_HOST_OVERRIDE": password_server.host or "127.0.0.1",
                    "POSTGRES_PORT": str(password_server.port or 5432),
                    "POSTGRES_DB": database,
                }
            )
        )
        first = api.post("/api/sessions/", {"title": "before the rotation"})
        assert first.status == 201, first.body

        # The rotation, as Secrets Manager's RDS rotation does it: the database, then the secret.
        # The function's cached copy of the secret still holds the old password.
        with admin.connect() as conn:
            conn.execute(text(f"ALTER ROLE {role} PASSWORD 'second-Pa55'"))
        put_secret(arn, role, "second-Pa55")
        # The next request needs a new connection: the old one is gone (a restart, a failover).
        with admin.connect() as conn:
            killed = conn.execute(
                text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = :role"),
                {"role": role},
            ).scalar_one()
            assert killed >= 1
        wait_until_gone(admin, role)

        second = api.post("/api/sessions/", {"title": "after the rotation"})
        assert second.status == 201, second.body
        listed = api.get("/api/sessions/")
        assert listed.status == 200, listed.body
        assert [row["title"] for row in listed.json()["data"]] == ["after the rotation", "before the rotation"]
        assert api.get(f"/api/sessions/{first.json()['data']['id']}").status == 200


def secret_env(**extra: str) -> dict[str, str]:
    return {
        "POSTGRES_SECRET_ARN": ARN_FOR_NOTHING,
        "POSTGRES_HOST_OVERRIDE": "127.0.0.1",
        "POSTGRES_DB": "sessions",
        "DB_CONNECT_TIMEOUT": "1",
        **extra,
    }


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog) and never says a word."""
    with socket.create_server(("127.0.0.1", 0), backlog=16) as server:
        yield server.getsockname()[1]


def assert_client_is_bounded() -> None:
    config: Any = _secrets_provider(1.0).client.meta.config  # botocore's Config is untyped
    assert (config.connect_timeout, config.read_timeout) == (1.0, 1.0)
    assert config.retries == {"total_max_attempts": SECRET_READ_ATTEMPTS, "mode": "standard"}


@pytest.mark.usefixtures("aws_environment")
@pytest.mark.parametrize("endpoint", ["closed", "black-holed"])
def test_an_unreachable_secrets_manager_answers_503_not_an_init_failure(
    endpoint: str, black_hole: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = closed_port() if endpoint == "closed" else black_hole
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", f"http://127.0.0.1:{port}")
    # The cold start reads no secret, so it succeeds whatever Secrets Manager does.
    api = LambdaApiClient(load_handlers(secret_env()))
    response = api.get("/api/sessions/")
    assert response.status == 503, response.body
    assert response.header("Retry-After")
    assert response.json()["error"]["code"] == "service_unavailable"
    assert_client_is_bounded()


@pytest.mark.usefixtures("aws_environment")
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"SecretBinary": b"\xff\xfe not utf-8"}, "not UTF-8"),
        ({"SecretString": "user=app password=x"}, "not valid JSON"),
        ({"SecretString": '{"username": "app"}'}, "lacks password"),
    ],
)
def test_a_malformed_secret_is_a_configuration_error_naming_the_variable(
    value: dict[str, Any], problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from learning_sessions.http.api import logger

    logs = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", logs)
    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(Name="malformed", **value)["ARN"]
        api = LambdaApiClient(load_handlers(secret_env(POSTGRES_SECRET_ARN=arn)))
        response = api.get("/api/sessions/")
    assert response.status == 503, response.body
    assert response.json()["error"]["code"] == "service_unavailable"
    assert "POSTGRES_SECRET_ARN" in logs.getvalue()
    assert problem in logs.getvalue()
    assert "Traceback" not in logs.getvalue()
