"""The built functions register SnapStart's runtime hooks, and still serve after a snapshot and a restore."""

from __future__ import annotations

from pathlib import Path

from tests.infrastructure.artifacts.conftest import Migrated
from tools.http_api_events import http_api_event
from tools.lambda_layout import invoke, make_runtime_dir

# What the Lambda Python runtime's snapshot_restore_py offers, recording the hooks for lambda_runner.
STAND_IN = """
registered = {"before": [], "after": []}


def register_before_snapshot(hook, *args, **kwargs):
    registered["before"].append(lambda: hook(*args, **kwargs))
    return hook


def register_after_restore(hook, *args, **kwargs):
    registered["after"].append(lambda: hook(*args, **kwargs))
    return hook
"""


def test_the_hooks_close_the_connection_before_a_snapshot_and_the_function_serves_after_a_restore(
    migrated: Migrated, build_dir: Path, layer_dir: Path, tmp_path: Path
) -> None:
    runtime_dir = make_runtime_dir(tmp_path / "var-runtime")
    (runtime_dir / "snapshot_restore_py.py").write_text(STAND_IN, encoding="utf-8")
    run = invoke(
        build_dir / "ListSessionsFunction",
        layer_dir,
        runtime_dir,
        [
            http_api_event("GET", "/api/sessions/"),
            {"snapstart_phase": "before"},
            {"snapstart_phase": "after"},
            http_api_event("GET", "/api/sessions/"),
        ],
        {**migrated.env, "POWERTOOLS_SERVICE_NAME": "learning-sessions"},
        function_name="ListSessionsFunction",
    )
    first, snapshot, restore, after = run.results
    assert first["statusCode"] == 200, first
    # One hook each, registered by the handler's init; the snapshot holds no open connection.
    assert snapshot == {"phase": "before", "hooks": 1, "pooled_connections": 0}
    assert restore["hooks"] == 1
    assert after["statusCode"] == 200, after
