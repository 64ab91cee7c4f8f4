"""The command as a whole: startup migration, configuration errors and clean shutdown."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.e2e.local_api.conftest import FIXTURES, REPO_ROOT, Server, start_server

pytestmark = pytest.mark.slow


def process_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def keep_requesting(server: Server, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            server.request("GET", "/items")
        except OSError:
            time.sleep(0.01)  # the server is going away


@pytest.mark.parametrize("under_load", [False, True], ids=["idle", "under-load"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_the_server_and_its_workers_cleanly(workdir: Path, signum: int, under_load: bool) -> None:
    server = start_server(workdir, ["--no-migrate"], {})
    stop_load = threading.Event()
    load = threading.Thread(target=keep_requesting, args=(server, stop_load))
    try:
        worker_pid = server.report("/items")["pid"]
        if under_load:
            # A signal that lands while the server accepts a connection must still stop it.
            load.start()
            time.sleep(0.3)
        assert server.stop(signum) == 0
    finally:
        stop_load.set()
        if load.is_alive():
            load.join()
        server.kill()

    assert "Traceback" not in server.log
    assert process_gone(worker_pid)


def test_startup_migrates_the_default_database_in_the_project_root(workdir: Path) -> None:
    shutil.copytree(FIXTURES / "alembic", workdir, dirs_exist_ok=True)
    server = start_server(workdir, [], {})
    try:
        assert server.report("/items")["env"]["DATABASE_URL"] == "sqlite:///learning_env.db"
    finally:
        server.stop(signal.SIGTERM)

    with sqlite3.connect(workdir / "learning_env.db") as connection:
        tables = {row[0] for row in connection.execute("select name from sqlite_master where type = 'table'")}
    assert "fixture_items" in tables


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--template", "missing.yaml"], "No template at"),
        (["--template", "broken.yaml"], "Failed to parse template"),
        (["--template", "fixtures/template.yaml", "--env-vars", "missing.json"], "--env-vars missing.json"),
    ],
)
def test_configuration_errors_exit_1_with_a_message(workdir: Path, args: list[str], message: str) -> None:
    (workdir / "broken.yaml").write_text("Resources: [unclosed\n")
    result = subprocess.run(
        [sys.executable, "-m", "local_api", "--no-migrate", *args],
        cwd=workdir,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
