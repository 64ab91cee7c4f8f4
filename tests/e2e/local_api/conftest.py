"""Run `python -m local_api` as a real subprocess against the fixture template."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.support.local_server import REPO_ROOT, Reply, Server, http, start_local_api

FIXTURES = Path(__file__).resolve().parent / "fixtures"
__all__ = ["FIXTURES", "REPO_ROOT", "Reply", "Server", "http", "start_server"]


def start_server(workdir: Path, extra_args: list[str], env: Mapping[str, str]) -> Server:
    return start_local_api(workdir, workdir / "fixtures" / "template.yaml", extra_args, env)


def make_workdir(path: Path) -> Path:
    """A project root of our own: no .env, alembic.ini or database of the real checkout leak in."""
    shutil.copytree(FIXTURES, path / "fixtures", ignore=shutil.ignore_patterns("__pycache__"))
    return path


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return make_workdir(tmp_path)


@pytest.fixture(scope="module")
def module_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_workdir(tmp_path_factory.mktemp("local_api"))
