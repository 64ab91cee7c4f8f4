"""samconfig.toml, the sam local env-vars file and tools.deploy_params agree with template.yaml."""

from __future__ import annotations

import importlib
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tools import deploy_params
from tools.template_check import REPO_ROOT, load_template

SAMCONFIG = REPO_ROOT / "samconfig.toml"
ENV_FILE = REPO_ROOT / "env.local.example.json"
# samconfig section -> the SAM CLI click command whose options it sets.
COMMANDS = {
    "build": "samcli.commands.build.command",
    "deploy": "samcli.commands.deploy.command",
    "validate": "samcli.commands.validate.validate",
    "local_start_api": "samcli.commands.local.start_api.cli",
    "local_invoke": "samcli.commands.local.invoke.cli",
}


@pytest.fixture(scope="module")
def samconfig() -> dict[str, Any]:
    with SAMCONFIG.open("rb") as handle:
        return tomllib.load(handle)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def environments(samconfig: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: value for name, value in samconfig.items() if isinstance(value, dict)}


def test_every_option_is_one_sam_cli_knows(samconfig: dict[str, Any]) -> None:
    # SAM CLI ignores a misspelt key without a word; this does not.
    for section, module in COMMANDS.items():
        options = {param.name for param in importlib.import_module(module).cli.params}
        for env, commands in environments(samconfig).items():
            unknown = set(commands.get(section, {}).get("parameters", {})) - options
            assert not unknown, f"[{env}.{section}.parameters]: {sorted(unknown)}"


@pytest.mark.parametrize("env", ["default", "dev", "prod"])
def test_deployable_environments(samconfig: dict[str, Any], env: str) -> None:
    assert samconfig[env]["global"]["parameters"]["stack_name"].startswith("learning-sessions")
    deploy = samconfig[env]["deploy"]["parameters"]
    assert deploy["resolve_s3"] is True
    assert "CAPABILITY_IAM" in deploy["capabilities"].split()
    build = samconfig[env]["build"]["parameters"]
    assert build["cached"] is True
    assert build["parallel"] is True
    if env != "default":
        assert deploy["confirm_changeset"] is False


def test_stack_names_differ(samconfig: dict[str, Any]) -> None:
    names = [samconfig[env]["global"]["parameters"]["stack_name"] for env in ("default", "dev", "prod")]
    assert len(set(names)) == len(names)


def test_parameter_overrides_name_template_parameters(samconfig: dict[str, Any], template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    for env, commands in environments(samconfig).items():
        for command, section in commands.items():
            raw = section.get("parameters", {}).get("parameter_overrides")
            if raw is None:
                continue
            for key, value in deploy_params.parse_assignments(raw.split()).items():
                assert key in parameters, f"[{env}.{command}] overrides unknown parameter {key}"
                allowed = parameters[key].get("AllowedValues")
                if allowed is not None:
                    assert value in [str(item) for item in allowed], f"[{env}.{command}] {key}={value}"


def test_prod_keeps_deletion_protection(samconfig: dict[str, Any]) -> None:
    assert deploy_params.samconfig_overrides("prod", SAMCONFIG)["DeletionProtection"] == "true"


def test_prod_bounds_database_connections_with_the_rds_proxy(template: dict[str, Any]) -> None:
    # The proxy, not the number of Lambda environments, decides how many connections reach Postgres.
    prod = deploy_params.samconfig_overrides("prod", SAMCONFIG)
    assert prod["EnableRdsProxy"] == "true"
    assert template["Parameters"]["DatabaseInstanceClass"]["Default"] == "db.t4g.micro"
    assert prod["DatabaseInstanceClass"] != "db.t4g.micro"


def test_prod_has_a_standby_database_and_dev_does_not() -> None:
    assert deploy_params.samconfig_overrides("prod", SAMCONFIG)["DatabaseMultiAz"] == "true"
    assert deploy_params.samconfig_overrides("dev", SAMCONFIG).get("DatabaseMultiAz", "false") == "false"


def test_the_local_build_never_lands_in_the_deployable_build_dir(samconfig: dict[str, Any]) -> None:
    local = samconfig["local"]
    build_dir = local["build"]["parameters"]["build_dir"]
    assert build_dir != ".aws-sam/build"
    assert local["local_start_api"]["parameters"]["template_file"] == f"{build_dir}/template.yaml"
    assert "Architecture=x86_64" in local["build"]["parameters"]["parameter_overrides"]


def test_the_env_vars_file_only_sets_variables_the_template_declares(
    samconfig: dict[str, Any], template: dict[str, Any]
) -> None:
    # `sam local` overrides only the variables a function declares; any other key would be silently dropped.
    assert samconfig["default"]["local_start_api"]["parameters"]["env_vars"] == ENV_FILE.name
    env_vars = json.loads(ENV_FILE.read_text(encoding="utf-8"))
    declared = set(template["Globals"]["Function"]["Environment"]["Variables"])
    assert set(env_vars) == {"Parameters"}
    assert set(env_vars["Parameters"]) <= declared
    assert env_vars["Parameters"]["POSTGRES_SSLMODE"] == "disable"
    assert env_vars["Parameters"]["POSTGRES_HOST"] == "127.0.0.1"


# ---------------------------------------------------------------- tools.deploy_params


def write_migrations(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return root


def test_the_migrations_hash_follows_names_and_contents_and_nothing_else(tmp_path: Path) -> None:
    first = write_migrations(tmp_path / "a", {"env.py": "x", "versions/0001_a.py": "one"})
    second = write_migrations(tmp_path / "b", {"versions/0001_a.py": "one", "env.py": "x"})
    write_migrations(second, {"versions/__pycache__/0001_a.cpython-312.pyc": "bytecode"})
    assert deploy_params.migrations_hash(first) == deploy_params.migrations_hash(second)
    write_migrations(second, {"versions/0002_b.py": "two"})
    assert deploy_params.migrations_hash(first) != deploy_params.migrations_hash(second)
    renamed = write_migrations(tmp_path / "c", {"env.py": "x", "versions/0001_b.py": "one"})
    assert deploy_params.migrations_hash(first) != deploy_params.migrations_hash(renamed)


def test_the_migrations_hash_fits_the_template_parameter(template: dict[str, Any]) -> None:
    import re

    pattern = template["Parameters"]["MigrationsHash"]["AllowedPattern"]
    assert re.fullmatch(pattern, deploy_params.migrations_hash())


def test_deploy_overrides_keep_the_environment_and_add_the_hash(capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy_params.main(["--config-env", "dev", "--set", "LogLevel=WARNING"]) == 0
    printed = deploy_params.parse_assignments(capsys.readouterr().out.split())
    expected = deploy_params.samconfig_overrides("dev") | {"LogLevel": "WARNING"}
    assert printed == expected | {"MigrationsHash": deploy_params.migrations_hash()}


def test_deploy_params_rejects_an_unknown_environment(capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy_params.main(["--config-env", "staging"]) == 2
    assert "staging" in capsys.readouterr().err


def test_deploy_params_prints_each_environments_stack_name(
    samconfig: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    for env in ("default", "dev", "prod"):
        assert deploy_params.main(["--stack-name", env]) == 0
        assert capsys.readouterr().out.strip() == samconfig[env]["global"]["parameters"]["stack_name"]
    assert deploy_params.main(["--stack-name", "staging"]) == 2


def test_prod_releases_by_canary_and_dev_all_at_once() -> None:
    assert deploy_params.samconfig_overrides("prod", SAMCONFIG)["DeploymentType"].startswith("Canary")
    assert deploy_params.samconfig_overrides("dev", SAMCONFIG)["DeploymentType"] == "AllAtOnce"
