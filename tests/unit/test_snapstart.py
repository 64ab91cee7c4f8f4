"""SnapStart's runtime hooks: no database connection in the snapshot, no stale secret after a restore."""

from __future__ import annotations

import json
import sys
import time
import types
from collections.abc import Callable, Iterator

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import create_engine, text

from learning_sessions.config.database_config import read_database_secret
from learning_sessions.config.settings import get_settings
from learning_sessions.data import snapstart
from learning_sessions.data.database import get_engine
from tests.support.databases import fresh_postgres_database
from tests.support.lambda_functions import cold_start


@pytest.fixture
def runtime_hooks(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Callable[[], None]]]:
    """A stand-in for the Lambda runtime's snapshot_restore_py, recording what registers."""
    registered: dict[str, list[Callable[[], None]]] = {"before": [], "after": []}
    module = types.ModuleType("snapshot_restore_py")
    module.register_before_snapshot = registered["before"].append  # type: ignore[attr-defined]
    module.register_after_restore = registered["after"].append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", module)
    return registered


def test_the_hooks_register_with_the_runtime(runtime_hooks: dict[str, list[Callable[[], None]]]) -> None:
    assert snapstart.register() is True
    assert runtime_hooks == {"before": [snapstart.before_snapshot], "after": [snapstart.after_restore]}


def test_without_the_runtime_module_nothing_registers(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes the import fail, as outside Lambda.
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)
    assert snapstart.register() is False


def test_every_handler_registers_the_hooks_at_init(runtime_hooks: dict[str, list[Callable[[], None]]]) -> None:
    from tests.support.lambda_functions import load_function_module

    with cold_start({"DATABASE_URL": "sqlite://"}):
        load_function_module("get_session")
    assert snapstart.before_snapshot in runtime_hooks["before"]
    assert snapstart.after_restore in runtime_hooks["after"]


@pytest.mark.postgres
def test_before_the_snapshot_the_database_connection_is_closed() -> None:
    with fresh_postgres_database() as url, cold_start({"DATABASE_URL": url.render_as_string(hide_password=False)}):
        observer = create_engine(url)
        try:

            def sessions_of_the_app() -> int:
                with observer.connect() as conn:
                    query = "SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
                    return int(conn.execute(text(query), {"db": url.database}).scalar_one())

            with get_engine().connect() as conn:
                conn.execute(text("SELECT 1"))
            assert sessions_of_the_app() == 1  # the pooled connection an init or a request leaves open
            snapstart.before_snapshot()
            # The backend leaves pg_stat_activity a moment after the client's Terminate message.
            deadline = time.monotonic() + 5
            while sessions_of_the_app() and time.monotonic() < deadline:
                time.sleep(0.01)
            assert sessions_of_the_app() == 0
            # After a restore the engine simply connects again.
            with get_engine().connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar_one() == 1
        finally:
            observer.dispose()


def test_before_the_snapshot_no_engine_is_created() -> None:
    with cold_start({"DATABASE_URL": "sqlite://"}):
        snapstart.before_snapshot()
        assert get_engine.cache_info().currsize == 0


@pytest.fixture
def secrets() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        with mock_aws():
            yield


@pytest.mark.usefixtures("secrets")
def test_after_a_restore_the_secret_is_read_again() -> None:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    arn = client.create_secret(Name="rds!snapstart", SecretString=json.dumps({"username": "u", "password": "old"}))[
        "ARN"
    ]
    env = {"POSTGRES_SECRET_ARN": arn, "POSTGRES_HOST_OVERRIDE": "db.internal", "POSTGRES_DB": "sessions"}
    with cold_start(env):
        settings = get_settings()
        assert read_database_secret(settings)["password"] == "old"
        # RDS rotated the password after the snapshot was taken.
        client.put_secret_value(SecretId=arn, SecretString=json.dumps({"username": "u", "password": "new"}))
        assert read_database_secret(settings)["password"] == "old"  # cached, as in the snapshot
        snapstart.after_restore()
        assert read_database_secret(settings)["password"] == "new"
