"""Invoke a built function the way the Lambda Python runtime does, in this (isolated) interpreter.

Run as ``python3.12 -I -S lambda_runner.py SPEC_JSON OUTPUT_JSON``: no site-packages, no PYTHON*
variables honoured, and sys.path laid out as on Lambda, i.e. the function's folder (/var/task),
the layer's python/ folder (/opt/python), then the runtime's own packages (/var/runtime, where
boto3 lives). Standard library only: nothing else is importable until sys.path is set.

SPEC_JSON: {"function_dir", "layer_dir", "runtime_dir", "handler", "events": [...], "timeout_ms"}.
OUTPUT_JSON gets the handler's results, the import and first-request times, and which modules were
compiled from source instead of loaded from a .pyc.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.metadata
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any


class Context:
    """Lambda's context object, with a deadline that runs down as a real one does."""

    def __init__(self, function_name: str, timeout_ms: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "2026/11/26/[$LATEST]0123456789abcdef"
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


def run_snapstart_hooks(phase: str) -> dict[str, Any]:
    """Play Lambda's part at a snapshot ("before") or a restore ("after"): run the hooks registered with
    the stand-in snapshot_restore_py that the runtime folder holds
    (see tests/infrastructure/artifacts/test_snapstart.py)."""
    runtime_hooks = importlib.import_module("snapshot_restore_py")
    hooks = runtime_hooks.registered[phase]
    for hook in hooks:
        hook()
    engine_module = sys.modules.get("learning_sessions.data.database")
    pooled = None
    if engine_module is not None and engine_module.get_engine.cache_info().currsize:
        pooled = engine_module.get_engine().pool.checkedin()
    return {"phase": phase, "hooks": len(hooks), "pooled_connections": pooled}


def main(spec_path: str, output_path: str) -> None:
    spec: dict[str, Any] = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    sys.path[:0] = [spec["function_dir"], spec["layer_dir"], spec["runtime_dir"]]

    # Every module the import system compiles from source passes through here; one loaded from a
    # valid .pyc does not. Recording the paths shows whether the shipped bytecode is used.
    compiled: list[str] = []
    original = importlib.machinery.SourceFileLoader.source_to_code

    def source_to_code(self: Any, data: Any, path: Any, *args: Any, **kwargs: Any) -> Any:
        compiled.append(str(path))
        return original(self, data, path, *args, **kwargs)

    importlib.machinery.SourceFileLoader.source_to_code = source_to_code  # type: ignore[method-assign]

    module_name, _, handler_name = spec["handler"].rpartition(".")
    started = time.perf_counter()
    module = importlib.import_module(module_name)
    handler = getattr(module, handler_name)
    imported = time.perf_counter()

    results: list[Any] = []
    request_seconds: list[float] = []
    for event in spec["events"]:
        if isinstance(event, dict) and "snapstart_phase" in event:
            results.append(run_snapstart_hooks(event["snapstart_phase"]))
            continue
        context = Context(spec.get("function_name", "function"), spec.get("timeout_ms", 10_000))
        before = time.perf_counter()
        results.append(handler(event, context))
        request_seconds.append(time.perf_counter() - before)

    output = {
        # What importlib.metadata finds on this sys.path, i.e. whether the slimmed dist-info still works.
        "distributions": {dist.metadata["Name"].lower(): dist.version for dist in importlib.metadata.distributions()},
        "results": results,
        "import_seconds": imported - started,
        "request_seconds": request_seconds,
        "compiled_from_source": compiled,
        "dont_write_bytecode": sys.dont_write_bytecode,
        "no_site": sys.flags.no_site,
        "isolated": sys.flags.isolated,
        "sys_path": sys.path,
        "module_files": {
            name: getattr(mod, "__file__", None) for name, mod in sorted(sys.modules.items()) if "." not in name
        },
    }
    Path(output_path).write_text(json.dumps(output, default=str), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
