"""Worker processes over time: one that died while idle, idle retirement."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.local_api.conftest import Server, make_workdir, start_server

pytestmark = pytest.mark.slow

# Generous: only a server that never does it runs into this.
GIVE_UP_SECONDS = 30.0


def process_gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie not yet reaped by its parent counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def wait_until_gone(pid: int) -> bool:
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while time.monotonic() < deadline:
        if process_gone(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def server(module_workdir: Path) -> Iterator[Server]:
    running = start_server(module_workdir, ["--no-migrate", "--max-workers", "2"], {})
    yield running
    assert running.stop(signal.SIGTERM) == 0


def test_worker_killed_while_idle_is_replaced_without_an_error(server: Server) -> None:
    before = server.report("/items")["pid"]
    os.kill(before, signal.SIGKILL)
    assert wait_until_gone(before)

    after = server.request("GET", "/items")

    assert after.status == 200, after.body
    assert after.json()["pid"] != before
    assert "has exited, replacing it" in server.log


def test_every_idle_worker_killed_still_gets_an_answer(server: Server) -> None:
    first = server.report("/other")["pid"]
    os.kill(first, signal.SIGKILL)
    assert wait_until_gone(first)

    assert server.report("/other")["pid"] != first
    assert server.report("/other")["pid"] != first


def test_idle_workers_are_retired_after_the_idle_timeout(tmp_path: Path) -> None:
    running = start_server(make_workdir(tmp_path), ["--no-migrate", "--idle-worker-seconds", "0.5"], {})
    try:
        first = running.report("/items")["pid"]

        assert wait_until_gone(first)
        assert running.report("/items")["pid"] != first
        assert "retiring worker" in running.log
    finally:
        assert running.stop(signal.SIGTERM) == 0


def test_default_keeps_a_worker_warm_between_close_requests(server: Server) -> None:
    # The default idle timeout (60 s) is far longer than the gap between these two.
    assert server.report("/fail/ok")["pid"] == server.report("/fail/ok")["pid"]
