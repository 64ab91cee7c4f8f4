"""Run `python -m local_api` as a real subprocess and talk to it over HTTP (stdlib only)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.support.no_write import assert_no_write_on_server_error

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_SECONDS = 30.0
# werkzeug's access line, which the local server logs at INFO: `"GET /api/sessions/ HTTP/1.1" 500 -`.
# The request line is matched up to the last quote: a request werkzeug could not parse is logged too.
ACCESS_LINE = re.compile(r'^\[werkzeug\] INFO .*"(?P<request>.*)" (?P<status>[1-5][0-9][0-9]) \S+$', re.MULTILINE)


# werkzeug colours the request of a 4xx or 5xx line, even into a file.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def access_log(log: str) -> list[tuple[str, int]]:
    """Every request the server answered, as (request line, status), from its log."""
    return [(match["request"], int(match["status"])) for match in ACCESS_LINE.finditer(ANSI_ESCAPE.sub("", log))]


def server_errors(log: str) -> list[tuple[str, int]]:
    return [(request, status) for request, status in access_log(log) if status >= 500]


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Server:
    process: subprocess.Popen[str]
    base_url: str
    workdir: Path
    banner: str
    log_path: Path
    # The database to check is unchanged by every request answered with a 5xx (tests/support/no_write.py).
    no_write_on_5xx: Engine | None = None

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> Reply:
        return assert_no_write_on_server_error(
            self.no_write_on_5xx,
            lambda: http(method, self.base_url + path, body, headers),
            lambda reply: reply.status,
            f"{method} {path}",
        )

    def report(self, path: str) -> dict[str, Any]:
        """GET a fixture route and return the report the fixture handler sends back."""
        reply = self.request("GET", path)
        assert reply.status == 200, reply.body
        result: dict[str, Any] = reply.json()
        return result

    def stop(self, signum: int) -> int:
        """Send ``signum`` and return the exit status; a server that does not stop is killed."""
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect is an answer to assert on (API Gateway never sends one), not something to follow.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def http(method: str, url: str, body: bytes | None = None, headers: Mapping[str, str] | None = None) -> Reply:
    # The tests talk to the local server, or to the deployed stack the HTTP tests are pointed at.
    deployed = os.environ.get("LEARNING_SESSIONS_API_URL", "").rstrip("/")
    if not (url.startswith("http://127.0.0.1:") or (deployed and url.startswith(deployed + "/"))):
        raise ValueError(f"tests only talk to the local server or LEARNING_SESSIONS_API_URL, not {url}")
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))  # noqa: S310
    try:
        with _opener.open(request, timeout=15) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Reply(error.code, dict(error.headers), error.read())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_serving(process: subprocess.Popen[str], base_url: str) -> str:
    assert process.stdout is not None
    banner = process.stdout.readline()  # printed once the port is bound
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}")
        try:
            http("GET", base_url + "/__ready__")
            return banner
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.05)
    process.kill()
    pytest.fail("server did not start in time")


def start_local_api(
    workdir: Path, template: Path, extra_args: list[str], env: Mapping[str, str], log_dir: Path | None = None
) -> Server:
    """Start `python -m local_api` in ``workdir`` (its project root) with exactly ``env`` plus the basics."""
    port = free_port()
    log_dir = log_dir or workdir
    # A file, not a pipe: nobody reads the log while tests run, and a full pipe would block the server.
    log = (log_dir / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "local_api", "--template", str(template), *extra_args],
        cwd=workdir,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO_ROOT), "PORT": str(port), **env},
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    log.close()
    base_url = f"http://127.0.0.1:{port}"
    banner = _wait_until_serving(process, base_url)
    return Server(process, base_url, workdir, banner, log_dir / "server.log")
