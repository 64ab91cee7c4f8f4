"""Execution environments for one function: worker processes that stay warm between requests.

Each worker handles one request at a time. When every worker of a function is busy another one
is started, up to ``max_workers``, like Lambda scaling out; past that, requests wait for a free
worker. A worker that failed (crash, timeout, failed import) is thrown away and the next request
starts a fresh one. Editing the function's code or its layers retires the warm workers, so the
next request sees the new code, as ``sam local start-api`` does.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_api import worker as protocol

LOG = logging.getLogger(__name__)

_WORKER_SCRIPT = str(Path(protocol.__file__).resolve())
# Lambda gives a function's init phase (importing the handler module) 10 seconds of its own.
INIT_TIMEOUT_SECONDS = 10.0
_STOP_GRACE_SECONDS = 1.0
_IGNORED_DIRS = frozenset({"__pycache__", "node_modules"})


class FunctionError(Exception):
    """The function failed: it raised, crashed, timed out or could not be imported.

    API Gateway answers these with a bare 5xx; the details belong in the log, not the response.
    """

    def __init__(self, function_name: str, error_type: str, message: str) -> None:
        super().__init__(f"{function_name}: {error_type}: {message}")
        self.function_name = function_name
        self.error_type = error_type
        self.message = message


class IntegrationTimeout(FunctionError):
    """API Gateway stopped waiting for the function (its integration timeout is shorter)."""


class ResponseTooLarge(FunctionError):
    """The function's result is over Lambda's synchronous response limit."""


class _NotDelivered(FunctionError):
    """The worker was gone before it received the request: safe to hand the request to another."""


@dataclass(frozen=True)
class WorkerSpec:
    function_name: str
    handler: str
    sys_path: Sequence[str]
    env: dict[str, str]
    cwd: str
    timeout_seconds: float
    # API Gateway's integration timeout: it answers 503 once this passes, whatever the function's.
    integration_timeout_seconds: float = 30.0


class WorkerProcess:
    """One warm execution environment. Not thread-safe: the pool lends it to one request at a time."""

    def __init__(self, spec: WorkerSpec, generation: int) -> None:
        self.spec = spec
        self.generation = generation
        self.healthy = True
        self.cold = True
        self.idle_since = time.monotonic()
        request_read, self._request_fd = os.pipe()
        self._response_fd, response_write = os.pipe()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-u", _WORKER_SCRIPT, str(request_read), str(response_write)],
                pass_fds=(request_read, response_write),
                env=spec.env,
                cwd=spec.cwd,
                stdin=subprocess.DEVNULL,
                # The handler may print: its stdout joins the server's log stream, never the protocol.
                stdout=sys.stderr,
                # Its own session, so Ctrl+C in the terminal reaches only the server, which then
                # stops the workers itself instead of every worker printing a KeyboardInterrupt.
                start_new_session=True,
            )
        except BaseException:
            self._close_pipes()
            raise
        finally:
            os.close(request_read)
            os.close(response_write)
        self._init()

    @property
    def pid(self) -> int:
        return self._process.pid

    def is_alive(self) -> bool:
        return self._process.poll() is None

    def _init(self) -> None:
        try:
            protocol.write_frame(self._request_fd, {"sys_path": list(self.spec.sys_path), "handler": self.spec.handler})
        except BrokenPipeError:
            raise self._crashed("init") from None
        deadline = time.monotonic() + max(INIT_TIMEOUT_SECONDS, self.spec.timeout_seconds)
        reply = self._receive(deadline, request_id="init")
        if not reply.get("ok"):
            # The worker exits after a failed import; the pool starts a new one next time.
            self.healthy = False
            self.stop()
            raise self._error(reply, "Runtime.ImportModuleError")

    def invoke(self, event: str, request_id: str) -> str:
        """Run the handler on ``event`` (a JSON string) and return its JSON result."""
        deadline_ms = int(time.time() * 1000 + self.spec.timeout_seconds * 1000)
        try:
            protocol.write_frame(
                self._request_fd, {"request_id": request_id, "deadline_ms": deadline_ms, "event": event}
            )
        except BrokenPipeError:
            crashed = self._crashed(request_id)
            raise _NotDelivered(crashed.function_name, crashed.error_type, crashed.message) from None
        wait = min(self.spec.timeout_seconds, self.spec.integration_timeout_seconds)
        try:
            reply = self._receive(time.monotonic() + wait, request_id)
        except FunctionError as error:
            if error.error_type == "Sandbox.Timedout" and wait < self.spec.timeout_seconds:
                # On AWS the function would run on to its own timeout; here it is stopped now.
                raise IntegrationTimeout(
                    self.spec.function_name,
                    "IntegrationTimeout",
                    f"RequestId: {request_id} no response within the integration timeout of {wait:.2f} seconds",
                ) from None
            raise
        self.cold = False
        if not reply.get("ok"):
            # Like the Python runtime, an exception from the handler leaves the environment warm.
            raise self._error(reply, "Runtime.UnhandledError")
        return str(reply["payload"])

    def _receive(self, deadline: float, request_id: str) -> dict[str, Any]:
        try:
            reply = protocol.read_frame(self._response_fd, deadline)
        except protocol.FrameTimeout:
            self.healthy = False
            self.stop(graceful=False)
            raise FunctionError(
                self.spec.function_name,
                "Sandbox.Timedout",
                f"RequestId: {request_id} Error: Task timed out after {self.spec.timeout_seconds:.2f} seconds",
            ) from None
        except EOFError:
            reply = None
        if reply is None:
            raise self._crashed(request_id)
        return reply

    def _crashed(self, request_id: str) -> FunctionError:
        self.healthy = False
        self.stop()
        code = self._process.returncode
        reason = f"signal {-code}" if code is not None and code < 0 else f"exit status {code}"
        return FunctionError(
            self.spec.function_name, "Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited with {reason}"
        )

    def _error(self, reply: dict[str, Any], default_type: str) -> FunctionError:
        error = reply.get("error")
        details: dict[str, Any] = error if isinstance(error, dict) else {}
        return FunctionError(
            self.spec.function_name, str(details.get("errorType") or default_type), str(details.get("errorMessage", ""))
        )

    def stop(self, *, graceful: bool = True) -> None:
        """End the process: closing its request pipe tells it to exit; a kill follows if it lingers."""
        self._close_pipes()
        if graceful:
            try:
                self._process.wait(timeout=_STOP_GRACE_SECONDS)
                return
            except subprocess.TimeoutExpired:
                pass
        self._process.kill()
        self._process.wait()

    def kill(self) -> None:
        self._process.kill()

    def _close_pipes(self) -> None:
        # Marked closed (-1) so a second stop() cannot close a number another thread has reused.
        for fd in (self._request_fd, self._response_fd):
            if fd >= 0:
                os.close(fd)
        self._request_fd = self._response_fd = -1


def code_fingerprint(roots: Iterable[str]) -> tuple[int, int]:
    """(newest mtime, file count) under ``roots``: changes when a file is edited, added or removed."""
    newest, count = 0, 0
    for root in roots:
        for folder, dirs, files in os.walk(root):
            dirs[:] = [name for name in dirs if name not in _IGNORED_DIRS and not name.startswith(".")]
            for name in files:
                try:
                    newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime_ns)
                except OSError:
                    continue  # deleted while walking; the count change is enough
                count += 1
    return newest, count


class FunctionPool:
    """The warm workers of one function."""

    def __init__(self, spec: WorkerSpec, max_workers: int, idle_timeout_seconds: float | None = None) -> None:
        self.spec = spec
        self.max_workers = max_workers
        # Like Lambda reclaiming an unused execution environment; None keeps workers for ever.
        self.idle_timeout_seconds = idle_timeout_seconds
        self._condition = threading.Condition()
        self._idle: list[WorkerProcess] = []
        self._all: set[WorkerProcess] = set()
        self._starting = 0
        self._generation = 0
        self._fingerprint = code_fingerprint(spec.sys_path)
        self._closed = False
        if idle_timeout_seconds is not None:
            threading.Thread(target=self._retire_idle_workers, name=f"{spec.function_name}-reaper", daemon=True).start()

    def invoke(self, event: str) -> str:
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        cold = False
        try:
            # A worker can die between the liveness check and the hand-over; the request then
            # never reached it, so another worker takes it (the client sees nothing of it).
            for attempt in range(self.max_workers + 1):
                worker = self._acquire()
                cold = worker.cold
                try:
                    return worker.invoke(event, request_id)
                except _NotDelivered as gone:
                    if attempt == self.max_workers:
                        raise FunctionError(gone.function_name, gone.error_type, gone.message) from None
                    LOG.info("%s: worker %d was gone, retrying on another", self.spec.function_name, worker.pid)
                finally:
                    self._release(worker)
            raise AssertionError("unreachable")  # pragma: no cover
        finally:
            LOG.info(
                "%s REPORT RequestId: %s Duration: %.1f ms%s",
                self.spec.function_name,
                request_id,
                (time.monotonic() - started) * 1000,
                " (cold start)" if cold else "",
            )

    def _acquire(self) -> WorkerProcess:
        with self._condition:
            self._retire_if_code_changed()
            while True:
                self._discard_dead_idle_workers()
                if self._idle or len(self._all) + self._starting < self.max_workers:
                    break
                self._condition.wait()
            if self._idle:
                return self._idle.pop()
            self._starting += 1
            generation = self._generation
        worker: WorkerProcess | None = None
        try:
            # Started outside the lock: a cold start must not hold up requests to warm workers.
            worker = WorkerProcess(self.spec, generation)
        finally:
            with self._condition:
                self._starting -= 1
                closed = self._closed
                if worker is not None and not closed:
                    self._all.add(worker)
                self._condition.notify()
        if closed:
            worker.stop()
            raise FunctionError(self.spec.function_name, "Runtime.Shutdown", "the server is shutting down")
        return worker

    def _release(self, worker: WorkerProcess) -> None:
        with self._condition:
            keep = worker.healthy and worker.generation == self._generation and not self._closed
            if keep:
                worker.idle_since = time.monotonic()
                self._idle.append(worker)
            else:
                self._all.discard(worker)
            self._condition.notify()
        if not keep:
            worker.stop()

    def _discard_dead_idle_workers(self) -> None:
        """Forget idle workers whose process has exited (killed, out of memory...). Under the lock."""
        for worker in [worker for worker in self._idle if not worker.is_alive()]:
            LOG.info("%s: idle worker %d has exited, replacing it", self.spec.function_name, worker.pid)
            self._idle.remove(worker)
            self._all.discard(worker)
            worker.stop(graceful=False)  # closes its pipes and reaps the process

    def _retire_idle_workers(self) -> None:
        assert self.idle_timeout_seconds is not None
        interval = min(max(self.idle_timeout_seconds / 4, 0.05), 5.0)
        while True:
            with self._condition:
                if self._closed:
                    return
                now = time.monotonic()
                expired = [w for w in self._idle if now - w.idle_since >= self.idle_timeout_seconds]
                for worker in expired:
                    self._idle.remove(worker)
                    self._all.discard(worker)
                self._condition.notify_all()
            for worker in expired:
                LOG.info("%s: retiring worker %d, idle for a while", self.spec.function_name, worker.pid)
                worker.stop()
            time.sleep(interval)

    def _retire_if_code_changed(self) -> None:
        fingerprint = code_fingerprint(self.spec.sys_path)
        if fingerprint == self._fingerprint:
            return
        LOG.info("%s: code changed, the next requests start fresh workers", self.spec.function_name)
        self._fingerprint = fingerprint
        self._generation += 1
        for idle in self._idle:
            self._all.discard(idle)
            idle.stop(graceful=False)
        self._idle.clear()

    def shutdown(self) -> None:
        with self._condition:
            self._closed = True
            idle, busy = list(self._idle), self._all.difference(self._idle)
            self._all.clear()
            self._idle.clear()
        for worker in idle:
            worker.stop()
        # A busy worker's pipes belong to the request thread using it: killing the process ends
        # that request (as a crash), and the thread cleans up when it releases the worker.
        for worker in busy:
            worker.kill()
