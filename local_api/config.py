"""Local-development configuration: the .env file, database settings and the --env-vars file."""

from __future__ import annotations

import json
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite:///learning_env.db"
# Any one of these (non-empty) means the developer chose a database; otherwise SQLite is used.
_DATABASE_SELECTORS = ("DATABASE_URL", "POSTGRES_HOST", "POSTGRES_SECRET_ARN")


class ConfigError(Exception):
    """A configuration file is unreadable or malformed; the message says which and why."""


def apply_dotenv(path: Path, environ: MutableMapping[str, str]) -> list[str]:
    """Copy KEY=VALUE lines from ``path`` into ``environ``; variables already set win.

    Returns the names that were added. A missing file is not an error: .env is optional.
    """
    if not path.is_file():
        return []
    added = []
    for key, value in dotenv_values(path).items():
        if value is not None and key not in environ:
            environ[key] = value
            added.append(key)
    return added


def is_database_variable(name: str) -> bool:
    return name == "DATABASE_URL" or name.startswith("POSTGRES_")


def database_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """The server-level database settings that every worker receives, whatever the template says."""
    return {name: value for name, value in environ.items() if is_database_variable(name)}


def with_database_default(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` plus ``DATABASE_URL`` pointing at the local SQLite file when no database is configured.

    Empty values count as unset, as in the service's own settings (a template placeholder or an
    unresolved intrinsic arrives as "").
    """
    result = dict(env)
    if not any(result.get(name) for name in _DATABASE_SELECTORS):
        result["DATABASE_URL"] = DEFAULT_DATABASE_URL
    return result


def mask_url_password(url: str) -> str:
    """The URL as SQLAlchemy renders it with the password masked; never any part of the password.

    This server does not import the service's modules (they belong to the functions'
    environments), so the service's own URL check is mirrored here for one case: an unencoded
    "@" in the password, which would make part of it the host.
    """
    if url.partition("://")[2].count("@") > 1:
        return "an unreadable URL (percent-encode @ in the user name and password as %40)"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "an unreadable URL"


def describe_database(env: Mapping[str, str]) -> str:
    """A one-line, password-free description of the database ``env`` selects."""
    if env.get("DATABASE_URL"):
        return mask_url_password(env["DATABASE_URL"])
    if env.get("POSTGRES_HOST"):
        user = env.get("POSTGRES_USER", "")
        port = env.get("POSTGRES_PORT") or "5432"
        return f"postgresql://{user}{'@' if user else ''}{env['POSTGRES_HOST']}:{port}/{env.get('POSTGRES_DB', '')}"
    if env.get("POSTGRES_SECRET_ARN"):
        return f"Secrets Manager secret {env['POSTGRES_SECRET_ARN']}"
    return "not configured"


def load_env_vars_file(path: Path) -> dict[str, dict[str, Any]]:
    """Read a ``sam local --env-vars`` JSON file: ``{"Parameters": {...}, "<FunctionId>": {...}}``.

    Validated here so a typo fails at startup instead of on the first request.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--env-vars {path}: {exc}") from exc
    if not isinstance(data, dict) or not all(isinstance(value, dict) for value in data.values()):
        raise ConfigError(f'--env-vars {path}: expected {{"Parameters": {{...}}, "FunctionLogicalId": {{...}}}}')
    return data
