"""Powertools' Tracer on the handlers (ENABLE_TRACER): run as Lambda runs a traced function, and absent when off.

Each case is a fresh interpreter, as an execution environment is: the X-Ray SDK reads Lambda's
variables when it is imported, and whether it is imported at all is what the switch decides.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url

from tests.support.databases import REPO_ROOT, migrate
from tests.support.xray import (
    PARENT_ID,
    SAMPLED_TRACE_HEADER,
    TRACE_ID,
    daemon_address,
    received_documents,
    xray_daemon,
)
from tools.http_api_events import http_api_event

FUNCTION = "create_session"
# A title that must never reach a trace: capture_response=False keeps response bodies out.
PRIVATE_TITLE = "not-for-the-trace-7f3a"
EVENTS = [
    http_api_event("POST", "/api/sessions/", body={"title": PRIVATE_TITLE, "status": "planned"}),
    http_api_event("POST", "/api/sessions/", body={"title": "no caller"}, user=None),
]
# Sends EVENTS (argv[1]) to the function's handler, then prints the statuses and the modules loaded.
RUN = """
import json, sys
import app

class Context:
    function_name = "CreateSessionFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:CreateSessionFunction"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    def get_remaining_time_in_millis(self):
        return 10000

statuses = [app.lambda_handler(event, Context())["statusCode"] for event in json.loads(sys.argv[1])]
print(json.dumps({"statuses": statuses, "modules": sorted(sys.modules)}))
"""


def run_function(env: dict[str, str], database: str) -> dict[str, Any]:
    """The create function cold-started in a fresh interpreter with Lambda's variables and env, sent EVENTS."""
    function_dir = REPO_ROOT / "functions" / FUNCTION
    lambda_env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": database,
        "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "CreateSessionFunction",
        "LAMBDA_TASK_ROOT": str(function_dir),
        "POWERTOOLS_SERVICE_NAME": "learning-sessions",
        "_X_AMZN_TRACE_ID": SAMPLED_TRACE_HEADER,
        **env,
    }
    paths = [str(function_dir), str(REPO_ROOT / "shared")]
    done = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path[:0] = {paths!r}\n{RUN}", json.dumps(EVENTS)],
        env=lambda_env,
        cwd=function_dir,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = make_url(f"sqlite:///{tmp_path / 'learning_sessions.db'}")
    migrate(url)
    return url.render_as_string()


@pytest.fixture
def daemon() -> Iterator[socket.socket]:
    """Where Lambda's X-Ray daemon would listen (AWS_XRAY_DAEMON_ADDRESS)."""
    with xray_daemon() as sock:
        yield sock


@pytest.mark.parametrize("switch", [{}, {"ENABLE_TRACER": "false"}], ids=["unset", "false"])
def test_with_the_tracer_off_the_xray_sdk_is_never_imported(
    switch: dict[str, str], database: str, daemon: socket.socket
) -> None:
    run = run_function({**switch, "AWS_XRAY_DAEMON_ADDRESS": daemon_address(daemon)}, database)
    assert run["statuses"] == [201, 401]
    assert [name for name in run["modules"] if name.split(".")[0] in ("aws_xray_sdk", "wrapt")] == []
    assert received_documents(daemon) == []


def test_a_traced_request_sends_its_subsegment_to_the_xray_daemon(database: str, daemon: socket.socket) -> None:
    run = run_function({"ENABLE_TRACER": "true", "AWS_XRAY_DAEMON_ADDRESS": daemon_address(daemon)}, database)
    assert run["statuses"] == [201, 401]
    documents = received_documents(daemon)
    # One subsegment per request, in the trace and under the segment that Lambda's _X_AMZN_TRACE_ID names.
    assert [document["name"] for document in documents] == ["## lambda_handler"] * 2, documents
    for document in documents:
        assert document["type"] == "subsegment"
        assert document["trace_id"] == TRACE_ID
        assert document["parent_id"] == PARENT_ID
        assert document["in_progress"] is False
        assert "metadata" not in document, document
    assert [document["annotations"] for document in documents] == [
        {"ColdStart": True, "Service": "learning-sessions", "Route": "POST /api/sessions/", "StatusCode": 201},
        {"ColdStart": False, "Service": "learning-sessions", "Route": "POST /api/sessions/", "StatusCode": 401},
    ]
    assert PRIVATE_TITLE not in json.dumps(documents)
    # Nothing patched, and in Lambda the SDK leaves botocore's clients (its centralised sampler) unloaded.
    assert "aws_xray_sdk.core" in run["modules"]
    loaded = set(run["modules"])
    assert not loaded & {"aws_xray_sdk.ext.pg8000.patch", "aws_xray_sdk.ext.sqlite3.patch", "botocore.client"}
