"""Configuration helpers: .env, database selection and masking, the --env-vars file."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_api.config import (
    DEFAULT_DATABASE_URL,
    ConfigError,
    apply_dotenv,
    database_variables,
    describe_database,
    load_env_vars_file,
    mask_url_password,
    with_database_default,
)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql+pg8000://app:s3cr3t@db:5432/learning", "postgresql+pg8000://app:***@db:5432/learning"),
        ("postgresql://app:p%40ss:w0rd@db/learning", "postgresql://app:***@db/learning"),
        (
            "postgresql://app:p@ss:w0rd@db/learning",
            "an unreadable URL (percent-encode @ in the user name and password as %40)",
        ),
        ("postgresql://app:Hunter2Secret/learning", "an unreadable URL"),
        ("postgresql://app@db/learning", "postgresql://app@db/learning"),
        ("sqlite:///learning_env.db", "sqlite:///learning_env.db"),
        ("not a url", "an unreadable URL"),
    ],
)
def test_mask_url_password(url: str, masked: str) -> None:
    assert mask_url_password(url) == masked


def test_dotenv_fills_gaps_but_never_overrides(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("# comment\nA=from-file\nB='quoted value' # trailing comment\nexport C=\"c\"\nEMPTY=\n")
    environ = {"A": "from-shell"}

    added = apply_dotenv(dotenv, environ)

    assert environ == {"A": "from-shell", "B": "quoted value", "C": "c", "EMPTY": ""}
    assert sorted(added) == ["B", "C", "EMPTY"]


def test_missing_dotenv_is_fine(tmp_path: Path) -> None:
    assert apply_dotenv(tmp_path / ".env", {}) == []


def test_database_variables_are_database_url_and_postgres_star() -> None:
    environ = {"DATABASE_URL": "x", "POSTGRES_HOST": "h", "POSTGRESQL": "other", "PATH": "/bin"}

    assert database_variables(environ) == {"DATABASE_URL": "x", "POSTGRES_HOST": "h"}


@pytest.mark.parametrize(
    ("env", "expected_url"),
    [
        ({}, DEFAULT_DATABASE_URL),
        ({"DATABASE_URL": "", "POSTGRES_HOST": ""}, DEFAULT_DATABASE_URL),  # placeholders count as unset
        ({"POSTGRES_USER": "alice"}, DEFAULT_DATABASE_URL),  # a user alone selects no database
        ({"DATABASE_URL": "postgresql://db/x"}, "postgresql://db/x"),
        ({"POSTGRES_HOST": "db"}, None),
        ({"POSTGRES_SECRET_ARN": "arn:aws:secretsmanager:..."}, None),
    ],
)
def test_sqlite_is_the_default_only_without_a_database(env: dict[str, str], expected_url: str | None) -> None:
    assert with_database_default(env).get("DATABASE_URL") == expected_url


def test_describe_database_never_shows_a_password() -> None:
    described = [
        describe_database({"DATABASE_URL": "postgresql://app:hunter2@db/x"}),
        describe_database({"POSTGRES_HOST": "db", "POSTGRES_USER": "app", "POSTGRES_PASSWORD": "hunter2"}),
    ]

    assert described == ["postgresql://app:***@db/x", "postgresql://app@db:5432/"]
    assert all("hunter2" not in line for line in described)


def test_env_vars_file_in_sam_format(tmp_path: Path) -> None:
    path = tmp_path / "env.json"
    path.write_text('{"Parameters": {"A": "1"}, "EchoFunction": {"B": "2"}}')

    assert load_env_vars_file(path) == {"Parameters": {"A": "1"}, "EchoFunction": {"B": "2"}}


@pytest.mark.parametrize("content", ["not json", '["a list"]', '{"Parameters": "not an object"}'])
def test_malformed_env_vars_file_is_a_config_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "env.json"
    path.write_text(content)

    with pytest.raises(ConfigError, match=r"env\.json"):
        load_env_vars_file(path)
