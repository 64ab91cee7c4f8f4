"""Cold starts of two `sam build` outputs, A against B, interleaved: what one change did to them.

    python -m bench.cold_ab OLD_BUILD NEW_BUILD [--runs 15] [--routes get,list] [--backend postgres]
                            [--importtime-dir DIR]

Each run starts every route's function once from each build, in a random order per pair, with the
bench's own machinery (bench/harness.py's cold_start: a fresh interpreter laid out as on Lambda,
import + first request), against one database. Alternating runs share the machine's drift, so the
median of the paired differences (B minus A within a round) means something where absolute
figures on a shared machine do not. A few more cold starts of each under `-X importtime` give the
import sums (median; not in the timings); with --importtime-dir their raw output is kept for reading.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import database, harness, importtime, workload
from bench.harness import ROUTES, BenchError, Launch, Target
from tools.lambda_layout import make_runtime_dir


def _events(db: database.BenchDatabase, route: str, runs: int) -> list[dict[str, Any]]:
    """Two requests per run (one per build), each answered with 2xx."""
    count = 2 * runs
    if route == "get":
        return [workload.get_event(1) for _ in range(count)]
    if route == "list":
        return [workload.list_event() for _ in range(count)]
    if route == "create":
        return [workload.create_event(n) for n in range(count)]
    if route == "patch":
        return [workload.patch_event(1, n) for n in range(count)]
    return [workload.delete_event(session_id) for session_id in database.add_rows(db, count)]


def _ms(values: list[int]) -> float:
    return statistics.median(values) / 1e6


def measure(
    targets: dict[str, Target], routes: tuple[str, ...], runs: int, importtime_runs: int, backend: str, seed: int
) -> dict[str, Any]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as scratch:
        workdir = Path(scratch)
        runtime_dir = make_runtime_dir(workdir / "var-runtime")
        with database.bench_database(backend, workdir) as db:
            database.seed(db, 100)
            events = {route: _events(db, route, runs + importtime_runs) for route in routes}
            cold: dict[str, dict[str, list[harness.ColdStart]]] = {r: {n: [] for n in targets} for r in routes}
            imports: dict[str, dict[str, list[str]]] = {r: {n: [] for n in targets} for r in routes}
            for run in range(runs + importtime_runs):
                for route in routes:
                    order = list(targets)
                    rng.shuffle(order)
                    for name in order:
                        launch = Launch(targets[name].artifacts[route], runtime_dir, db.database_url)
                        event = events[route].pop()
                        expected = event.pop("_expect")
                        # The last rounds run under -X importtime and are kept out of the timings.
                        result = harness.cold_start(launch, event, importtime=run >= runs)
                        if result.status != expected:
                            raise BenchError(f"{name} {route} answered {result.status}: {result.response}")
                        if run >= runs:
                            imports[route][name].append(result.importtime)
                        else:
                            cold[route][name].append(result)
                print(f"[cold_ab] round {run + 1}/{runs + importtime_runs}", file=sys.stderr, flush=True)
    return {"cold": cold, "importtime": imports}


def render(results: dict[str, Any], names: list[str]) -> str:
    a, b = names
    lines = [
        f"{'route':<8} {'import + 1st request, median ms':>34} {'paired B-A, median':>20}"
        f"   {'-X importtime sum, ms':>24}",
        f"{'':<8} {a:>16} {b:>17} {'ms':>10} {'%':>9}   {a:>11} {b:>12}",
    ]
    for route, by_name in results["cold"].items():
        before, after = (_ms([c.cold_ns for c in by_name[name]]) for name in names)
        paired = _ms([y.cold_ns - x.cold_ns for x, y in zip(by_name[a], by_name[b], strict=True)])
        sums = [
            statistics.median(importtime.summarize(text)["total_ms"] for text in results["importtime"][route][name])
            for name in names
        ]
        lines.append(
            f"{route:<8} {before:>16.1f} {after:>17.1f} {paired:>+10.1f} {100 * paired / before:>+8.1f}%"
            f"   {sums[0]:>11.1f} {sums[1]:>12.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old_build", type=Path, help="a `sam build` output (x86_64): A")
    parser.add_argument("new_build", type=Path, help="another one: B")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--importtime-runs", type=int, default=3, help="cold starts under -X importtime, per build")
    parser.add_argument("--routes", default=",".join(ROUTES))
    parser.add_argument("--backend", default="postgres", choices=("postgres", "sqlite"))
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--importtime-dir", type=Path, help="keep each function's raw -X importtime output here")
    args = parser.parse_args(argv)
    routes = tuple(args.routes.split(","))
    try:
        targets = {
            "A (old)": harness.project_from_build(args.old_build),
            "B (new)": harness.project_from_build(args.new_build),
        }
        results = measure(targets, routes, args.runs, args.importtime_runs, args.backend, args.seed)
    except BenchError as exc:
        print(f"cold_ab: {exc}", file=sys.stderr)
        return 2
    if args.importtime_dir is not None:
        args.importtime_dir.mkdir(parents=True, exist_ok=True)
        for route, by_name in results["importtime"].items():
            for name, texts in by_name.items():
                for index, text in enumerate(texts):
                    (args.importtime_dir / f"{route}-{name.split()[0]}-{index}.txt").write_text(text, encoding="utf-8")
    print(f"{args.backend}, {args.runs} cold starts per build and route, interleaved\n")
    print(render(results, list(targets)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
