"""What the layer's precompiled bytecode buys at a cold start.

Each run is a fresh interpreter laid out as Lambda lays one out (see tools/lambda_runner.py):
import the built function's app module, then send it one request. The layer as built (with its
unchecked-hash .pyc) is compared with a copy of it without any .pyc, which is what Lambda would run
had the build not compiled: /opt is read-only there, so Python compiles every module on every cold
start. Runs alternate between the two so that drift in the machine's load hits both alike.

    python -m bench.cold_import [--runs 15] [--function ListSessionsFunction] [--no-build]

Figures only, no pass/fail: the absolute numbers depend on the machine (Lambda's CPU share grows
with the memory setting).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import make_url

from tools.databases import migrate
from tools.http_api_events import http_api_event
from tools.lambda_layout import BUILD_ROOT, invoke, make_runtime_dir, sam_build


def summary(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{statistics.median(ms):7.0f} {min(ms):7.0f} {max(ms):7.0f}"


# A request each function answers with 2xx on an empty database.
FIRST_REQUESTS = {
    "ListSessionsFunction": http_api_event("GET", "/api/sessions"),
    "CreateSessionFunction": http_api_event("POST", "/api/sessions/", body={"title": "cold"}),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--function", default="ListSessionsFunction", choices=sorted(FIRST_REQUESTS))
    parser.add_argument("--no-build", action="store_true", help=f"use the build already in {BUILD_ROOT}")
    args = parser.parse_args()

    build_dir = BUILD_ROOT / "build" if args.no_build else sam_build()
    function_dir = build_dir / args.function
    layer = build_dir / "SharedLayer" / "python"
    if not function_dir.is_dir():
        print(f"{function_dir} not found", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory(prefix="bench-bytecode-") as scratch:
        root = Path(scratch)
        without_pyc = root / "layer-without-pyc" / "python"
        shutil.copytree(layer, without_pyc, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        runtime_dir = make_runtime_dir(root / "var-runtime")
        url = make_url(f"sqlite:///{root / 'bench.db'}")
        migrate(url)
        env = {
            "DATABASE_URL": url.render_as_string(),
            "POWERTOOLS_SERVICE_NAME": "bench",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
        event = FIRST_REQUESTS[args.function]
        variants = {"layer with .pyc": layer, "layer without .pyc": without_pyc}
        imports: dict[str, list[float]] = {name: [] for name in variants}
        firsts: dict[str, list[float]] = {name: [] for name in variants}
        walls: dict[str, list[float]] = {name: [] for name in variants}
        compiled: dict[str, int] = {}

        for _ in range(args.runs):
            for name, layer_dir in variants.items():
                started = time.perf_counter()
                run = invoke(function_dir, layer_dir, runtime_dir, [event], env, function_name=args.function)
                walls[name].append(time.perf_counter() - started)
                status = run.results[0]["statusCode"]
                if not 200 <= status < 300:
                    print(f"{name}: the request answered {status}: {run.results[0]}", file=sys.stderr)
                    return 1
                imports[name].append(run.import_seconds)
                firsts[name].append(run.import_seconds + run.request_seconds[0])
                compiled[name] = sum(1 for path in run.compiled_from_source if path.startswith(str(layer_dir)))

    print(f"{args.function}, {args.runs} cold starts per variant, Python {sys.version.split()[0]}")
    print("(milliseconds: median, min, max; modules of the layer compiled from source per start)\n")
    header = f"{'variant':<20} {'import':>23} {'import + 1st request':>23} {'process':>23} {'compiled':>9}"
    print(header)
    print(f"{'':<20} {'med     min     max':>23} {'med     min     max':>23} {'med     min     max':>23}")
    print("-" * len(header))
    for name in variants:
        print(
            f"{name:<20} {summary(imports[name]):>23} {summary(firsts[name]):>23} {summary(walls[name]):>23}"
            f" {compiled[name]:>9}"
        )
    saved = statistics.median(firsts["layer without .pyc"]) - statistics.median(firsts["layer with .pyc"])
    print(f"\nPrecompiled bytecode saves {saved * 1000:.0f} ms (median) of import + first request.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
