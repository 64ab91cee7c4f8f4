"""The exact message of each database configuration error: it is all an operator sees in the log."""

from __future__ import annotations

import pytest

from learning_sessions.config.database_config import database_config, secret_connect_params
from learning_sessions.config.settings import ConfigError, Settings


def config_error(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as refused:
        database_config(Settings.from_environ(environ))
    return str(refused.value)


@pytest.mark.parametrize(
    "url", ["postgresql://user:p@ss@host/db", "postgresql://user:p@ss://x@host/db"], ids=["plain", "with-scheme-in-it"]
)
def test_a_url_with_two_at_signs_says_how_to_encode_the_password(url: str) -> None:
    # The password may itself hold "://": only the first one ends the scheme.
    assert config_error({"DATABASE_URL": url}) == (
        "DATABASE_URL has more than one '@': percent-encode the user name and password "
        "(@ as %40, / as %2F, : as %3A, ? as %3F, # as %23, % as %25)"
    )


def test_unsupported_query_parameters_are_all_named() -> None:
    assert config_error({"DATABASE_URL": "postgresql://u:p@h/d?sslrootcert=x&connect_timeout=3"}) == (
        "DATABASE_URL: query parameter connect_timeout, sslrootcert is not supported (only sslmode)"
    )


def test_an_unknown_sslmode_lists_the_ones_there_are() -> None:
    assert config_error({"DATABASE_URL": "postgresql://u:p@h/d?sslmode=prefer"}) == (
        "DATABASE_URL: sslmode must be one of disable, require, verify-full"
    )


def test_a_url_that_does_not_parse_shows_what_one_looks_like() -> None:
    assert config_error({"DATABASE_URL": "postgresql://user:secret/db:port"}) == (
        "DATABASE_URL is not a valid database URL (expected e.g. sqlite:///learning_env.db or "
        "postgresql://user:password@host:5432/database, with the password percent-encoded)"
    )


@pytest.mark.parametrize(
    ("secret", "environ", "missing"),
    [
        ({"username": "u", "password": "p"}, {}, "POSTGRES_HOST_OVERRIDE and POSTGRES_DB"),
        ({"username": "u", "password": "p", "dbname": "d"}, {}, "POSTGRES_HOST_OVERRIDE"),
        ({"username": "u", "password": "p", "host": "h"}, {}, "POSTGRES_DB"),
    ],
)
def test_a_secret_without_an_address_names_the_settings_to_set(
    secret: dict[str, str], environ: dict[str, str], missing: str
) -> None:
    settings = Settings.from_environ({"POSTGRES_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:db", **environ})
    with pytest.raises(ConfigError) as refused:
        secret_connect_params(secret, settings)
    assert str(refused.value) == f"POSTGRES_SECRET_ARN: the secret has no address, so set {missing}"


def test_no_database_at_all_lists_every_way_to_configure_one() -> None:
    assert config_error({}) == (
        "No database configured: set DATABASE_URL, or POSTGRES_HOST with POSTGRES_DB, "
        "POSTGRES_USER and POSTGRES_PASSWORD, or POSTGRES_SECRET_ARN"
    )


@pytest.mark.parametrize(
    ("environ", "missing"),
    [
        ({}, "POSTGRES_DB and POSTGRES_USER"),
        ({"POSTGRES_USER": "u"}, "POSTGRES_DB"),
        ({"POSTGRES_DB": "d"}, "POSTGRES_USER"),
    ],
)
def test_a_host_without_database_or_user_names_what_is_missing(environ: dict[str, str], missing: str) -> None:
    assert config_error({"POSTGRES_HOST": "db.internal", **environ}) == (
        f"POSTGRES_HOST is set, so {missing} must be set too"
    )
