"""One benchmarked function in its own interpreter, laid out as Lambda lays one out.

Started by bench/harness.py as ``python3.12 -I -S -B worker.py SPEC_JSON``: no site-packages and no
PYTHON* variables, so nothing is importable but the standard library until this file puts the
function's folder (/var/task), its layers (/opt/python) and the runtime's packages (/var/runtime,
where boto3 lives) on sys.path. -B because Lambda's code folders are read-only: a module without a
shipped .pyc is compiled again on every cold start.

Standard library only. Modes (SPEC_JSON["mode"]):

* ``cold``: import the handler, answer one event, print one JSON line and exit.
* ``serve``: import the handler, then answer commands, one JSON line in and one out, on stdin/stdout:
  ``{"op": "run", "events": [...]}`` times each call, ``{"op": "check", ...}`` returns the responses,
  ``{"op": "rss"}``, ``{"op": "exit"}``.

The handler's own stdout (Powertools' JSON log lines) goes to /dev/null: the protocol keeps a
private duplicate of the original stdout, so a log line can never corrupt it.
"""

from __future__ import annotations

# What the python3.12 runtime's bootstrap (awslambdaric) has imported before it imports the handler:
# on Lambda these cost the function nothing at init, so they are loaded before the clock starts,
# for every target alike. http.client (and with it ssl and hashlib) is not among them: the runtime
# imports it lazily, only to report an init error.
import decimal  # noqa: F401
import importlib
import json
import logging  # noqa: F401
import os
import resource
import sys
import time
import traceback  # noqa: F401
import warnings  # noqa: F401

# Not `from typing import TYPE_CHECKING`: typing is no module the runtime preloads, and importing it
# here would spare the targets that import it at run time the cost.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import IO, Any

    Handler = Callable[[dict[str, Any], Any], Any]


class Context:
    """Lambda's context object, with a deadline that runs down as a real one does."""

    def __init__(self, function_name: str, timeout_ms: int = 10_000) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        # uuid-shaped without importing uuid, which the runtime does not preload.
        raw = os.urandom(16).hex()
        self.aws_request_id = f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "2026/11/26/[$LATEST]0123456789abcdef"
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


def max_rss_kb() -> int:
    """Peak resident memory of this process, in KiB.

    VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across execve, so a child would report
    the peak of the (much larger) benchmark process that forked it.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def invoke(handler: Handler, event: dict[str, Any], function_name: str) -> tuple[int, str, int]:
    """One invocation as the runtime makes it: (duration ns, serialised response, status).

    The runtime serialises the returned dict with json.dumps before it posts the response, and that
    happens inside the billed duration, so it is timed too; building the context is the runtime's
    work before the handler runs, so it is not.
    """
    context = Context(function_name)
    started = time.perf_counter_ns()
    result = handler(event, context)
    payload = json.dumps(result)
    elapsed = time.perf_counter_ns() - started
    status = result.get("statusCode", 0) if isinstance(result, dict) else 0
    return elapsed, payload, int(status)


def run(handler: Handler, events: list[dict[str, Any]], function_name: str) -> dict[str, Any]:
    durations: list[int] = []
    statuses: dict[str, int] = {}
    unexpected: str | None = None
    for event in events:
        expected = event.pop("_expect", None)
        elapsed, payload, status = invoke(handler, event, function_name)
        durations.append(elapsed)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        if expected is not None and status != expected and unexpected is None:
            unexpected = payload[:2000]
    return {"ns": durations, "statuses": statuses, "unexpected": unexpected}


def serve(handler: Handler, function_name: str, commands: IO[str], replies: IO[str]) -> None:
    for line in commands:
        command = json.loads(line)
        op = command["op"]
        reply: dict[str, Any]
        if op == "run":
            reply = run(handler, command["events"], function_name)
        elif op == "check":
            responses = []
            for event in command["events"]:
                event.pop("_expect", None)
                _, payload, _ = invoke(handler, event, function_name)
                responses.append(json.loads(payload))
            reply = {"responses": responses}
        elif op == "rss":
            reply = {"max_rss_kb": max_rss_kb()}
        elif op == "exit":
            return
        else:
            reply = {"error": f"unknown op {op!r}"}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


def main() -> None:
    spec: dict[str, Any] = json.loads(sys.argv[1])
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.path[:0] = spec["sys_path"]
    function_name: str = spec.get("function_name", "function")

    started = time.perf_counter_ns()
    module = importlib.import_module(spec.get("module", "app"))
    handler: Handler = getattr(module, spec.get("handler", "lambda_handler"))
    imported = time.perf_counter_ns()

    if spec["mode"] == "cold":
        first_ns, payload, status = invoke(handler, spec["event"], function_name)
        report = {
            "import_ns": imported - started,
            "first_request_ns": first_ns,
            "cold_ns": imported - started + first_ns,
            "status": status,
            "max_rss_kb": max_rss_kb(),
            "modules": len(sys.modules),
            "response": payload[:2000],
        }
        replies.write(json.dumps(report) + "\n")
        replies.flush()
        return
    replies.write(json.dumps({"ready": True, "import_ns": imported - started}) + "\n")
    replies.flush()
    serve(handler, function_name, sys.stdin, replies)


if __name__ == "__main__":
    main()
