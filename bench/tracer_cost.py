"""What Powertools' Tracer (ENABLE_TRACER=true) costs a built function, cold and warm.

Each run is a fresh interpreter laid out as Lambda lays one out (see tools/lambda_runner.py), in the
environment Lambda gives a traced function: LAMBDA_TASK_ROOT, a _X_AMZN_TRACE_ID, and the X-Ray
daemon's address (here a UDP socket this script reads). It imports the built function, then sends it
one request (the cold start) and then --warm more (the warm requests). The variants alternate, run
by run, so that drift in the machine's load hits them alike:

- tracer off: ENABLE_TRACER unset, the default; the X-Ray SDK is never imported;
- tracer on, sampled: every request sampled (Sampled=1), so each sends its subsegment over UDP;
- tracer on, not sampled: what most requests are (X-Ray samples the first request each second and
  5% of the others by default), a subsegment that is built but never sent.

    python -m bench.tracer_cost [--runs 15] [--warm 200] [--no-build]

Figures only, no pass/fail: the absolute numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import make_url

from tools.databases import migrate
from tools.http_api_events import http_api_event
from tools.lambda_layout import BUILD_ROOT, invoke, lambda_python, make_runtime_dir, sam_build

FUNCTION = "GetSessionFunction"
TRACE_ROOT = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8"


class Daemon:
    """A stand-in for Lambda's X-Ray daemon: counts the UDP datagrams it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.received = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self.sock.getsockname()
        return f"{host}:{port}"

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                self.sock.recv(65535)
            except TimeoutError:
                continue
            self.received += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


# After the function's own cold start (import app): what turning the tracer on adds to it, alone.
CREATION = """
import sys, time
sys.path[:0] = sys.argv[1:4]
import app
from learning_sessions.http.tracing import traced
started = time.perf_counter()
traced(app.lambda_handler, "bench")
print(time.perf_counter() - started)
"""


def tracer_creation_seconds(function_dir: Path, layer: Path, runtime_dir: Path, env: dict[str, str]) -> float:
    """SDK import and Tracer creation in a fresh interpreter that has imported the function (tracer off)."""
    done = subprocess.run(
        [lambda_python(), "-I", "-S", "-B", "-c", CREATION, str(function_dir), str(layer), str(runtime_dir)],
        env={"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1", **env},
        cwd=function_dir,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip())


def median_in(values: list[float], unit: float) -> str:
    return f"{statistics.median(values) * unit:9.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warm", type=int, default=200, help="warm requests after the first, per run")
    parser.add_argument("--no-build", action="store_true", help=f"use the build already in {BUILD_ROOT}")
    args = parser.parse_args()

    build_dir = BUILD_ROOT / "build" if args.no_build else sam_build()
    function_dir, layer = build_dir / FUNCTION, build_dir / "SharedLayer" / "python"
    daemon = Daemon()
    # A GET of a session that does not exist: a 404 after one query, the same work in every variant.
    event = http_api_event("GET", "/api/sessions/7", route="/api/sessions/{id}", path_parameters={"id": "7"})
    with tempfile.TemporaryDirectory(prefix="bench-tracer-") as scratch:
        root = Path(scratch)
        runtime_dir = make_runtime_dir(root / "var-runtime")
        url = make_url(f"sqlite:///{root / 'bench.db'}")
        migrate(url)
        lambda_env = {
            "DATABASE_URL": url.render_as_string(),
            "POWERTOOLS_SERVICE_NAME": "bench",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
            "LAMBDA_TASK_ROOT": str(function_dir),
            "AWS_XRAY_DAEMON_ADDRESS": daemon.address,
            "_X_AMZN_TRACE_ID": f"{TRACE_ROOT};Sampled=1",
        }
        variants = {
            "tracer off": lambda_env,
            "tracer on, sampled": {**lambda_env, "ENABLE_TRACER": "true"},
            "tracer on, not sampled": {
                **lambda_env,
                "ENABLE_TRACER": "true",
                "_X_AMZN_TRACE_ID": f"{TRACE_ROOT};Sampled=0",
            },
        }
        imports: dict[str, list[float]] = {name: [] for name in variants}
        cold: dict[str, list[float]] = {name: [] for name in variants}
        warm: dict[str, list[float]] = {name: [] for name in variants}
        sent: dict[str, int] = dict.fromkeys(variants, 0)
        creation: list[float] = []
        order = list(variants)
        shuffle = random.Random(0).shuffle
        for _ in range(args.runs):
            creation.append(tracer_creation_seconds(function_dir, layer, runtime_dir, lambda_env))
            # A new order each round: whichever variant runs first or last gets no systematic share of the drift.
            shuffle(order)
            for name in order:
                env = variants[name]
                before = daemon.received
                run = invoke(function_dir, layer, runtime_dir, [event] * (1 + args.warm), env, function_name=FUNCTION)
                time.sleep(0.05)  # the last datagrams
                sent[name] += daemon.received - before
                if {result["statusCode"] for result in run.results} != {404}:
                    print(f"{name}: unexpected answers {run.results[0]}", file=sys.stderr)
                    return 1
                imports[name].append(run.import_seconds)
                cold[name].append(run.import_seconds + run.request_seconds[0])
                warm[name].append(statistics.median(run.request_seconds[1:]))
    daemon.close()

    python = sys.version.split()[0]
    print(f"{FUNCTION}, {args.runs} cold starts per variant, {args.warm} warm requests each, Python {python}")
    print("(medians over the runs; a run's warm figure is the median of its warm requests)\n")
    header = (
        f"{'variant':<24} {'import, ms':>11} {'import + 1st request, ms':>25} {'warm request, us':>17}"
        f" {'datagrams/run':>14}"
    )
    print(header)
    print("-" * len(header))
    for name in variants:
        print(
            f"{name:<24} {median_in(imports[name], 1e3):>11} {median_in(cold[name], 1e3):>25}"
            f" {median_in(warm[name], 1e6):>17} {sent[name] / args.runs:>14.0f}"
        )
    print(
        f"\nImporting the X-Ray SDK and creating the Tracer, after the function's own imports: "
        f"{statistics.median(creation) * 1e3:.1f} ms (median; min {min(creation) * 1e3:.1f} ms)"
    )
    # Run i of each variant ran back to back, so their difference cancels most of the load's drift.
    print("\nAdded by the tracer, median of the paired differences with 'tracer off' (run i against run i):")
    for name in list(variants)[1:]:
        cold_added = statistics.median(on - off for on, off in zip(cold[name], cold["tracer off"], strict=True))
        warm_added = statistics.median(on - off for on, off in zip(warm[name], warm["tracer off"], strict=True))
        print(f"  {name:<24} import + 1st request {cold_added * 1e3:+6.1f} ms, warm {warm_added * 1e6:+6.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
