"""Local-development configuration: the .env file, database settings and the --env-vars file."""

from __future__ import annotations

import json
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

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
    """``scheme://user:secret@host/db`` -> ``scheme://user:***@host/db``; other URLs unchanged."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, path = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{hostport}{slash}{path}"


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
