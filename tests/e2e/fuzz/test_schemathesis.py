"""Schemathesis, driven by docs/openapi.json, against the local server on SQLite and Postgres.

Every operation, the default checks (tuned only where tests/e2e/fuzz/schemathesis.toml says why),
stateful links from created sessions to GET/PATCH/DELETE. Two runs per database:
- a regression run with the fixed seed of schemathesis.toml, the same cases every time;
- an exploring run with a fresh seed, printed, so that a failure can be replayed with
  FUZZ_SEED=<seed> (FUZZ_SEED also pins the exploring run in CI if ever needed).
FUZZ_MAX_EXAMPLES sets the examples per operation.

The server runs with AUTH=jwt, as API Gateway would guard it, and every request carries a token of
the local issuer: the fuzzing goes through the authorizer's emulation. Schemathesis' ignored_auth
check sends some requests without it; test_every_operation_refuses_a_missing_or_bad_token checks
every operation's refusal directly.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import URL

from local_api import local_issuer
from tests.e2e.http.conftest import serve
from tests.support.local_server import REPO_ROOT, Server, access_log, http, server_errors

pytestmark = pytest.mark.slow

CONFIG = REPO_ROOT / "tests" / "e2e" / "fuzz" / "schemathesis.toml"
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "40"))
FIXED_SEED: int = tomllib.loads(CONFIG.read_text())["seed"]
DOCUMENT = REPO_ROOT / "docs" / "openapi.json"


@pytest.fixture(scope="module")
def fuzzed_server(database_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = serve(
        database_url.render_as_string(hide_password=False), tmp_path_factory.mktemp("fuzz"), env={"AUTH": "jwt"}
    )
    yield server
    server.stop(signal.SIGTERM)


@pytest.fixture(scope="module")
def token(fuzzed_server: Server) -> str:
    # The server trusts the local issuer of its project root (the repository), as `make token` uses it.
    return local_issuer.load_or_create(REPO_ROOT).mint("fuzzer")


def exploring_seed() -> int:
    return int(os.environ.get("FUZZ_SEED") or random.SystemRandom().randrange(2**31))


@pytest.mark.parametrize("run", ["fixed-seed", "fresh-seed"])
def test_schemathesis_finds_nothing(fuzzed_server: Server, token: str, tmp_path: Path, run: str) -> None:
    seed = FIXED_SEED if run == "fixed-seed" else exploring_seed()
    print(f"schemathesis {run} run: seed {seed} (replay with FUZZ_SEED={seed})")
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(CONFIG),
        "run",
        str(DOCUMENT),
        "--url",
        fuzzed_server.base_url,
        "--seed",
        str(seed),
        "--max-examples",
        str(MAX_EXAMPLES),
        # The coverage phase's cases do not depend on the seed: the regression run has them.
        *(["--phases", "fuzzing,stateful"] if run == "fresh-seed" else []),
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(tmp_path / "schemathesis.xml"),
    ]
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT / 'shared'}{os.pathsep}{REPO_ROOT}", "FUZZ_TOKEN": token}
    answered_before = len(access_log(fuzzed_server.log))
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1800, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"seed {seed}:\n{output[-20_000:]}"
    summary = re.search(r"(\d+) generated, (\d+) passed", output)
    assert summary is not None, output[-5_000:]
    generated, passed = map(int, summary.groups())
    assert generated == passed
    assert generated >= 7 * MAX_EXAMPLES // 2, "far fewer cases than asked for: is an operation skipped?"
    assert "Stateful" in output
    # The server's own access log, not schemathesis' view: a 5xx a check tolerated still counts.
    answered = access_log(fuzzed_server.log)[answered_before:]
    assert len(answered) >= generated, "the access log misses requests: the 5xx check below would be blind"
    assert server_errors(fuzzed_server.log) == [], "the fuzz run must not see a 5xx"
    # 401 is tolerated for the generated bearer headers (schemathesis.toml): the real token must work.
    accepted = [status for _, status in answered if 200 <= status < 300]
    assert len(accepted) >= generated // 4, f"{len(accepted)} 2xx of {generated} cases: is the token refused?"
    print(f"schemathesis {run} (seed {seed}): {generated} cases generated, {passed} passed, 0 failures")


def operations() -> list[tuple[str, str]]:
    paths = json.loads(DOCUMENT.read_text())["paths"]
    return [(method.upper(), path) for path, methods in paths.items() for method in methods]


@pytest.mark.parametrize(("method", "path"), operations())
def test_every_operation_refuses_a_missing_or_bad_token(
    fuzzed_server: Server, token: str, method: str, path: str
) -> None:
    """API Gateway's own 401, as the document describes it, before any function runs."""
    document = json.loads(DOCUMENT.read_text())
    operation = document["paths"][path][method.lower()]
    assert operation["security"] == [{"bearerAuth": []}]
    documented = Draft202012Validator(
        {**operation["responses"]["401"]["content"]["application/json"]["schema"], "components": document["components"]}
    )
    url = fuzzed_server.base_url + path.replace("{id}", "1")
    body = b'{"title": "Nobody\'s"}' if method in ("POST", "PATCH") else None
    json_body = {"Content-Type": "application/json"} if body else {}
    answered_before = len(access_log(fuzzed_server.log))
    for authorization in (None, "Bearer not-a-token", f"Bearer {token}x", f"Basic {token}"):
        headers = {**json_body, **({"Authorization": authorization} if authorization else {})}
        reply = http(method, url, body, headers)
        assert reply.status == 401, (authorization, reply.body)
        refusal: Any = reply.json()
        assert refusal == {"message": "Unauthorized"}
        documented.validate(refusal)
        assert reply.headers["www-authenticate"].startswith("Bearer")
    # Refused by the authorizer: no function ran, so nothing answered with a 5xx or wrote anything.
    assert server_errors(fuzzed_server.log) == []
    assert all(status == 401 for _, status in access_log(fuzzed_server.log)[answered_before:])
