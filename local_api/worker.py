"""One Lambda execution environment: a long-lived process that runs one function's handler.

The server starts this file as a script (``python -I -u worker.py REQ_FD RESP_FD``), never as
``-m local_api.worker``: that would put the repository root on ``sys.path`` and let handler code
import things a deployed function cannot. For the same reason this module uses the standard
library only. The server imports it too, for the framing helpers, so both sides share one codec.

Protocol, over two dedicated pipes (stdout stays free for the handler's own prints):
every message is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON.

1. server -> worker: the init spec ``{"sys_path": [...], "handler": "module.function"}``; the rest
   of the function's configuration arrives in the environment, as in Lambda.
2. worker -> server: ``{"ok": true}`` once the handler module is imported (Lambda's init phase),
   or ``{"ok": false, "error": {...}}`` if the import failed; the worker then exits.
3. Repeatedly, server -> worker ``{"request_id", "deadline_ms", "event": "<event JSON>"}`` and
   worker -> server ``{"ok": true, "payload": "<result JSON>"}`` or ``{"ok": false, "error": {...}}``.

End of file on the request pipe means the server is gone: the worker exits quietly.
"""

from __future__ import annotations

import contextlib
import decimal
import importlib
import json
import logging
import os
import select
import struct
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

_HEADER = struct.Struct(">I")


class FrameTimeout(Exception):
    """No complete message arrived before the deadline."""


def write_frame(fd: int, message: dict[str, Any]) -> None:
    data = json.dumps(message, separators=(",", ":")).encode("utf-8")
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_frame(fd: int, deadline: float | None = None) -> dict[str, Any] | None:
    """Read one message; None on a clean end of file. ``deadline`` is a ``time.monotonic()`` value."""
    header = _read_exactly(fd, _HEADER.size, deadline, eof_ok=True)
    if header is None:
        return None
    (length,) = _HEADER.unpack(header)
    body = _read_exactly(fd, length, deadline, eof_ok=False)
    assert body is not None  # eof_ok=False raises instead
    message = json.loads(body)
    if not isinstance(message, dict):
        raise ValueError("protocol message is not a JSON object")
    return message


def _read_exactly(fd: int, size: int, deadline: float | None, *, eof_ok: bool) -> bytes | None:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise FrameTimeout
        chunk = os.read(fd, remaining)
        if not chunk:
            if eof_ok and remaining == size:
                return None
            raise EOFError("pipe closed in the middle of a message")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def error_payload(exc: BaseException) -> dict[str, Any]:
    """The shape the Python Lambda runtime reports for an unhandled exception."""
    return {
        "errorMessage": str(exc),
        "errorType": getattr(exc, "error_type", type(exc).__name__),
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


class CognitoIdentity:
    cognito_identity_id: str | None = None
    cognito_identity_pool_id: str | None = None


class LambdaContext:
    """Mirrors the context object of the Python Lambda runtime (awslambdaric).

    Like the real one it reads the function's settings from the environment, so
    ``memory_limit_in_mb`` is a string, not an int.
    """

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        env = os.environ
        self.aws_request_id = request_id
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        region = env.get("AWS_REGION", "us-east-1")
        account = env.get("AWS_ACCOUNT_ID", "123456789012")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account}:function:{self.function_name}"
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", f"/aws/lambda/{self.function_name}")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "$LATEST")
        self.identity = CognitoIdentity()
        self.client_context = None
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, message: str) -> None:
        sys.stdout.write(message)


class _RequestIdFilter(logging.Filter):
    """Stamps log records with the current request id, as the Lambda runtime's log handler does."""

    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


def _install_lambda_logging() -> _RequestIdFilter:
    # The Python runtime attaches this handler to the root logger before importing the handler,
    # so `logging.getLogger().info(...)` after setLevel() is visible locally just as in CloudWatch.
    request_filter = _RequestIdFilter()
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    handler.addFilter(request_filter)
    logging.getLogger().addHandler(handler)
    return request_filter


class InitError(Exception):
    """Raised with the error type and message the Python runtime reports for a failed init."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _load_handler(handler: str) -> Callable[[Any, LambdaContext], Any]:
    module_name, _, function_name = handler.rpartition(".")
    module_name = module_name.replace("/", ".")  # the runtime accepts "folder/module.function" too
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InitError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from exc
    except SyntaxError as exc:
        raise InitError("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}") from exc
    function = getattr(module, function_name, None)
    if not callable(function):
        raise InitError("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return function  # type: ignore[no-any-return]


def _lambda_json(value: Any) -> str:
    def decimal_to_float(obj: Any) -> float:
        # The Python runtime serialises Decimal (e.g. from DynamoDB) as a number, nothing else.
        if isinstance(obj, decimal.Decimal):
            return float(obj)
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")

    return json.dumps(value, default=decimal_to_float)


def _serve(request_fd: int, response_fd: int) -> None:
    spec = read_frame(request_fd)
    if spec is None:
        return
    # Code folder first, then layers, then the interpreter's own paths (stdlib, site-packages).
    sys.path[:0] = spec["sys_path"]
    request_filter = _install_lambda_logging()
    try:
        handler = _load_handler(spec["handler"])
    except Exception as exc:
        write_frame(response_fd, {"ok": False, "error": _report(exc)})
        return
    write_frame(response_fd, {"ok": True})

    while (request := read_frame(request_fd)) is not None:
        request_filter.request_id = request["request_id"]
        reply = _invoke(handler, request)
        # The invocation's logs first, then its result: the server logs its REPORT line on receipt.
        sys.stdout.flush()
        sys.stderr.flush()
        write_frame(response_fd, reply)


def _invoke(handler: Callable[[Any, LambdaContext], Any], request: dict[str, Any]) -> dict[str, Any]:
    context = LambdaContext(request["request_id"], request["deadline_ms"])
    try:
        result = handler(json.loads(request["event"]), context)
    except Exception as exc:
        return {"ok": False, "error": _report(exc)}
    try:
        return {"ok": True, "payload": _lambda_json(result)}
    except (TypeError, ValueError) as exc:
        message = f"Unable to marshal response: {exc}"
        print(f"[ERROR] Runtime.MarshalError: {message}", file=sys.stderr)
        return {"ok": False, "error": {"errorMessage": message, "errorType": "Runtime.MarshalError", "stackTrace": []}}


def _report(exc: Exception) -> dict[str, Any]:
    """Log ``exc`` the way the runtime does, from the function's own frames on, and describe it."""
    if exc.__traceback__ is not None:
        exc = exc.with_traceback(exc.__traceback__.tb_next)  # drop this module's frame
    payload = error_payload(exc)
    print(f"[ERROR] {payload['errorType']}: {exc}", file=sys.stderr)
    traceback.print_exception(exc)
    return payload


def main(argv: list[str]) -> int:
    request_fd, response_fd = int(argv[1]), int(argv[2])
    # Any of these means the server went away: there is nobody left to answer.
    with contextlib.suppress(BrokenPipeError, EOFError, KeyboardInterrupt):
        _serve(request_fd, response_fd)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
