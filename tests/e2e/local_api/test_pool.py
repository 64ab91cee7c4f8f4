"""Worker pools without HTTP: failures, code reloading, the concurrency cap and shutdown."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_api.pool import FunctionError, FunctionPool, WorkerSpec

HANDLER_RETURNING = """
import os
VALUE = {value!r}
def lambda_handler(event, context):
    return {{"value": VALUE, "pid": os.getpid(), "event": event}}
"""


def write_handler(code_dir: Path, source: str) -> None:
    app = code_dir / "app.py"
    previous = app.stat().st_mtime_ns if app.exists() else 0
    app.write_text(source)
    # Python trusts a cached .pyc while the source's size and mtime, in whole seconds, are the same:
    # a quick edit of the same length needs its mtime moved on by at least a second.
    stamp = max(time.time_ns(), previous + 2_000_000_000)
    os.utime(app, ns=(stamp, stamp))


def make_pool(tmp_path: Path, source: str, max_workers: int = 2) -> FunctionPool:
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    write_handler(code_dir, source)
    spec = WorkerSpec(
        function_name="TestFunction",
        handler="app.lambda_handler",
        sys_path=[str(code_dir)],
        env={"PATH": os.environ.get("PATH", ""), "AWS_LAMBDA_FUNCTION_NAME": "TestFunction"},
        cwd=str(tmp_path),
        timeout_seconds=5,
    )
    return FunctionPool(spec, max_workers)


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[FunctionPool]:
    created = make_pool(tmp_path, HANDLER_RETURNING.format(value=1))
    yield created
    created.shutdown()


def invoke(pool: FunctionPool, event: object = None) -> dict[str, object]:
    result: dict[str, object] = json.loads(pool.invoke(json.dumps(event or {})))
    return result


def test_event_goes_in_and_result_comes_back(pool: FunctionPool) -> None:
    assert invoke(pool, {"hello": "world"})["event"] == {"hello": "world"}


def test_editing_the_code_replaces_the_warm_worker(pool: FunctionPool, tmp_path: Path) -> None:
    before = invoke(pool)

    write_handler(tmp_path / "code", HANDLER_RETURNING.format(value=2))
    after = invoke(pool)

    assert (before["value"], after["value"]) == (1, 2)
    assert before["pid"] != after["pid"]


@pytest.mark.parametrize(
    ("source", "error_type", "message"),
    [
        ("raise RuntimeError('bad import')\n", "RuntimeError", "bad import"),
        ("import no_such_module\n", "Runtime.ImportModuleError", "Unable to import module 'app'"),
        ("def lambda_handler(:\n", "Runtime.UserCodeSyntaxError", "Syntax error in module 'app'"),
        ("def other(event, context): pass\n", "Runtime.HandlerNotFound", "Handler 'lambda_handler' missing"),
    ],
)
def test_init_failure_fails_every_request_until_fixed(
    tmp_path: Path, source: str, error_type: str, message: str
) -> None:
    broken = make_pool(tmp_path, source)
    try:
        for _ in range(2):
            with pytest.raises(FunctionError) as failure:
                invoke(broken)
            assert failure.value.error_type == error_type
            assert failure.value.message.startswith(message)

        write_handler(tmp_path / "code", HANDLER_RETURNING.format(value=3))
        assert invoke(broken)["value"] == 3
    finally:
        broken.shutdown()


def test_requests_wait_for_a_worker_beyond_the_cap(tmp_path: Path) -> None:
    slow = make_pool(
        tmp_path,
        "import os, time\ndef lambda_handler(event, context):\n    time.sleep(0.3)\n    return os.getpid()\n",
        max_workers=1,
    )
    pids: list[int] = []
    try:
        threads = [threading.Thread(target=lambda: pids.append(json.loads(slow.invoke("{}")))) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        slow.shutdown()

    assert len(pids) == 3
    assert len(set(pids)) == 1


def test_shutdown_ends_the_workers(pool: FunctionPool) -> None:
    pid = invoke(pool)["pid"]
    assert isinstance(pid, int)

    pool.shutdown()

    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
