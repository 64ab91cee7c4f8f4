"""Configuration: precedence, clear errors naming the variable, and no password in any message."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import Engine

from learning_sessions.config.database_config import (
    SecretUnreadable,
    forget_cached_secrets,
    read_database_secret,
    resolve_database_url,
)
from learning_sessions.config.settings import ConfigError, Settings
from learning_sessions.data.database import create_db_engine

PASSWORD = "s3cr3t-Pa55word"


def url_for(env: dict[str, str]) -> str:
    return resolve_database_url(Settings.from_environ(env)).render_as_string(hide_password=False)


def test_database_url_wins_over_everything() -> None:
    env = {"DATABASE_URL": "sqlite:///learning_env.db", "POSTGRES_HOST": "db", "POSTGRES_SECRET_ARN": "arn"}
    assert url_for(env) == "sqlite:///learning_env.db"


def test_postgres_database_url_uses_pg8000() -> None:
    assert url_for({"DATABASE_URL": "postgresql://u:p@h:5433/d"}) == "postgresql+pg8000://u:p@h:5433/d"
    assert url_for({"DATABASE_URL": "postgres://u@h/d"}) == "postgresql+pg8000://u@h/d"


def test_postgres_variables_build_a_pg8000_url() -> None:
    env = {
        "POSTGRES_HOST": "db.internal",
        "POSTGRES_PORT": "6543",
        "POSTGRES_DB": "sessions",
        "POSTGRES_USER": "app",
        "POSTGRES_PASSWORD": PASSWORD,
    }
    assert url_for(env) == f"postgresql+pg8000://app:{PASSWORD}@db.internal:6543/sessions"


def test_postgres_port_defaults_to_5432_and_password_is_optional() -> None:
    env = {"POSTGRES_HOST": "h", "POSTGRES_DB": "d", "POSTGRES_USER": "u"}
    assert url_for(env) == "postgresql+pg8000://u@h:5432/d"


def test_empty_variables_count_as_unset() -> None:
    assert url_for({"DATABASE_URL": "", "POSTGRES_HOST": "h", "POSTGRES_DB": "d", "POSTGRES_USER": "u"}).startswith(
        "postgresql+pg8000://"
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"POSTGRES_HOST": "h", "POSTGRES_USER": "u", "POSTGRES_PASSWORD": PASSWORD}, "POSTGRES_DB"),
        ({"POSTGRES_HOST": "h", "POSTGRES_DB": "d", "POSTGRES_PASSWORD": PASSWORD}, "POSTGRES_USER"),
        ({"POSTGRES_HOST": "h", "POSTGRES_DB": "d", "POSTGRES_USER": "u", "POSTGRES_PORT": "x"}, "POSTGRES_PORT"),
        ({"POSTGRES_HOST": "h", "POSTGRES_DB": "d", "POSTGRES_USER": "u", "POSTGRES_PORT": "70000"}, "POSTGRES_PORT"),
        ({"DATABASE_URL": f"not a url {PASSWORD}"}, "DATABASE_URL"),
        ({"DATABASE_URL": f"mysql://u:{PASSWORD}@h/d"}, "DATABASE_URL"),
        ({"DATABASE_URL": "sqlite://", "DB_CONNECT_TIMEOUT": "-1"}, "DB_CONNECT_TIMEOUT"),
        ({"DATABASE_URL": "sqlite://", "POSTGRES_SSLMODE": "prefer"}, "POSTGRES_SSLMODE"),
        ({}, "DATABASE_URL"),
    ],
)
def test_bad_settings_name_the_variable_and_hide_the_password(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as raised:
        url_for(env)
    assert named in str(raised.value)
    assert PASSWORD not in str(raised.value)
    assert PASSWORD not in repr(raised.value)


def test_every_bad_setting_is_listed_in_one_message() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_environ({"DATABASE_URL": "sqlite://", "DB_CONNECT_TIMEOUT": "-1", "MAX_BODY_BYTES": "x"})
    assert str(raised.value) == (
        "Invalid configuration: DB_CONNECT_TIMEOUT: Input should be greater than 0; "
        "MAX_BODY_BYTES: Input should be a valid integer, unable to parse string as an integer"
    )


def test_settings_repr_never_shows_the_password() -> None:
    settings = Settings.from_environ({"DATABASE_URL": f"postgresql://u:{PASSWORD}@h/d", "POSTGRES_PASSWORD": PASSWORD})
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in str(settings)


class TestEngine:
    def test_postgres_engine_keeps_one_checked_connection(self) -> None:
        engine = create_db_engine(
            Settings.from_environ({"POSTGRES_HOST": "h", "POSTGRES_DB": "d", "POSTGRES_USER": "u"})
        )
        assert engine.pool.size() == 1  # type: ignore[attr-defined]
        assert engine.pool._max_overflow == 0  # type: ignore[attr-defined]
        # Liveness is checked on checkout (tests/integration/reliability prove it against killed connections).
        assert len(engine.pool.dispatch.checkout) == 1
        assert engine.url.drivername == "postgresql+pg8000_prepared"  # pg8000, fewer round trips
        assert engine.dialect.driver == "pg8000"

    def test_engine_is_created_once_per_execution_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from tests.support.lambda_functions import cold_start, load_function_module

        with cold_start({"DATABASE_URL": "sqlite://"}):
            module = load_function_module("get_session")
            from learning_sessions.data.database import get_engine

            engine: Engine = module.engine
            assert get_engine() is engine


@pytest.fixture
def aws() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        with mock_aws():
            forget_cached_secrets()
            yield
        forget_cached_secrets()


def create_secret(value: object) -> str:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    name = f"rds!db-{abs(hash(json.dumps(value, sort_keys=True)))}"
    arn: str = client.create_secret(Name=name, SecretString=json.dumps(value))["ARN"]
    return arn


RDS_SECRET = {
    "username": "postgres",
    "password": PASSWORD,
    "host": "db.cluster.us-east-1.rds.amazonaws.com",
    "port": 5432,
    "dbname": "sessions",
    "engine": "postgres",
}


@pytest.mark.usefixtures("aws")
class TestSecretsManager:
    def test_rds_secret_builds_the_url(self) -> None:
        arn = create_secret(RDS_SECRET)
        assert url_for({"POSTGRES_SECRET_ARN": arn}) == (
            f"postgresql+pg8000://postgres:{PASSWORD}@db.cluster.us-east-1.rds.amazonaws.com:5432/sessions"
        )

    def test_rds_managed_secret_takes_its_address_from_the_environment(self) -> None:
        # What ManageMasterUserPassword creates: credentials only.
        arn = create_secret({"username": "postgres", "password": PASSWORD})
        env = {"POSTGRES_SECRET_ARN": arn, "POSTGRES_HOST_OVERRIDE": "proxy.internal", "POSTGRES_DB": "sessions"}
        assert url_for(env) == f"postgresql+pg8000://postgres:{PASSWORD}@proxy.internal:5432/sessions"

    def test_host_override_wins_over_the_secrets_host(self) -> None:
        arn = create_secret({**RDS_SECRET, "host": "instance.internal"})
        env = {"POSTGRES_SECRET_ARN": arn, "POSTGRES_HOST_OVERRIDE": "proxy.internal"}
        assert "@proxy.internal:5432/sessions" in url_for(env)

    def test_the_secret_is_cached_between_reads(self) -> None:
        arn = create_secret({**RDS_SECRET, "host": "cached-host"})
        first = url_for({"POSTGRES_SECRET_ARN": arn})
        boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
            SecretId=arn, SecretString=json.dumps({**RDS_SECRET, "host": "rotated-host"})
        )
        assert url_for({"POSTGRES_SECRET_ARN": arn}) == first
        forget_cached_secrets()  # what expiry of the max age does
        assert "@rotated-host:" in url_for({"POSTGRES_SECRET_ARN": arn})

    def test_the_cache_lasts_secret_max_age_seconds_and_a_forced_read_skips_it(self) -> None:
        arn = create_secret({**RDS_SECRET, "host": "first-host"})
        settings = Settings.from_environ({"POSTGRES_SECRET_ARN": arn, "SECRET_MAX_AGE_SECONDS": "1"})
        assert read_database_secret(settings)["host"] == "first-host"
        boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
            SecretId=arn, SecretString=json.dumps({**RDS_SECRET, "host": "rotated-host"})
        )
        assert read_database_secret(settings)["host"] == "first-host"
        # As after a refused password: the new one at once, whatever the cache holds.
        assert read_database_secret(settings, force_fetch=True)["host"] == "rotated-host"
        boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
            SecretId=arn, SecretString=json.dumps({**RDS_SECRET, "host": "third-host"})
        )
        time.sleep(1.1)  # past the configured age; Powertools' own default would keep it 5 s
        assert read_database_secret(settings)["host"] == "third-host"

    @pytest.mark.parametrize(
        ("secret", "problem"),
        [
            ({"username": "u", "password": PASSWORD, "host": "h"}, "POSTGRES_DB"),
            ({"username": "u", "password": PASSWORD}, "POSTGRES_HOST_OVERRIDE"),
            ({"username": "u", "host": "h", "dbname": "d"}, "password"),
            ({**RDS_SECRET, "port": "not a port"}, "port"),
            (["not", "an", "object"], "JSON object"),
        ],
    )
    def test_bad_secret_is_a_clear_error_without_the_password(self, secret: object, problem: str) -> None:
        arn = create_secret(secret)
        with pytest.raises(ConfigError) as raised:
            url_for({"POSTGRES_SECRET_ARN": arn})
        assert "POSTGRES_SECRET_ARN" in str(raised.value)
        assert problem in str(raised.value)
        assert PASSWORD not in str(raised.value)

    @pytest.mark.parametrize(
        ("stored", "message"),
        [
            ({"SecretString": "not json"}, "the secret is not valid JSON"),
            ({"SecretBinary": b"\xff\xfe"}, "the secret's binary value is not UTF-8 text"),
            ({"SecretString": '["a"]'}, "the secret must be a JSON object"),
            ({"SecretString": '{"host": "h", "dbname": "d"}'}, "the secret lacks username, password"),
            ({"SecretString": json.dumps({**RDS_SECRET, "port": "x"})}, "the secret's port is not a number"),
        ],
        ids=["not-json", "binary-not-utf8", "not-an-object", "no-credentials", "port-not-a-number"],
    )
    def test_an_unusable_secret_says_exactly_why(self, stored: dict[str, Any], message: str) -> None:
        client = boto3.client("secretsmanager", region_name="us-east-1")
        arn = client.create_secret(Name="unusable", **stored)["ARN"]
        with pytest.raises(ConfigError) as raised:
            url_for({"POSTGRES_SECRET_ARN": arn})
        assert str(raised.value) == f"POSTGRES_SECRET_ARN: {message}"

    def test_missing_secret_is_a_clear_error(self) -> None:
        arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:does-not-exist"
        with pytest.raises(ConfigError, match="POSTGRES_SECRET_ARN: the secret could not be read"):
            url_for({"POSTGRES_SECRET_ARN": arn})

    def test_the_engine_reads_no_secret_until_it_connects(self) -> None:
        # Not at import: a Secrets Manager outage then fails requests (503), not the environment.
        arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:does-not-exist"
        engine = create_db_engine(Settings.from_environ({"POSTGRES_SECRET_ARN": arn, "POSTGRES_DB": "d"}))
        with pytest.raises(SecretUnreadable, match="POSTGRES_SECRET_ARN"):
            engine.connect()


@pytest.mark.parametrize("seconds", ["10000000000000000000", "315360000000", "59", "1.5", "-1"])
def test_an_impossible_idempotency_expiry_fails_the_cold_start_naming_it(seconds: str) -> None:
    """Not a 500 on every keyed POST: the expiry of a key stored now must be a date the databases hold."""
    from tests.support.lambda_functions import cold_start, load_function_module

    environment = {"DATABASE_URL": "sqlite://", "IDEMPOTENCY_EXPIRY_SECONDS": seconds}
    with cold_start(environment), pytest.raises(ConfigError, match="IDEMPOTENCY_EXPIRY_SECONDS"):
        load_function_module("create_session")
