"""What a function's cold start imports: only what its first request needs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.databases import REPO_ROOT

SHOULD_NOT_LOAD = ("boto3", "botocore.client", "alembic", "aws_lambda_powertools.utilities.idempotency")


@pytest.mark.parametrize(
    "function", ["list_sessions", "create_session", "get_session", "update_session", "delete_session"]
)
def test_cold_start_imports_no_aws_sdk_nor_alembic(function: str) -> None:
    # A fresh interpreter, as Lambda's; boto3 is needed only for Secrets Manager or DynamoDB.
    code = (
        "import sys; "
        f"sys.path[:0] = [{str(REPO_ROOT / 'functions' / function)!r}, {str(REPO_ROOT / 'shared')!r}]; "
        "import app; "
        f"print(','.join(name for name in {SHOULD_NOT_LOAD!r} if name in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"DATABASE_URL": "postgresql://u@127.0.0.1:1/d", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "", f"{function} loads {result.stdout.strip()} at cold start"
