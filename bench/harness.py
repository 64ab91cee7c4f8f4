"""The benchmarked targets and the processes that run them.

A target is one implementation of the API: the project (its `sam build` artifacts, or the source
tree), the bare reference or the FastAPI reference. Each of its functions runs in its own
interpreter (bench/worker.py) whose sys.path holds only that function's folder, its layers and a
stand-in for the runtime's /var/runtime, as on Lambda.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tools import lambda_layout as layout
from tools.api_functions import API_FUNCTIONS

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
WORKER = BENCH_DIR / "worker.py"
# A folder of its own: SAM keys its build cache on the build.toml beside the build folder.
DEFAULT_BUILD_ROOT = REPO_ROOT / ".aws-sam" / "bench-x86_64"
REFERENCE_CACHE = DEFAULT_BUILD_ROOT / "references"

ROUTES = ("get", "list", "create", "patch", "delete")
_ROUTE_FUNCTIONS = {
    "get": "GetSessionFunction",
    "list": "ListSessionsFunction",
    "create": "CreateSessionFunction",
    "patch": "UpdateSessionFunction",
    "delete": "DeleteSessionFunction",
}
# route -> (template logical id, folder under functions/)
PROJECT_FUNCTIONS = {route: (logical_id, API_FUNCTIONS[logical_id]) for route, logical_id in _ROUTE_FUNCTIONS.items()}
REFERENCES = ("bare", "fastapi")
# What the python3.12 runtime keeps in /var/runtime (after the layers on sys.path).


class BenchError(RuntimeError):
    """Something the benchmark needs is missing or broken; the message says what to do."""


@dataclass(frozen=True)
class Artifact:
    """One deployable function: its folder (/var/task) and its layers' python/ folders (/opt/python)."""

    function_dir: Path
    layers: tuple[Path, ...]
    function_name: str


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    artifacts: dict[str, Artifact]
    # Folders whose unzipped size is the target's deployment size (one function plus its layers).
    size_folders: tuple[Path, ...] = ()


def lambda_python() -> str:
    """The runtime's Python (3.12), as the artifact tests find it."""
    try:
        return layout.lambda_python()
    except RuntimeError as exc:
        raise BenchError(str(exc)) from None


def sam_build(build_root: Path = DEFAULT_BUILD_ROOT) -> Path:
    """`sam build` for x86_64 (what runs on this machine) into build_root/build, as the artifact tests build."""
    try:
        return layout.sam_build(build_root, "x86_64")
    except RuntimeError as exc:
        raise BenchError(
            f"{exc}\nFix the build, or pass --build-dir of a working one, or --source to benchmark the source tree."
        ) from None


def _check_layer_runs_here(layer: Path) -> None:
    """A layer built for arm64 cannot load its compiled wheels on this machine: say so plainly."""
    machine = platform.machine()
    for extension in layer.glob("pydantic_core/_pydantic_core*.so"):
        if machine not in extension.name:
            raise BenchError(
                f"{layer} holds {extension.name}, not built for this machine ({machine}): "
                "build with ARCHITECTURE=x86_64 (make build-x86) or let the benchmark build"
            )


def project_from_build(build_dir: Path) -> Target:
    # Absolute: each worker runs in its function folder, where a relative path would point elsewhere.
    build_dir = build_dir.resolve()
    layer = build_dir / "SharedLayer" / "python"
    missing = [name for name, _ in PROJECT_FUNCTIONS.values() if not (build_dir / name / "app.py").is_file()]
    if not (layer / "learning_sessions").is_dir() or missing:
        raise BenchError(
            f"{build_dir} is not a complete `sam build` output (layer: {layer.is_dir()}, missing: {missing}); "
            "run `make build-x86` or omit --build-dir to let the benchmark build"
        )
    _check_layer_runs_here(layer)
    artifacts = {
        route: Artifact(build_dir / logical_id, (layer,), logical_id)
        for route, (logical_id, _) in PROJECT_FUNCTIONS.items()
    }
    return Target(
        "project",
        f"Powertools + Pydantic + SQLAlchemy Core ({build_dir})",
        artifacts,
        (build_dir / PROJECT_FUNCTIONS["get"][0], layer),
    )


def site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def project_from_source() -> Target:
    """The source tree with this environment's packages: for development and the smoke test only.

    Not what Lambda runs (the layer's bytecode and slimming are missing, and site-packages holds far
    more than the layer), so its cold-start and size figures are not the project's.
    """
    layers = (REPO_ROOT / "shared", site_packages())
    artifacts = {
        route: Artifact(REPO_ROOT / "functions" / folder, layers, logical_id)
        for route, (logical_id, folder) in PROJECT_FUNCTIONS.items()
    }
    return Target("project", "Powertools + Pydantic + SQLAlchemy Core (source tree)", artifacts)


# ---------------------------------------------------------------- the references

REFERENCE_DESCRIPTIONS = {
    "bare": "stdlib json + pg8000/sqlite3, hand-written SQL",
    "fastapi": "FastAPI + Mangum + SQLAlchemy ORM",
}


def _requirements_key(requirements: Path) -> str:
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(f"{sys.version_info[:2]}{platform.machine()}".encode())
    return digest.hexdigest()[:12]


def build_reference_layer(name: str, cache: Path = REFERENCE_CACHE) -> Path:
    """The reference's layer, built like the project's: pip --target, then unchecked-hash .pyc.

    Kept between runs, keyed on the requirements file, as pip needs the network the first time.
    """
    requirements = BENCH_DIR / f"reference_{name}" / "requirements.txt"
    root = cache / f"{name}-{_requirements_key(requirements)}"
    layer = root / "python"
    if (root / ".complete").exists():
        return layer
    shutil.rmtree(root, ignore_errors=True)
    layer.mkdir(parents=True)
    pip = [lambda_python(), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    pip += ["--only-binary=:all:", "--target", str(layer), "-r", str(requirements)]
    done = subprocess.run(pip, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise BenchError(f"Building the {name} reference's layer failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    shutil.rmtree(layer / "bin", ignore_errors=True)
    # The same precompilation as shared/Makefile gives the project's layer, so that bytecode is
    # no difference between the targets.
    compile_command = [lambda_python(), "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
    compile_command += ["-s", str(layer), "-p", "/opt/python", str(layer)]
    subprocess.run(compile_command, check=True, capture_output=True, timeout=600)
    (root / ".complete").touch()
    return layer


def reference_target(name: str, workdir: Path, *, source: bool = False) -> Target:
    """The reference as an artifact: its app.py alone in a function folder, plus its layer.

    app.py is copied so that no __pycache__ a development run left beside the source is used
    (the project's function folders ship none either). With source=True the layer is this
    environment's site-packages, for the smoke test.
    """
    function_dir = workdir / f"reference_{name}"
    function_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(BENCH_DIR / f"reference_{name}" / "app.py", function_dir / "app.py")
    layer = site_packages() if source else build_reference_layer(name)
    artifact = Artifact(function_dir, (layer,), f"reference-{name}")
    return Target(
        name,
        REFERENCE_DESCRIPTIONS[name] + (" (site-packages)" if source else ""),
        dict.fromkeys(ROUTES, artifact),
        () if source else (function_dir, layer),
    )


def fastapi_importable() -> bool:
    return all((site_packages() / package).is_dir() for package in ("fastapi", "mangum", "starlette"))


# ---------------------------------------------------------------- the runtime around them


def lambda_environment(artifact: Artifact, database_url: str, log_level: str) -> dict[str, str]:
    """The variables Lambda sets, plus the function configuration's (template.yaml's Globals)."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_LAMBDA_FUNCTION_NAME": artifact.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "LAMBDA_TASK_ROOT": str(artifact.function_dir),
        # -I below ignores it, hence -B too; set because Lambda sets it.
        "PYTHONDONTWRITEBYTECODE": "1",
        "POWERTOOLS_SERVICE_NAME": "learning-sessions",
        "POWERTOOLS_LOG_LEVEL": log_level,
        # As template.yaml sets it: deployed, every request writes its EMF metrics line, so it is timed too.
        "POWERTOOLS_METRICS_NAMESPACE": "LearningSessions/bench",
        "DATABASE_URL": database_url,
    }


@dataclass
class Launch:
    """How to start a target's function: everything a worker needs."""

    artifact: Artifact
    runtime_dir: Path
    database_url: str
    log_level: str = "INFO"

    def spec(self, mode: str, event: dict[str, Any] | None = None) -> str:
        sys_path = [str(self.artifact.function_dir), *map(str, self.artifact.layers), str(self.runtime_dir)]
        spec: dict[str, Any] = {"mode": mode, "sys_path": sys_path, "function_name": self.artifact.function_name}
        if event is not None:
            spec["event"] = event
        return json.dumps(spec)

    def command(self, mode: str, event: dict[str, Any] | None = None, *, importtime: bool = False) -> list[str]:
        # -I: no PYTHON* variables, no user site, no script folder on sys.path; -S: no site-packages;
        # -B: no .pyc written (Lambda's code folders are read-only).
        flags = ["-I", "-S", "-B", *(["-X", "importtime"] if importtime else [])]
        return [lambda_python(), *flags, str(WORKER), self.spec(mode, event)]

    def env(self) -> dict[str, str]:
        return lambda_environment(self.artifact, self.database_url, self.log_level)


@dataclass
class ColdStart:
    cold_ns: int
    import_ns: int
    first_request_ns: int
    process_ns: int
    status: int
    max_rss_kb: int
    response: str
    importtime: str = ""


def cold_start(launch: Launch, event: dict[str, Any], *, importtime: bool = False) -> ColdStart:
    """A fresh interpreter: import the handler, answer one event, exit."""
    started = time.perf_counter_ns()
    done = subprocess.run(
        launch.command("cold", event, importtime=importtime),
        env=launch.env(),
        cwd=launch.artifact.function_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    process_ns = time.perf_counter_ns() - started
    if done.returncode != 0 or not done.stdout.strip():
        raise BenchError(
            f"{launch.artifact.function_name} failed its cold start ({done.returncode}):\n{done.stderr[-4000:]}"
        )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return ColdStart(
        cold_ns=report["cold_ns"],
        import_ns=report["import_ns"],
        first_request_ns=report["first_request_ns"],
        process_ns=process_ns,
        status=report["status"],
        max_rss_kb=report["max_rss_kb"],
        response=report["response"],
        importtime=done.stderr if importtime else "",
    )


@dataclass
class Worker:
    """A long-lived function: imported once, then sent batches of events (warm invocations)."""

    launch: Launch
    process: subprocess.Popen[str] = field(init=False)
    stderr: IO[str] = field(init=False)
    import_ns: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        # Open for the worker's whole life, closed by close(): no with-block can span that.
        self.stderr = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self.process = subprocess.Popen(
            self.launch.command("serve"),
            env=self.launch.env(),
            cwd=self.launch.artifact.function_dir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            encoding="utf-8",
        )
        self.import_ns = int(self._read()["import_ns"])

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.stderr.seek(0)
            raise BenchError(f"{self.launch.artifact.function_name} exited:\n{self.stderr.read()[-4000:]}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def request(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.write(json.dumps({"op": "exit"}) + "\n")
                self.process.stdin.close()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self.stderr.close()


@contextmanager
def workers(launches: dict[tuple[str, str], Launch]) -> Iterator[dict[tuple[str, str], Worker]]:
    started: dict[tuple[str, str], Worker] = {}
    try:
        for key, launch in launches.items():
            started[key] = Worker(launch)
        yield started
    finally:
        for worker in started.values():
            worker.close()
