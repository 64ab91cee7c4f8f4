"""The layer's and the migrate function's wheels match the architecture the template builds them for.

SAM hands a makefile build only ARTIFACTS_DIR; the makefiles read the architecture from the build
graph (build.toml) that SAM writes before building. A layer of the other CPU would deploy and then
fail every import of pydantic_core, so these tests look at what was built and at what the makefiles
would build, for both architectures.
"""

from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path

import pytest

from tools.lambda_layout import BUILD_ARCHITECTURE, REPO_ROOT, venv_bin

# ELF e_machine values (the 2 bytes at offset 18 of a little-endian ELF header).
ELF_MACHINES = {"x86_64": 62, "arm64": 183}
MAKEFILES = {"SharedLayer": REPO_ROOT / "shared", "MigrateFunction": REPO_ROOT / "functions" / "migrate"}
PLATFORM_SUFFIX = {"x86_64": "_x86_64", "arm64": "_aarch64"}


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", path
    machine: int = struct.unpack_from("<H", header, 18)[0]
    return machine


@pytest.mark.parametrize("artifact", ["SharedLayer", "MigrateFunction"])
def test_every_compiled_extension_is_for_the_architecture_built_for(build_dir: Path, artifact: str) -> None:
    # build_dir comes from `sam build --parameter-overrides Architecture=x86_64`, with no ARCHITECTURE variable.
    extensions = list((build_dir / artifact).rglob("*.so"))
    if artifact == "SharedLayer":
        assert any("pydantic_core" in str(path) for path in extensions)
    wrong = [str(path) for path in extensions if elf_machine(path) != ELF_MACHINES[BUILD_ARCHITECTURE]]
    assert wrong == []


def write_build_graph(root: Path, layer: str, migrate: str) -> dict[str, Path]:
    """What SAM writes before building: .aws-sam/build.toml beside the build folder."""
    (root / "build.toml").write_text(
        f"""
[function_build_definitions.one]
codeuri = "functions/migrate"
architecture = "{migrate}"
functions = ["MigrateFunction"]

[layer_build_definitions.two]
layer_name = "SharedLayer"
architecture = "{layer}"
layer = "SharedLayer"
""",
        encoding="utf-8",
    )
    return {name: root / "build" / name for name in MAKEFILES}


def make(
    resource: str, artifacts_dir: Path, *args: str, architecture: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "ARCHITECTURE"}
    env.update(ARTIFACTS_DIR=str(artifacts_dir), PATH=f"{venv_bin()}{os.pathsep}{env.get('PATH', '')}")
    if architecture is not None:
        env["ARCHITECTURE"] = architecture
    command = ["make", "--no-print-directory", "--makefile", "Makefile", *args, f"build-{resource}"]
    return subprocess.run(
        command, cwd=MAKEFILES[resource], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def platforms(dry_run_output: str) -> set[str]:
    words = dry_run_output.split()
    return {words[index + 1] for index, word in enumerate(words) if word == "--platform"}


@pytest.mark.parametrize(("layer", "migrate"), [("arm64", "x86_64"), ("x86_64", "arm64")])
def test_the_makefiles_build_for_the_architecture_in_sams_build_graph(tmp_path: Path, layer: str, migrate: str) -> None:
    artifacts = write_build_graph(tmp_path, layer, migrate)
    for resource, architecture in (("SharedLayer", layer), ("MigrateFunction", migrate)):
        done = make(resource, artifacts[resource], "--dry-run")
        assert done.returncode == 0, done.stderr
        found = platforms(done.stdout)
        assert found, done.stdout
        assert all(platform.endswith(PLATFORM_SUFFIX[architecture]) for platform in found), (resource, found)


def test_an_environment_that_contradicts_the_template_fails_the_build(tmp_path: Path) -> None:
    # What the old instructions had people run: the variable for one CPU, the parameter for the other.
    artifacts = write_build_graph(tmp_path, "arm64", "arm64")
    done = make("SharedLayer", artifacts["SharedLayer"], architecture="x86_64")
    assert done.returncode != 0
    assert "ARCHITECTURE=x86_64 in the environment, but sam build builds SharedLayer for arm64" in done.stderr
    assert not (artifacts["SharedLayer"] / "python").exists()


def test_without_a_build_graph_the_architecture_must_be_given(tmp_path: Path) -> None:
    done = make("SharedLayer", tmp_path / "build" / "SharedLayer")
    assert done.returncode != 0
    assert "no architecture" in done.stderr
