"""Load a function's app.py as Lambda would: fresh module, its own settings and engine."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest

from learning_sessions.config.settings import get_settings
from learning_sessions.data.database import get_engine
from tests.support.databases import REPO_ROOT
from tools.api_functions import API_FUNCTIONS


@dataclass
class FakeLambdaContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def load_function_module(name: str) -> ModuleType:
    path = REPO_ROOT / "functions" / name / "app.py"
    # Named after its path, as mutmut names its mutants (make mutate); not put in sys.modules, so a
    # second load is a fresh module all the same.
    spec = importlib.util.spec_from_file_location(f"functions.{name}.app", path)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def cold_start(env: dict[str, str]) -> Iterator[None]:
    """Environment and caches as a fresh execution environment would see them."""
    with pytest.MonkeyPatch.context() as patch:
        for key in ("DATABASE_URL", "POSTGRES_HOST", "POSTGRES_SECRET_ARN"):
            patch.delenv(key, raising=False)
        for key, value in env.items():
            patch.setenv(key, value)
        get_settings.cache_clear()
        get_engine.cache_clear()
        try:
            yield
        finally:
            get_settings.cache_clear()
            get_engine.cache_clear()


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def load_handlers(env: dict[str, str]) -> dict[str, Handler]:
    with cold_start(env):
        return {name: load_function_module(name).lambda_handler for name in API_FUNCTIONS.values()}
