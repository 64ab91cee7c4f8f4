"""The database settings at cold start: URL query arguments, TLS, and passwords kept out of messages."""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Any

import certifi
import pytest

from learning_sessions.config.database_config import database_config
from learning_sessions.config.settings import ConfigError, Settings
from learning_sessions.data.database import create_db_engine
from local_api.config import describe_database

# Each password has one of the characters a URL treats specially; its two halves must never show.
SPECIAL_CHARACTERS = "@/:?#%"


def password_with(character: str) -> str:
    return f"alpha{character}bravo"


def assert_no_part_of_the_password(text: str) -> None:
    assert "alpha" not in text
    assert "bravo" not in text


def ssl_context_of(env: dict[str, str]) -> ssl.SSLContext | bool:
    """The ssl_context the engine hands pg8000, as SQLAlchemy passes it on each connect."""
    captured: dict[str, Any] = {}
    engine = create_db_engine(Settings.from_environ(env))
    from sqlalchemy import event

    @event.listens_for(engine, "do_connect")
    def capture(dialect: object, conn_rec: object, cargs: object, cparams: dict[str, Any]) -> None:
        captured.update(cparams)
        raise ConnectionAbortedError("captured")

    with pytest.raises(ConnectionAbortedError):
        engine.connect()
    context: ssl.SSLContext | bool = captured["ssl_context"]
    return context


def test_a_url_without_its_host_is_a_config_error_without_the_password() -> None:
    # The "@host" forgotten: the password would be read as the port.
    with pytest.raises(ConfigError) as raised:
        database_config(Settings.from_environ({"DATABASE_URL": "postgresql://postgres:Hunter2Secret/db"}))
    assert "DATABASE_URL" in str(raised.value)
    assert "Hunter2" not in str(raised.value)
    assert "Secret" not in str(raised.value)


@pytest.mark.parametrize("character", SPECIAL_CHARACTERS)
def test_an_unencoded_special_character_never_leaks_the_password(character: str) -> None:
    raw = f"postgresql://app:{password_with(character)}@db.internal:5432/sessions"
    try:
        config = database_config(Settings.from_environ({"DATABASE_URL": raw}))
    except ConfigError as exc:
        assert "DATABASE_URL" in str(exc)
        assert_no_part_of_the_password(str(exc))
    else:
        # Then it must have been read as the password, whole, and the address as given.
        assert config.url.password == password_with(character)
        assert (config.url.host, config.url.database) == ("db.internal", "sessions")
    assert_no_part_of_the_password(describe_database({"DATABASE_URL": raw}))


@pytest.mark.parametrize("character", SPECIAL_CHARACTERS)
def test_a_percent_encoded_password_is_taken_whole_and_masked(character: str) -> None:
    encoded = password_with("%" + format(ord(character), "02X"))
    raw = f"postgresql://app:{encoded}@db.internal:5432/sessions"
    config = database_config(Settings.from_environ({"DATABASE_URL": raw}))
    assert config.url.password == password_with(character)
    described = describe_database({"DATABASE_URL": raw})
    assert_no_part_of_the_password(described)
    assert described == "postgresql://app:***@db.internal:5432/sessions"


@pytest.mark.parametrize(
    ("query", "verify_mode", "check_hostname"),
    [
        ("sslmode=require", ssl.CERT_NONE, False),
        ("sslmode=verify-full", ssl.CERT_REQUIRED, True),
    ],
)
def test_sslmode_in_the_url_means_what_postgres_sslmode_means(
    query: str, verify_mode: ssl.VerifyMode, check_hostname: bool
) -> None:
    context = ssl_context_of({"DATABASE_URL": f"postgresql://u:p@127.0.0.1:1/d?{query}"})
    assert isinstance(context, ssl.SSLContext)
    assert (context.verify_mode, context.check_hostname) == (verify_mode, check_hostname)


def test_sslmode_disable_in_the_url_wins_over_the_variable() -> None:
    env = {"DATABASE_URL": "postgresql://u:p@127.0.0.1:1/d?sslmode=disable", "POSTGRES_SSLMODE": "verify-full"}
    assert ssl_context_of(env) is False


@pytest.mark.parametrize(
    "query", ["sslmode=prefer", "sslmode=require&sslmode=disable", "sslrootcert=/ca.pem", "connect_timeout=10"]
)
def test_url_arguments_pg8000_lacks_are_a_config_error_at_cold_start(query: str) -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        create_db_engine(Settings.from_environ({"DATABASE_URL": f"postgresql://u:alpha-bravo@h/d?{query}"}))


@pytest.mark.parametrize(
    ("sslmode", "verify_mode", "check_hostname"),
    [("require", ssl.CERT_NONE, False), ("verify-full", ssl.CERT_REQUIRED, True)],
)
def test_each_postgres_sslmode_gets_its_tls_context(
    sslmode: str, verify_mode: ssl.VerifyMode, check_hostname: bool, tmp_path: Path
) -> None:
    ca_file = tmp_path / "ca.pem"
    first_certificate = re.search(
        r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n", Path(certifi.where()).read_text(), re.S
    )
    assert first_certificate
    ca_file.write_text(first_certificate.group(0))
    env = {"POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": "1", "POSTGRES_DB": "d", "POSTGRES_USER": "u"}
    context = ssl_context_of({**env, "POSTGRES_SSLMODE": sslmode, "POSTGRES_SSL_CA_FILE": str(ca_file)})
    assert isinstance(context, ssl.SSLContext)
    assert (context.verify_mode, context.check_hostname) == (verify_mode, check_hostname)
    # Exactly the given CA, not the system's bundle.
    assert context.cert_store_stats()["x509_ca"] == 1
    default = ssl_context_of({**env, "POSTGRES_SSLMODE": sslmode})
    assert isinstance(default, ssl.SSLContext)
    assert default.cert_store_stats()["x509_ca"] > 1
    assert ssl_context_of({**env, "POSTGRES_SSLMODE": "disable", "POSTGRES_SSL_CA_FILE": str(ca_file)}) is False


@pytest.mark.parametrize("content", [None, "not a certificate\n", "-----BEGIN CERTIFICATE-----\nAAAA\n"])
def test_a_missing_or_non_pem_ca_file_names_the_variable_and_the_path(content: str | None, tmp_path: Path) -> None:
    ca_file = tmp_path / "rds-ca.pem"
    if content is not None:
        ca_file.write_text(content)
    env = {
        "DATABASE_URL": "postgresql://u:p@h/d",
        "POSTGRES_SSLMODE": "verify-full",
        "POSTGRES_SSL_CA_FILE": str(ca_file),
    }
    with pytest.raises(ConfigError) as raised:
        create_db_engine(Settings.from_environ(env))
    assert "POSTGRES_SSL_CA_FILE" in str(raised.value)
    assert str(ca_file) in str(raised.value)


@pytest.mark.parametrize(
    ("content", "path", "reason"),
    [
        (None, "rds-ca.pem", "(No such file or directory)"),
        ("not a certificate\n", "rds-ca.pem", "([X509: NO_CERTIFICATE_OR_CRL_FOUND] no certificate or crl found"),
        (None, "nul\x00byte.pem", "(ValueError)"),  # a path the OS cannot take: no strerror to quote
    ],
    ids=["missing", "not-pem", "unopenable-path"],
)
def test_the_ca_files_problem_is_quoted(content: str | None, path: str, reason: str, tmp_path: Path) -> None:
    ca_file = tmp_path / path.replace("\x00", "")
    if content is not None:
        ca_file.write_text(content)
    named = str(tmp_path / path)
    env = {"DATABASE_URL": "postgresql://u:p@h/d", "POSTGRES_SSLMODE": "verify-full", "POSTGRES_SSL_CA_FILE": named}
    with pytest.raises(ConfigError) as raised:
        create_db_engine(Settings.from_environ(env))
    prefix = f"POSTGRES_SSL_CA_FILE: {named} is not a readable PEM file of CA certificates "
    assert str(raised.value).startswith(prefix + reason)
