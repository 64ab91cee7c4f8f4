"""Build the SAM artifacts and run them as Lambda lays them out (shared by the tests and bench/)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
RUNNER = Path(__file__).with_name("lambda_runner.py")
# x86_64 so that the wheels load on this machine. A fixed folder, not a temporary one: SAM keys its
# build cache on build.toml, which it keeps beside the build folder, so a new folder is a cold build.
BUILD_ARCHITECTURE = "x86_64"
BUILD_ROOT = REPO_ROOT / ".aws-sam" / f"test-{BUILD_ARCHITECTURE}"
# What the python3.12 runtime keeps in /var/runtime, after the layer on sys.path.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "urllib3", "jmespath", "dateutil", "six")


def venv_bin() -> Path:
    return Path(sys.executable).parent


def lambda_python() -> str:
    """The runtime's Python (3.12): this interpreter when it is one, else python3.12 on PATH."""
    if sys.version_info[:2] == (3, 12):
        return sys.executable
    found = shutil.which("python3.12")
    if not found:
        raise RuntimeError("python3.12 is needed to run the artifacts (the .pyc are for 3.12 only)")
    return found


def sam_build(build_root: Path = BUILD_ROOT, architecture: str = BUILD_ARCHITECTURE) -> Path:
    """``sam build`` of template.yaml into build_root/build; returns that folder."""
    build_dir = build_root / "build"
    # No ARCHITECTURE in the environment: the makefiles must take it from what SAM resolved from the
    # template and --parameter-overrides, as for anyone who runs this command.
    env = {
        **{key: value for key, value in os.environ.items() if key != "ARCHITECTURE"},
        # The makefile builds look for python3.12 on PATH; the pyenv shim fails unless 3.12 is active.
        "PATH": f"{venv_bin()}{os.pathsep}{os.environ.get('PATH', '')}",
        "SAM_CLI_TELEMETRY": "0",
    }
    command = [
        str(venv_bin() / "sam"),
        "build",
        "--template-file",
        str(REPO_ROOT / "template.yaml"),
        "--build-dir",
        str(build_dir),
        "--cache-dir",
        str(build_root / "cache"),
        "--cached",
        "--parallel",
        "--parameter-overrides",
        f"Architecture={architecture}",
    ]
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"sam build failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return build_dir


def make_runtime_dir(destination: Path) -> Path:
    """A stand-in for /var/runtime: links to this environment's boto3 and its dependencies."""
    destination.mkdir(parents=True, exist_ok=True)
    boto3 = importlib.util.find_spec("boto3")
    if boto3 is None or boto3.origin is None:
        raise RuntimeError("boto3 is needed here to stand in for the Lambda runtime's copy")
    site_packages = Path(boto3.origin).resolve().parents[1]
    for name in RUNTIME_PACKAGES:
        for candidate in (site_packages / name, site_packages / f"{name}.py"):
            link = destination / candidate.name
            if candidate.exists() and not link.exists():
                link.symlink_to(candidate)
    return destination


@dataclass(frozen=True)
class Invocation:
    results: list[Any]
    import_seconds: float
    request_seconds: list[float]
    compiled_from_source: list[str]
    module_files: dict[str, str | None]
    distributions: dict[str, str]
    flags: dict[str, Any]
    stdout: str
    stderr: str


def invoke(
    function_dir: Path,
    layer_dir: Path,
    runtime_dir: Path,
    events: list[dict[str, Any]],
    env: dict[str, str],
    *,
    timeout_ms: int = 10_000,
    function_name: str = "function",
) -> Invocation:
    """Cold-start the function in a fresh interpreter and send it the events, one after another."""
    with tempfile.TemporaryDirectory(prefix="lambda-run-") as scratch:
        spec_path, output_path = Path(scratch) / "spec.json", Path(scratch) / "output.json"
        spec = {
            "function_dir": str(function_dir),
            "layer_dir": str(layer_dir),
            "runtime_dir": str(runtime_dir),
            "handler": "app.lambda_handler",
            "events": events,
            "timeout_ms": timeout_ms,
            "function_name": function_name,
        }
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        # Lambda's environment is what the function configuration says, not this shell's.
        base = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TZ") if key in os.environ}
        run_env = {**base, "PYTHONDONTWRITEBYTECODE": "1", "AWS_REGION": "us-east-1", **env}
        # -I: no PYTHON* variables, no user site, no script folder on sys.path; -S: no site-packages;
        # -B: write no .pyc (Lambda's /var/task and /opt are read-only), as -I ignores the variable.
        done = subprocess.run(
            [lambda_python(), "-I", "-S", "-B", str(RUNNER), str(spec_path), str(output_path)],
            env=run_env,
            cwd=function_dir,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0 or not output_path.exists():
            raise AssertionError(f"{function_dir.name} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        output = json.loads(output_path.read_text(encoding="utf-8"))
    return Invocation(
        results=output["results"],
        import_seconds=output["import_seconds"],
        request_seconds=output["request_seconds"],
        compiled_from_source=output["compiled_from_source"],
        module_files=output["module_files"],
        distributions=output["distributions"],
        flags={key: output[key] for key in ("dont_write_bytecode", "no_site", "isolated", "sys_path")},
        stdout=done.stdout,
        stderr=done.stderr,
    )
