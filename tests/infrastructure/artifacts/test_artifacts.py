"""What `sam build` produces, run as Lambda runs it: each function in a fresh interpreter whose
sys.path is the function's folder, the layer's python/ folder and the runtime's packages."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from packaging.requirements import Requirement

from tests.infrastructure.artifacts.conftest import Migrated
from tests.integration.migrate_function.cfn import EXPECTED_PHYSICAL_ID
from tests.support.xray import SAMPLED_TRACE_HEADER, TRACE_ID, daemon_address, received_documents, xray_daemon
from tools.api_functions import API_FUNCTIONS
from tools.http_api_events import http_api_event
from tools.lambda_layout import REPO_ROOT, RUNTIME_PACKAGES, invoke

pytestmark = pytest.mark.slow

HEAD = ScriptDirectory(str(REPO_ROOT / "migrations")).get_current_head()
# In the Lambda runtime already (boto3), or needed only at deploy time (alembic and its template engine).
NOT_IN_LAYER = ("boto3", "botocore", "s3transfer", "alembic", "mako", "crhelper")
FROM_THE_LAYER = ("sqlalchemy", "pydantic", "pydantic_core", "aws_lambda_powertools", "learning_sessions")


def normalise(distribution: str) -> str:
    # PEP 503: aws_lambda_powertools in METADATA is aws-lambda-powertools in requirements.txt.
    return re.sub(r"[-_.]+", "-", distribution.strip()).lower()


def top_level_names(folder: Path) -> set[str]:
    return {path.name.removesuffix(".py").lower() for path in folder.iterdir()}


def test_layer_holds_the_shared_code_and_nothing_the_runtime_has(layer_dir: Path) -> None:
    names = top_level_names(layer_dir)
    assert set(FROM_THE_LAYER) <= names
    assert not names & set(NOT_IN_LAYER)
    # Slimmed: pip's bookkeeping and the test suites are gone (METADATA stays: see the runtime test).
    assert not list(layer_dir.glob("*.dist-info/RECORD"))
    assert not list(layer_dir.rglob("tests"))


# What shared/Makefile prunes (UNUSED_SUBPACKAGES); the serving tests below run the functions without them.
PRUNED = (
    "sqlalchemy/testing",
    "aws_xray_sdk/ext",
    "aws_lambda_powertools/utilities/idempotency",
    "aws_lambda_powertools/utilities/parser",
    "aws_lambda_powertools/utilities/validation",
)


def test_the_unused_subpackages_are_pruned_and_their_parents_kept(layer_dir: Path) -> None:
    assert [name for name in PRUNED if (layer_dir / name).exists()] == []
    assert all((layer_dir / name).parent.is_dir() for name in PRUNED)


def test_every_dependency_of_the_layer_is_in_it_or_in_the_runtime(layer_dir: Path) -> None:
    # The layer is installed with --no-deps (shared/Makefile), so a dependency that requirements.txt
    # forgot would simply be missing; botocore (aws-xray-sdk's) is the one the runtime provides.
    shipped = {
        normalise(dist.metadata["Name"]): dist for dist in importlib.metadata.distributions(path=[str(layer_dir)])
    }
    by_module = importlib.metadata.packages_distributions()
    runtime = {normalise(dist) for module in RUNTIME_PACKAGES for dist in by_module.get(module, [])}
    assert {"aws-xray-sdk", "wrapt"} <= set(shipped)
    missing, wrong_version = [], []
    for name, dist in shipped.items():
        for line in dist.requires or []:
            requirement = Requirement(line)
            # Extras nobody asks for (Powertools' "tracer", "all", ...) and other Pythons' backports.
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            needed = normalise(requirement.name)
            if needed in shipped:
                if not requirement.specifier.contains(shipped[needed].version, prereleases=True):
                    wrong_version.append(f"{name} needs {requirement}, the layer has {shipped[needed].version}")
            elif needed not in runtime:
                missing.append(f"{name} needs {requirement}")
    assert not missing, missing
    assert not wrong_version, wrong_version


def test_api_functions_hold_only_their_handler(build_dir: Path) -> None:
    for logical_id in API_FUNCTIONS:
        names = top_level_names(build_dir / logical_id)
        assert "app" in names, logical_id
        assert not names & {*NOT_IN_LAYER, *FROM_THE_LAYER}, f"{logical_id}: {sorted(names)}"


def test_migrate_function_holds_alembic_and_the_migrations(build_dir: Path) -> None:
    folder = build_dir / "MigrateFunction"
    names = top_level_names(folder)
    assert {"app", "alembic", "mako", "markupsafe", "crhelper", "migrations", "alembic.ini"} <= names
    # No second copy of what the layer ships, and no boto3.
    assert not names & {"boto3", "botocore", "sqlalchemy", "pydantic", "aws_lambda_powertools", "typing_extensions"}
    ini = (folder / "alembic.ini").read_text(encoding="utf-8")
    assert "script_location = %(here)s/migrations" in ini
    assert "prepend_sys_path" not in ini
    repository = sorted(p.name for p in (REPO_ROOT / "migrations" / "versions").glob("*.py"))
    assert sorted(p.name for p in (folder / "migrations" / "versions").glob("*.py")) == repository


@pytest.mark.parametrize("artifact", ["SharedLayer/python", "MigrateFunction"])
def test_every_module_has_unchecked_hash_bytecode_for_the_runtime(build_dir: Path, artifact: str) -> None:
    folder = build_dir / artifact
    sources = [p for p in folder.rglob("*.py") if "__pycache__" not in p.parts]
    assert len(sources) > 10
    missing, wrong = [], []
    for source in sources:
        cached = Path(importlib.util.cache_from_source(str(source)))
        if not cached.is_file():
            missing.append(source)
            continue
        header = cached.read_bytes()[:16]
        flags = int.from_bytes(header[4:8], "little")
        # Magic number of this (3.12) interpreter, and flags 0b01: hash-based, source not checked.
        if header[:4] != importlib.util.MAGIC_NUMBER or flags != 0b01:
            wrong.append((source, header[:4], flags))
    assert not missing, missing[:5]
    assert not wrong, wrong[:5]


def test_migrate_artifact_answers_the_custom_resource(migrated: Migrated) -> None:
    create, update = migrated.responses
    assert create.body["Status"] == "SUCCESS", create.body["Reason"]
    assert create.body["PhysicalResourceId"] == EXPECTED_PHYSICAL_ID
    assert create.body["Data"] == {"Revision": HEAD, "PreviousRevision": ""}
    # The same warm process, a second time: nothing left to do.
    assert update.body["Status"] == "SUCCESS", update.body["Reason"]
    assert update.body["Data"] == {"Revision": HEAD, "PreviousRevision": HEAD}
    logs = [json.loads(line) for line in migrated.invocation.stdout.splitlines() if line.startswith("{")]
    assert any(entry["message"] == "Database at head" for entry in logs), migrated.invocation.stdout
    assert any(entry.get("name", "").startswith("alembic") and "Running upgrade" in entry["message"] for entry in logs)


def test_migrate_artifact_runs_from_its_own_bytecode(migrated: Migrated, build_dir: Path, layer_dir: Path) -> None:
    run = migrated.invocation
    assert run.flags["isolated"]
    assert run.flags["no_site"]
    assert run.flags["dont_write_bytecode"]
    shipped = (str(build_dir / "MigrateFunction"), str(layer_dir))
    assert [path for path in run.compiled_from_source if path.startswith(shipped)] == []
    assert (run.module_files["alembic"] or "").startswith(str(build_dir / "MigrateFunction"))
    assert (run.module_files["sqlalchemy"] or "").startswith(str(layer_dir))
    # importlib.metadata still reads the layer's slimmed dist-info, at the versions pinned.
    pins = (REPO_ROOT / "shared" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    found = {normalise(name): version for name, version in run.distributions.items()}
    for name, _, version in (line.partition("==") for line in pins if "==" in line):
        assert found.get(normalise(name)) == version.strip(), name
    assert run.distributions.get("alembic")


def api(
    migrated: Migrated,
    build_dir: Path,
    layer_dir: Path,
    runtime_dir: Path,
    logical_id: str,
    events: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    run = invoke(
        build_dir / logical_id,
        layer_dir,
        runtime_dir,
        events,
        {**migrated.env, "POWERTOOLS_SERVICE_NAME": "learning-sessions"},
        function_name=logical_id,
    )
    # The layer's .pyc are used (nothing under it compiled); the handler itself, shipped without
    # .pyc by SAM's python builder, is compiled, which shows the check sees compilation at all.
    assert [path for path in run.compiled_from_source if path.startswith(str(layer_dir))] == []
    if not (build_dir / logical_id / "__pycache__").exists():
        assert str(build_dir / logical_id / "app.py") in run.compiled_from_source
    return run.results


def body(result: dict[str, Any]) -> Any:
    return json.loads(result["body"]) if result.get("body") else None


def test_api_functions_serve_http_api_events(
    migrated: Migrated, build_dir: Path, layer_dir: Path, runtime_dir: Path
) -> None:
    item = "/api/sessions/{id}"
    created, invalid = api(
        migrated,
        build_dir,
        layer_dir,
        runtime_dir,
        "CreateSessionFunction",
        [
            http_api_event("POST", "/api/sessions/", body={"title": "Built artifact", "status": "planned"}),
            http_api_event("POST", "/api/sessions/", body={"title": "", "status": "someday"}),
        ],
    )
    assert created["statusCode"] == 201, created
    assert invalid["statusCode"] == 422, invalid
    session = body(created)["data"]
    path, params = f"/api/sessions/{session['id']}", {"id": str(session["id"])}

    found, missing = api(
        migrated,
        build_dir,
        layer_dir,
        runtime_dir,
        "GetSessionFunction",
        [
            http_api_event("GET", path, route=item, path_parameters=params),
            http_api_event("GET", "/api/sessions/999999", route=item, path_parameters={"id": "999999"}),
        ],
    )
    assert found["statusCode"] == 200, found
    assert body(found)["data"]["title"] == "Built artifact"
    assert missing["statusCode"] == 404, missing

    (listed,) = api(
        migrated, build_dir, layer_dir, runtime_dir, "ListSessionsFunction", [http_api_event("GET", "/api/sessions")]
    )
    assert listed["statusCode"] == 200, listed
    assert session["id"] in [entry["id"] for entry in body(listed)["data"]]

    (patched,) = api(
        migrated,
        build_dir,
        layer_dir,
        runtime_dir,
        "UpdateSessionFunction",
        [http_api_event("PATCH", path, route=item, path_parameters=params, body={"status": "in_progress"})],
    )
    assert patched["statusCode"] == 200, patched
    assert body(patched)["data"]["status"] == "in_progress"

    deleted, again = api(
        migrated,
        build_dir,
        layer_dir,
        runtime_dir,
        "DeleteSessionFunction",
        [
            http_api_event("DELETE", path, route=item, path_parameters=params),
            http_api_event("DELETE", path, route=item, path_parameters=params),
        ],
    )
    assert deleted["statusCode"] == 204, deleted
    assert again["statusCode"] == 404, again


def test_a_traced_api_function_sends_its_subsegment_with_the_layers_xray_sdk(
    migrated: Migrated, build_dir: Path, layer_dir: Path, runtime_dir: Path
) -> None:
    function_dir = build_dir / "GetSessionFunction"
    event = http_api_event("GET", "/api/sessions/999999", route="/api/sessions/{id}", path_parameters={"id": "999999"})
    with xray_daemon() as daemon:
        run = invoke(
            function_dir,
            layer_dir,
            runtime_dir,
            [event],
            {
                **migrated.env,
                "POWERTOOLS_SERVICE_NAME": "learning-sessions",
                "ENABLE_TRACER": "true",
                # What Lambda sets in a traced function's environment.
                "AWS_LAMBDA_FUNCTION_NAME": "GetSessionFunction",
                "LAMBDA_TASK_ROOT": str(function_dir),
                "_X_AMZN_TRACE_ID": SAMPLED_TRACE_HEADER,
                "AWS_XRAY_DAEMON_ADDRESS": daemon_address(daemon),
            },
            function_name="GetSessionFunction",
        )
        documents = received_documents(daemon)
    assert run.results[0]["statusCode"] == 404, run.results
    # The SDK and wrapt come from the layer, which has no botocore: the SDK runs on the runtime's.
    for module in ("aws_xray_sdk", "wrapt"):
        assert (run.module_files[module] or "").startswith(str(layer_dir)), run.module_files[module]
    (subsegment,) = documents
    assert subsegment["name"] == "## lambda_handler"
    assert subsegment["trace_id"] == TRACE_ID
    assert subsegment["annotations"] == {
        "ColdStart": True,
        "Service": "learning-sessions",
        "Route": "GET /api/sessions/{id}",
        "StatusCode": 404,
    }
