"""A/B of variants of the project's build: how much one change to the layer or handlers buys.

    python -m bench.compare --variant base=.aws-sam/bench-x86_64/build --variant lever=/tmp/lever/build \
        [--backend postgres] [--routes get,list,create,patch] [--calls 2000] [--cold-runs 10]

A variant is a folder laid out as `sam build` lays one out (the five API functions and
SharedLayer/python), typically a copy of the real build with one file changed. Every variant and
the bare reference run interleaved on the same database, as in `python -m bench`; the table gives
each variant's p50 as a ratio to the bare handler and its change against the first variant.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from bench import database, harness
from bench.harness import Launch, Target
from bench.run import FULL, Context, cold_phase, interleaved, log, warm_up
from bench.stats import latency_summary
from tools.lambda_layout import make_runtime_dir

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", action="append", required=True, help="NAME=BUILD_DIR (the first is the base)")
    parser.add_argument("--backend", default="postgres", choices=("postgres", "sqlite"))
    parser.add_argument("--routes", default="get,list,create,patch")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--cold-runs", type=int, default=10)
    parser.add_argument("--cold-route", default="get")
    args = parser.parse_args(argv)
    routes = tuple(route.strip() for route in args.routes.split(","))

    with tempfile.TemporaryDirectory(prefix="bench-compare-") as scratch:
        workdir = Path(scratch)
        variants: list[Target] = []
        for spec in args.variant:
            name, _, folder = spec.partition("=")
            variants.append(replace(harness.project_from_build(Path(folder)), name=name, description=folder))
        targets = [harness.reference_target("bare", workdir), *variants]
        runtime_dir = make_runtime_dir(workdir / "var-runtime")
        plan = replace(FULL, cold_runs=args.cold_runs, warm_calls=dict.fromkeys(routes, args.calls))
        with database.bench_database(args.backend, workdir) as db:
            database.seed(db, plan.small_rows)
            launches = {
                (t.name, r): Launch(t.artifacts[r], runtime_dir, db.database_url) for t in targets for r in routes
            }
            with harness.workers(launches) as running:
                ctx = Context(plan, db, targets, running, runtime_dir, random.Random(7), [(1, database.max_id(db))])
                per_target = plan.warmup_calls + args.calls + args.cold_runs + 1
                pool = database.add_rows(db, per_target * len(targets))
                ctx.delete_pool = {t.name: pool[i * per_target : (i + 1) * per_target] for i, t in enumerate(targets)}
                cases: dict[str, tuple[str, Any]] = {r: (r, partial(ctx.event, r)) for r in routes}
                log("warm calls")
                warm_up(ctx, cases, plan.warmup_calls)
                samples = interleaved(ctx, cases, plan.warm_calls, plan.warm_batch)
                log("cold starts")
                cold = cold_phase(ctx, (args.cold_route,)) if args.cold_runs else {}

    base = variants[0].name
    names = [t.name for t in targets]
    print(f"\n{args.backend}: p50 us (ratio to bare) [change against {base}]")
    print(f"{'':<26}" + "".join(f"{name:>30}" for name in names))
    for route in routes:
        p50 = {name: latency_summary(samples[route][name])["p50_us"] for name in names}
        cells = []
        for name in names:
            change = "" if name in ("bare", base) else f" [{p50[name] / p50[base] - 1:+.0%}]"
            cells.append(f"{p50[name]:.0f} ({p50[name] / p50['bare']:.2f}x){change}")
        print(f"{route + ' p50':<26}" + "".join(f"{cell:>30}" for cell in cells))
    for route, by_target in cold.items():
        median = {name: by_target[name]["import_plus_first_request"]["median_ms"] for name in names}
        cells = []
        for name in names:
            change = "" if name in ("bare", base) else f" [{median[name] / median[base] - 1:+.0%}]"
            cells.append(f"{median[name]:.0f} ms ({median[name] / median['bare']:.2f}x){change}")
        print(f"{'cold ' + route + ' median':<26}" + "".join(f"{cell:>30}" for cell in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
