"""The ``--parameter-overrides`` of a deployment: the samconfig environment's own plus ``MigrationsHash``.

``sam deploy --parameter-overrides`` on the command line replaces the overrides in samconfig.toml
instead of adding to them, so a deploy that passes the migrations hash must pass the environment's
overrides too. This prints both, as one argument:

    sam deploy --config-env dev --parameter-overrides "$(python -m tools.deploy_params --config-env dev)"
    python -m tools.deploy_params --hash        # only the hash of migrations/
    python -m tools.deploy_params --stack-name prod   # the stack name of a samconfig environment

``MigrationsHash`` is a hash of every file under migrations/ (names and contents, caches left out). The
template hands it to the migration custom resource, and CloudFormation runs a custom resource's
Update (here: ``alembic upgrade head``) only when one of its properties changes.
"""

from __future__ import annotations

import argparse
import hashlib
import shlex
import sys
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = REPO_ROOT / "migrations"
SAMCONFIG = REPO_ROOT / "samconfig.toml"
HASH_PARAMETER = "MigrationsHash"
HASH_LENGTH = 32
_IGNORED_DIRS = {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
_IGNORED_SUFFIXES = {".pyc", ".pyo"}


def migrations_hash(root: Path = MIGRATIONS) -> str:
    """A hex digest of the files under ``root``: the same on every machine for the same files."""
    digest = hashlib.sha256()
    files = sorted(
        path
        for path in root.rglob("*")
        if path.is_file()
        and path.suffix not in _IGNORED_SUFFIXES
        and not _IGNORED_DIRS.intersection(path.relative_to(root).parts)
    )
    if not files:
        raise FileNotFoundError(f"no migration files under {root}")
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:HASH_LENGTH]


def samconfig_overrides(config_env: str, samconfig: Path = SAMCONFIG) -> dict[str, str]:
    """The ``parameter_overrides`` that samconfig.toml gives ``sam deploy --config-env config_env``."""
    with samconfig.open("rb") as handle:
        config = tomllib.load(handle)
    if config_env not in config:
        raise KeyError(f"{samconfig.name} has no environment {config_env!r}")
    environment = config[config_env]
    raw = environment.get("deploy", {}).get("parameters", {}).get("parameter_overrides")
    if raw is None:
        raw = environment.get("global", {}).get("parameters", {}).get("parameter_overrides", [])
    items = shlex.split(raw) if isinstance(raw, str) else [str(item) for item in raw]
    return parse_assignments(items)


def stack_name(config_env: str, samconfig: Path = SAMCONFIG) -> str:
    """The stack that ``sam deploy --config-env config_env`` deploys."""
    with samconfig.open("rb") as handle:
        config = tomllib.load(handle)
    if config_env not in config:
        raise KeyError(f"{samconfig.name} has no environment {config_env!r}")
    environment = config[config_env]
    for command in ("deploy", "global"):
        name = environment.get(command, {}).get("parameters", {}).get("stack_name")
        if name:
            return str(name)
    raise KeyError(f"{samconfig.name} names no stack for {config_env!r}")


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"not a KEY=VALUE parameter override: {item!r}")
        overrides[key] = value
    return overrides


def parameter_overrides(
    config_env: str,
    extra: Iterable[str] = (),
    *,
    samconfig: Path = SAMCONFIG,
    migrations: Path = MIGRATIONS,
) -> dict[str, str]:
    """The environment's overrides, then ``extra`` ones (KEY=VALUE, later wins), then the migrations hash."""
    overrides = samconfig_overrides(config_env, samconfig)
    overrides.update(parse_assignments(extra))
    overrides[HASH_PARAMETER] = migrations_hash(migrations)
    return overrides


def format_overrides(overrides: dict[str, str]) -> str:
    """One ``--parameter-overrides`` argument: ``Key=Value`` pairs separated by spaces."""
    for key, value in overrides.items():
        if not value or any(char.isspace() or char in "\"'" for char in value):
            raise ValueError(f"parameter {key}: empty values and values with spaces or quotes are not supported")
    return " ".join(f"{key}={value}" for key, value in overrides.items())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the parameter overrides of a deployment.")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--config-env", help="the samconfig.toml environment (default, dev, prod)")
    group.add_argument("--hash", action="store_true", help="print only the hash of migrations/")
    group.add_argument("--stack-name", metavar="CONFIG_ENV", help="print the stack name of a samconfig environment")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="one more override (repeatable)"
    )
    args = parser.parse_args(argv)
    if args.hash:
        print(migrations_hash())
        return 0
    try:
        if args.stack_name:
            print(stack_name(args.stack_name))
            return 0
        print(format_overrides(parameter_overrides(args.config_env, args.set)))
    except (KeyError, ValueError, FileNotFoundError) as exc:
        print(f"deploy_params: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
