"""The service's own settings from the server's shell reach the functions, below --env-vars."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from local_api.service_settings import SETTINGS_MODULE, service_setting_names
from tests.e2e.local_api.conftest import REPO_ROOT, start_server

# A stand-in for shared/learning_sessions/config/settings.py: the server reads the aliases of Settings.
SETTINGS_SOURCE = """
from pydantic import BaseModel, Field

class Settings(BaseModel):
    greeting: str = Field(default="", alias="GREETING")
    shared_setting: str = Field(default="", alias="SHARED_SETTING")
"""


def test_the_real_settings_model_is_found() -> None:
    names = service_setting_names(REPO_ROOT)

    assert {"MAX_BODY_BYTES", "DB_STATEMENT_TIMEOUT_MS", "DATABASE_URL"} <= names


def test_a_project_without_the_settings_module_passes_none(tmp_path: Path) -> None:
    assert service_setting_names(tmp_path) == frozenset()


@pytest.mark.slow
def test_shell_beats_the_template_and_env_vars_beat_the_shell(workdir: Path) -> None:
    settings = workdir / SETTINGS_MODULE
    settings.parent.mkdir(parents=True)
    settings.write_text(SETTINGS_SOURCE)
    env_vars = workdir / "env.json"
    env_vars.write_text(json.dumps({"OtherFunction": {"GREETING": "from-env-file"}}))
    server = start_server(
        workdir,
        ["--no-migrate", "--env-vars", str(env_vars)],
        {"GREETING": "from-shell", "SHARED_SETTING": "from-shell", "NOT_A_SETTING": "x"},
    )
    try:
        echo = server.report("/items")["env"]
        other = server.report("/other")["env"]
    finally:
        assert server.stop(signal.SIGTERM) == 0

    assert echo["GREETING"] == "from-shell"  # the template says from-echo
    assert other["GREETING"] == "from-env-file"
    assert echo["SHARED_SETTING"] == other["SHARED_SETTING"] == "from-shell"
    assert "NOT_A_SETTING" not in echo
