"""What a function's cold start imports: only what its first request needs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.databases import REPO_ROOT
from tools.api_functions import API_FUNCTIONS

SHOULD_NOT_LOAD = ("boto3", "botocore.client", "alembic", "aws_lambda_powertools.utilities.idempotency")


@pytest.mark.parametrize("function", API_FUNCTIONS.values())
def test_cold_start_imports_no_aws_sdk_nor_alembic(function: str) -> None:
    # boto3 is needed only for Secrets Manager.
    code = f"import app; print(','.join(name for name in {SHOULD_NOT_LOAD!r} if name in sys.modules))"
    loaded = _run_cold(code, function, ON_POSTGRES)
    assert loaded == "", f"{function} loads {loaded} at cold start"


# A fresh interpreter, as Lambda's, with the function's folder and the layer's package on sys.path.
ON_POSTGRES = {"DATABASE_URL": "postgresql://u@127.0.0.1:1/d", "PATH": "/usr/bin:/bin"}
LAMBDA_LIKE = {"DATABASE_URL": "sqlite://", "PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1"}


def _run_cold(code: str, function: str, env: dict[str, str]) -> str:
    paths = [str(REPO_ROOT / "functions" / function), str(REPO_ROOT / "shared")]
    result = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path[:0] = {paths!r}; {code}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def _run_in_lambda_like_interpreter(code: str, function: str) -> str:
    return _run_cold(code, function, {**LAMBDA_LIKE, "AWS_LAMBDA_FUNCTION_NAME": function})


@pytest.mark.parametrize("function", ["get_session", "migrate"])
def test_garbage_collector_is_paused_during_init_and_resumed_after(function: str) -> None:
    code = (
        "import gc, learning_sessions; paused = not gc.isenabled(); import app; "
        "print(paused, gc.isenabled(), gc.get_freeze_count() > 0)"
    )
    paused, resumed, frozen = _run_in_lambda_like_interpreter(code, function).split()
    assert (paused, resumed) == ("True", "True")
    if function != "migrate":
        # The API functions also move what init created out of the collector's reach.
        assert frozen == "True"


# The import diet (docs/performance.md): what each function's cold start builds, on Postgres settings.
_MODELS = ("SessionCreate", "SessionUpdate", "Session", "SessionEnvelope", "SessionPage", "ErrorEnvelope")
# The request body a function validates, built at import; every other model waits for its first use.
_BUILT_AT_IMPORT = {"create_session": ["SessionCreate"], "update_session": ["SessionUpdate"]}


@pytest.mark.parametrize("function", API_FUNCTIONS.values())
def test_cold_start_builds_only_what_the_functions_route_uses(function: str) -> None:
    code = (
        "import json, app; "
        "from learning_sessions.domain import schemas; "
        "from learning_sessions.http import openapi; "
        "state = {"
        "'sqlite': 'sqlalchemy.dialects.sqlite' in sys.modules, "
        "'idempotency': 'learning_sessions.domain.idempotency' in sys.modules, "
        f"'built': [name for name in {_MODELS!r} if getattr(schemas, name).__pydantic_complete__], "
        "'document_only_built': openapi.UnauthorizedBody.__pydantic_complete__}; "
        # What the function's own resolver would document: none of the responses tools/openapi.py declares.
        "operations = [op for path in app.app.get_openapi_schema().paths.values() "
        "for op in (path.get, path.post, path.patch, path.delete) if op is not None]; "
        "state['declared_503'] = [op.operationId for op in operations if 503 in op.responses]; "
        "print(json.dumps(state))"
    )
    assert json.loads(_run_cold(code, function, ON_POSTGRES)) == {
        # A dialect's keyword on a Table would import that dialect's package to check it.
        "sqlite": False,
        # Only POST uses Idempotency-Key: the create function imports it at its first request.
        "idempotency": False,
        "built": _BUILT_AT_IMPORT.get(function, []),
        "document_only_built": False,
        # Routes declare their responses only while tools/openapi.py builds the document: Powertools
        # would otherwise make a TypeAdapter of each response model at the route's first request.
        "declared_503": [],
    }


@pytest.mark.parametrize("function", API_FUNCTIONS.values())
def test_on_sqlite_a_cold_start_loads_no_postgres_driver(function: str) -> None:
    postgres_only = ("pg8000", "sqlalchemy.dialects.postgresql")
    code = f"import app; print(','.join(name for name in {postgres_only!r} if name in sys.modules))"
    loaded = _run_cold(code, function, {"DATABASE_URL": "sqlite://", "PATH": "/usr/bin:/bin"})
    assert loaded == "", f"{function} loads {loaded} on SQLite"
