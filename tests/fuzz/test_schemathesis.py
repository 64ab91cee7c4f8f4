"""Schemathesis, driven by docs/openapi.json, against the local server on a real Postgres.

Every operation, the default checks (tuned only where tests/fuzz/schemathesis.toml says why),
stateful links from created sessions to GET/PATCH/DELETE, seeded and deterministic.
FUZZ_MAX_EXAMPLES sets the examples per operation (200 by default, as CI runs it).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import URL

from tests.http.conftest import serve
from tests.local_server import REPO_ROOT, Server

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "200"))


@pytest.fixture(scope="module")
def fuzzed_server(postgres_database_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = serve(postgres_database_url.render_as_string(hide_password=False), tmp_path_factory.mktemp("fuzz"))
    yield server
    server.stop(signal.SIGTERM)


def test_schemathesis_finds_nothing(fuzzed_server: Server, tmp_path: Path) -> None:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(REPO_ROOT / "tests" / "fuzz" / "schemathesis.toml"),
        "run",
        str(REPO_ROOT / "docs" / "openapi.json"),
        "--url",
        fuzzed_server.base_url,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(tmp_path / "schemathesis.xml"),
    ]
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT / 'shared'}{os.pathsep}{REPO_ROOT}"}
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1800, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20_000:]
    summary = re.search(r"(\d+) generated, (\d+) passed", output)
    assert summary is not None, output[-5_000:]
    generated, passed = map(int, summary.groups())
    assert generated == passed
    assert generated >= 7 * MAX_EXAMPLES // 2, "far fewer cases than asked for: is an operation skipped?"
    assert "Stateful" in output
    server_errors = re.findall(r'"status":5\d\d', fuzzed_server.log)
    assert server_errors.count('"status":503') == len(server_errors) == 0, "the fuzz run must not see a 5xx"
    print(f"schemathesis: {generated} cases generated, {passed} passed, 0 failures")
