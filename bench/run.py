"""The benchmark: the project's handlers against a bare handler and FastAPI + Mangum, in one run.

    python -m bench [--quick] [--build-dir DIR | --source] [--backends sqlite,postgres] [--json PATH]

Every figure is printed as a ratio to the bare handler measured in the same run on the same
database: absolute timings on a shared 2-core machine mean little, ratios from one run do.
See docs/performance.md for how it works and what the figures say.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from bench import database, harness, importtime, report, workload
from bench.harness import ROUTES, BenchError, Launch, Target, Worker
from bench.stats import CDF_PERCENTILES, cdf_summary, latency_summary, spread_summary
from tools.lambda_layout import make_runtime_dir

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent

DEFAULT_JSON = BENCH_DIR / "results" / "latest.json"
EXPECTED_STATUS = {"get": 200, "list": 200, "create": 201, "patch": 200, "delete": 204}


@dataclass(frozen=True)
class Plan:
    """How much to measure. FULL is `make bench`; QUICK is `make bench-quick` (CI)."""

    name: str
    cold_runs: int
    # Cold starts per route, by backend: every function on Postgres, GET alone on SQLite.
    cold_routes: dict[str, tuple[str, ...]]
    warm_calls: dict[str, int]
    warm_batch: int
    warmup_calls: int
    scale_calls: int
    small_rows: int = 1_000
    large_rows: int = 1_000_000
    backends: tuple[str, ...] = ("sqlite", "postgres")
    importtime: bool = True


FULL = Plan(
    name="full",
    cold_runs=15,
    cold_routes={"postgres": ROUTES, "sqlite": ("get",)},
    warm_calls={"get": 3000, "list": 2000, "create": 2000, "patch": 2000, "delete": 2000},
    warm_batch=100,
    warmup_calls=100,
    scale_calls=500,
)
QUICK = Plan(
    name="quick",
    cold_runs=5,
    cold_routes={"postgres": ("get",), "sqlite": ("get",)},
    warm_calls=dict.fromkeys(ROUTES, 300),
    warm_batch=50,
    warmup_calls=30,
    scale_calls=100,
)


@dataclass
class Context:
    """What the phases of one backend share."""

    plan: Plan
    db: database.BenchDatabase
    targets: list[Target]
    workers: dict[tuple[str, str], Worker]
    runtime_dir: Path
    rng: random.Random
    # Id ranges of the seeded rows, which no phase deletes: GET and PATCH aim at these.
    seeded_ids: list[tuple[int, int]] = field(default_factory=list)
    delete_pool: dict[str, list[int]] = field(default_factory=dict)
    created: int = 0

    def shuffled_targets(self) -> list[Target]:
        # A fresh order every round, so that no target always runs right after the same neighbour.
        order = list(self.targets)
        self.rng.shuffle(order)
        return order

    def random_id(self) -> int:
        weights = [high - low + 1 for low, high in self.seeded_ids]
        low, high = self.rng.choices(self.seeded_ids, weights=weights)[0]
        return self.rng.randint(low, high)

    def event(self, route: str, target: str) -> dict[str, Any]:
        """The next request of a route's workload."""
        self.created += 1
        if route == "get":
            return workload.get_event(self.random_id())
        if route == "list":
            return workload.list_event()
        if route == "create":
            return workload.create_event(self.created)
        if route == "patch":
            return workload.patch_event(self.random_id(), self.created)
        return workload.delete_event(self.delete_pool[target].pop())


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def check_statuses(reply: dict[str, Any], what: str) -> None:
    if reply.get("unexpected"):
        raise BenchError(f"{what} answered an unexpected status: {reply['unexpected']}")


# ---------------------------------------------------------------- phases


def interleaved(
    ctx: Context, cases: dict[str, tuple[str, Callable[[str], dict[str, Any]]]], calls: dict[str, int], batch: int
) -> dict[str, dict[str, list[int]]]:
    """Batches of each case, every target in turn, round after round: noise hits all targets alike.

    cases maps a case name to (the route whose worker answers it, a maker of one event for a target).
    """
    samples: dict[str, dict[str, list[int]]] = {case: {t.name: [] for t in ctx.targets} for case in cases}
    remaining = dict(calls)
    while any(count > 0 for count in remaining.values()):
        for case, (route, make_event) in cases.items():
            size = min(batch, remaining[case])
            if size <= 0:
                continue
            for target in ctx.shuffled_targets():
                events = [make_event(target.name) for _ in range(size)]
                reply = ctx.workers[(target.name, route)].request({"op": "run", "events": events})
                check_statuses(reply, f"{target.name} {case}")
                samples[case][target.name].extend(reply["ns"])
            remaining[case] -= size
    return samples


def warm_up(ctx: Context, cases: dict[str, tuple[str, Callable[[str], dict[str, Any]]]], calls: int) -> None:
    for _case, (route, make_event) in cases.items():
        for target in ctx.targets:
            events = [make_event(target.name) for _ in range(calls)]
            reply = ctx.workers[(target.name, route)].request({"op": "run", "events": events})
            check_statuses(reply, f"{target.name} {route} (warm-up)")


def scale_phase(ctx: Context, rows: int) -> dict[str, Any]:
    """First page, a page 90% of the way down (by cursor) and GET by id, at the table's current size."""
    deep_cursor, position = database.cursor_at(ctx.db, 0.9)
    cases: dict[str, tuple[str, Callable[[str], dict[str, Any]]]] = {
        "list first page": ("list", lambda _t: workload.list_event()),
        "list deep page": ("list", lambda _t: workload.list_event(cursor=deep_cursor)),
        "get by id": ("get", lambda _t: workload.get_event(ctx.random_id())),
    }
    warm_up(ctx, cases, max(ctx.plan.warmup_calls // 2, 5))
    samples = interleaved(ctx, cases, dict.fromkeys(cases, ctx.plan.scale_calls), ctx.plan.warm_batch)
    return {
        "rows": rows,
        "deep_cursor_position": position,
        "cases": {
            case: {name: latency_summary(ns) for name, ns in by_target.items()} for case, by_target in samples.items()
        },
    }


def cold_phase(ctx: Context, routes: tuple[str, ...]) -> dict[str, Any]:
    results: dict[str, dict[str, list[harness.ColdStart]]] = {
        route: {t.name: [] for t in ctx.targets} for route in routes
    }
    for run in range(ctx.plan.cold_runs):
        for route in routes:
            for target in ctx.shuffled_targets():
                launch = Launch(target.artifacts[route], ctx.runtime_dir, ctx.db.database_url)
                event = ctx.event(route, target.name)
                expected = event.pop("_expect")
                cold = harness.cold_start(launch, event)
                if cold.status != expected:
                    raise BenchError(f"{target.name} {route} cold start answered {cold.status}: {cold.response}")
                results[route][target.name].append(cold)
        log(f"  cold starts: run {run + 1}/{ctx.plan.cold_runs}")
    summary: dict[str, Any] = {}
    for route, by_target in results.items():
        summary[route] = {}
        for name, runs in by_target.items():
            summary[route][name] = {
                "import_plus_first_request": spread_summary([r.cold_ns for r in runs], keep_samples=True),
                "import": spread_summary([r.import_ns for r in runs]),
                "first_request": spread_summary([r.first_request_ns for r in runs]),
                "process": spread_summary([r.process_ns for r in runs]),
                "max_rss_kb": max(r.max_rss_kb for r in runs),
            }
    return summary


def importtime_phase(ctx: Context) -> dict[str, Any]:
    """One extra cold start of each target's GET function under -X importtime (not in the cold figures)."""
    summaries = {}
    for target in ctx.targets:
        launch = Launch(target.artifacts["get"], ctx.runtime_dir, ctx.db.database_url)
        event = workload.get_event(ctx.random_id())
        event.pop("_expect")
        cold = harness.cold_start(launch, event, importtime=True)
        summaries[target.name] = importtime.summarize(cold.importtime)
    return summaries


def warm_phase(ctx: Context) -> dict[str, Any]:
    cases: dict[str, tuple[str, Callable[[str], dict[str, Any]]]] = {
        route: (route, partial(ctx.event, route)) for route in ROUTES
    }
    warm_up(ctx, cases, ctx.plan.warmup_calls)
    samples = interleaved(ctx, cases, ctx.plan.warm_calls, ctx.plan.warm_batch)
    return {
        route: {name: {**latency_summary(ns), "cdf_us": cdf_summary(ns)} for name, ns in by_target.items()}
        for route, by_target in samples.items()
    }


def rss_phase(ctx: Context) -> dict[str, Any]:
    return {
        target.name: {route: ctx.workers[(target.name, route)].request({"op": "rss"})["max_rss_kb"] for route in ROUTES}
        for target in ctx.targets
    }


# ---------------------------------------------------------------- conformance


def _normalise(response: dict[str, Any], volatile: bool) -> dict[str, Any]:
    """What must be equal across targets: status, the API's headers, and the JSON body."""
    headers = {key.lower(): value for key, value in (response.get("headers") or {}).items()}
    kept = {key: headers[key] for key in ("etag", "location") if key in headers}
    if response.get("body"):
        kept["content-type"] = headers.get("content-type", "")
    body = json.loads(response["body"]) if response.get("body") else None
    if volatile and isinstance(body, dict) and isinstance(body.get("data"), dict):
        data = dict(body["data"])
        session_id = data.get("id")
        for key in ("id", "created_at", "updated_at", "started_at"):
            if data.get(key) is not None:
                data[key] = f"<{key}>"
        body = {"data": data}
        for key in ("etag", "location"):
            if key in kept and session_id is not None:
                kept[key] = kept[key].replace(str(session_id), "<id>")
    return {"status": response.get("statusCode"), "headers": kept, "body": body}


def conformance_phase(ctx: Context) -> dict[str, Any]:
    """The same requests to every target: the answers must match the project's.

    Run before the timings, so that a reference that answers differently cannot pass for a faster one.
    """
    some_id = ctx.random_id()
    first_page = workload.list_event(limit=3)
    checks: list[tuple[str, str, Callable[[str, dict[str, Any]], dict[str, Any]], bool]] = [
        ("GET existing", "get", lambda _t, _s: workload.get_event(some_id), False),
        ("GET missing", "get", lambda _t, _s: workload.get_event(2**52, expect=404), False),
        ("GET bad id", "get", lambda _t, _s: workload.get_event("abc", expect=422), False),
        ("list first page", "list", lambda _t, _s: first_page, False),
        ("list by status", "list", lambda _t, _s: workload.list_event(limit=2, status="completed"), False),
        ("create", "create", lambda _t, _s: workload.create_event(0), True),
        ("patch own row", "patch", lambda _t, s: workload.patch_event(s["created_id"], 0), True),
        ("delete own row", "delete", lambda _t, s: workload.delete_event(s["created_id"]), False),
    ]
    answers: dict[str, dict[str, Any]] = {}
    state: dict[str, dict[str, Any]] = {t.name: {} for t in ctx.targets}
    for check, route, make_event, volatile in checks:
        answers[check] = {}
        for target in ctx.targets:
            event = make_event(target.name, state[target.name])
            event.pop("_expect", None)
            reply = ctx.workers[(target.name, route)].request({"op": "check", "events": [event]})
            response = reply["responses"][0]
            if check == "create" and response.get("body"):
                state[target.name]["created_id"] = json.loads(response["body"])["data"]["id"]
            if check == "list first page" and response.get("body"):
                state[target.name]["next_cursor"] = json.loads(response["body"]).get("next_cursor")
            answers[check][target.name] = _normalise(response, volatile)
    # The second page, through each target's own cursor: equal answers mean equal cursors too.
    answers["list next page"] = {}
    for target in ctx.targets:
        event = workload.list_event(limit=3, cursor=state[target.name].get("next_cursor") or "x")
        event.pop("_expect")
        response = ctx.workers[(target.name, "list")].request({"op": "check", "events": [event]})["responses"][0]
        answers["list next page"][target.name] = _normalise(response, False)

    differences = []
    for check, by_target in answers.items():
        expected = by_target["project"]
        for name, answer in by_target.items():
            if answer == expected:
                continue
            # Error bodies are checked for shape only: their messages are each framework's own words.
            if check == "GET bad id" and answer["status"] == expected["status"]:
                error = (answer["body"] or {}).get("error", {})
                if set(error) == {"code", "message", "details"} and error["code"] == "validation_error":
                    continue
            differences.append({"check": check, "target": name, "expected": expected, "got": answer})
    return {"ok": not differences, "checks": list(answers), "differences": differences}


# ---------------------------------------------------------------- one backend


def run_backend(
    backend: str, plan: Plan, targets: list[Target], runtime_dir: Path, workdir: Path, seed: int
) -> dict[str, Any]:
    result: dict[str, Any] = {"backend": backend}
    started = time.perf_counter()
    with database.bench_database(backend, workdir) as db:
        log(f"{backend}: seeding {plan.small_rows:,} rows")
        result["seed_small_seconds"] = database.seed(db, plan.small_rows)
        seeded = [(1, database.max_id(db))]
        launches = {
            (t.name, route): Launch(t.artifacts[route], runtime_dir, db.database_url)
            for t in targets
            for route in ROUTES
        }
        with harness.workers(launches) as running:
            ctx = Context(plan, db, targets, running, runtime_dir, random.Random(seed), seeded_ids=seeded)
            log(f"{backend}: scale at {plan.small_rows:,} rows")
            small_scale = scale_phase(ctx, plan.small_rows)

            cold_routes = plan.cold_routes.get(backend, ("get",))
            per_target = plan.warmup_calls + plan.warm_calls["delete"] + plan.cold_runs * ("delete" in cold_routes) + 1
            pool = database.add_rows(db, per_target * len(targets))
            ctx.delete_pool = {t.name: pool[i * per_target : (i + 1) * per_target] for i, t in enumerate(targets)}

            log(f"{backend}: conformance")
            result["conformance"] = conformance_phase(ctx)
            if not result["conformance"]["ok"]:
                log(f"{backend}: CONFORMANCE DIFFERENCES: {json.dumps(result['conformance']['differences'])[:3000]}")

            log(f"{backend}: cold starts ({plan.cold_runs} runs x {', '.join(cold_routes)})")
            result["cold"] = cold_phase(ctx, cold_routes)
            if plan.importtime:
                result["importtime"] = importtime_phase(ctx)

            log(f"{backend}: warm calls, interleaved ({sum(plan.warm_calls.values()):,} per target)")
            result["warm"] = warm_phase(ctx)
            result["max_rss_kb"] = rss_phase(ctx)

            missing = plan.large_rows - db.count()
            log(f"{backend}: seeding to {plan.large_rows:,} rows (+{missing:,})")
            before = database.max_id(db)
            result["seed_large_seconds"] = database.seed(db, missing, offset=plan.small_rows)
            result["large_rows_actual"] = db.count()
            ctx.seeded_ids.append((before + 1, database.max_id(db)))
            log(f"{backend}: scale at {plan.large_rows:,} rows")
            large_scale = scale_phase(ctx, plan.large_rows)
            result["scale"] = {"small": small_scale, "large": large_scale}

            deep_cursor, _ = database.cursor_at(db, 0.9)
            result["explain"] = database.explain(db, deep_cursor=deep_cursor, session_id=ctx.random_id())
            result["explain_uses_index"] = {case: database.uses_index(plan) for case, plan in result["explain"].items()}
    result["seconds"] = time.perf_counter() - started
    return result


# ---------------------------------------------------------------- the whole run


def make_targets(args: argparse.Namespace, workdir: Path) -> tuple[list[Target], str]:
    if args.source:
        project = harness.project_from_source()
        build = "source tree"
    else:
        build_dir = Path(args.build_dir) if args.build_dir else None
        if build_dir is None:
            log("sam build (x86_64) into .aws-sam/bench-x86_64 ...")
            build_dir = harness.sam_build()
        project = harness.project_from_build(build_dir)
        build = str(build_dir)
    targets = [project, harness.reference_target("bare", workdir, source=args.source)]
    if not args.source or harness.fastapi_importable():
        targets.append(harness.reference_target("fastapi", workdir, source=args.source))
    else:
        log("fastapi is not in this environment, so the FastAPI reference is left out (see bench/requirements.txt)")
    return targets, build


def sizes(targets: list[Target]) -> dict[str, Any]:
    from bench.artifact_sizes import measure

    out: dict[str, Any] = {}
    for target in targets:
        if not target.size_folders:
            continue
        measured = [measure(folder, folder.name) for folder in target.size_folders]
        out[target.name] = {
            "unzipped_bytes": sum(m.unzipped for m in measured),
            "zipped_bytes": sum(m.zipped for m in measured),
            "files": sum(m.files for m in measured),
            "folders": {str(folder): m.unzipped for folder, m in zip(target.size_folders, measured, strict=True)},
        }
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer runs (CI): the same table in under 2 minutes")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--build-dir", help="an existing `sam build` output (x86_64) instead of building")
    where.add_argument("--source", action="store_true", help="the source tree and site-packages (no build; dev only)")
    parser.add_argument("--backends", default=None, help="comma-separated: sqlite,postgres (default both)")
    parser.add_argument(
        "--json", default=str(DEFAULT_JSON), help=f"where to write the results (default {DEFAULT_JSON})"
    )
    parser.add_argument("--seed", type=int, default=20261126, help="random seed of the workload and the order")
    # Overrides of the plan, for the smoke test and for experiments.
    parser.add_argument("--cold-runs", type=int)
    parser.add_argument("--warm-calls", type=int, help="calls per route and target")
    parser.add_argument("--scale-calls", type=int)
    parser.add_argument("--small-rows", type=int)
    parser.add_argument("--large-rows", type=int)
    parser.add_argument("--no-importtime", action="store_true")
    return parser.parse_args(argv)


def make_plan(args: argparse.Namespace) -> Plan:
    plan = QUICK if args.quick else FULL
    changes: dict[str, Any] = {}
    if args.backends:
        changes["backends"] = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    if args.cold_runs is not None:
        changes["cold_runs"] = args.cold_runs
    if args.warm_calls is not None:
        changes["warm_calls"] = dict.fromkeys(ROUTES, args.warm_calls)
        changes["warmup_calls"] = min(plan.warmup_calls, max(args.warm_calls // 5, 2))
        changes["warm_batch"] = min(plan.warm_batch, max(args.warm_calls, 1))
    if args.scale_calls is not None:
        changes["scale_calls"] = args.scale_calls
    if args.small_rows is not None:
        changes["small_rows"] = args.small_rows
    if args.large_rows is not None:
        changes["large_rows"] = args.large_rows
    if args.no_importtime:
        changes["importtime"] = False
    return replace(plan, **changes)


def run(argv: list[str] | None = None) -> dict[str, Any]:
    """The whole benchmark; returns (and writes) the results."""
    args = parse_args(argv)
    plan = make_plan(args)
    unknown = set(plan.backends) - {"sqlite", "postgres"}
    if unknown:
        raise BenchError(f"Unknown backends: {sorted(unknown)}")
    if "postgres" in plan.backends and not database.postgres_available():
        raise BenchError(
            f"Postgres is not reachable at {database.postgres_admin_url().render_as_string()}: start it, "
            "set BENCH_POSTGRES_URL, or pass --backends sqlite"
        )
    started = time.perf_counter()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        workdir = Path(scratch)
        targets, build = make_targets(args, workdir)
        runtime_dir = make_runtime_dir(workdir / "var-runtime")
        results: dict[str, Any] = {
            "meta": {
                "plan": asdict(plan),
                "project_build": build,
                "python": sys.version.split()[0],
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "targets": {t.name: t.description for t in targets},
                "cdf_percentiles": list(CDF_PERCENTILES),
            },
            "sizes": sizes(targets),
            "backends": {},
        }
        for index, backend in enumerate(plan.backends):
            backend_dir = workdir / backend
            backend_dir.mkdir()
            results["backends"][backend] = run_backend(
                backend, plan, targets, runtime_dir, backend_dir, args.seed + index
            )
    results["meta"]["seconds"] = time.perf_counter() - started
    results["meta"]["load_average"] = {"before": load_before, "after": os.getloadavg()}
    results["targets_check"] = report.check_targets(results)
    output = Path(args.json)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    results["meta"]["json"] = str(output)
    results["meta"]["charts"] = [str(path) for path in write_charts(results, output)]
    return results


def write_charts(results: dict[str, Any], output: Path) -> list[Path]:
    """The SVG charts next to the JSON, when matplotlib (bench/requirements.txt) is installed."""
    try:
        from bench import charts
    except ImportError:
        log("matplotlib is not installed, so no charts (pip install -r bench/requirements.txt)")
        return []
    return charts.write_charts(results, output)


def main(argv: list[str] | None = None) -> int:
    try:
        results = run(argv)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    print(report.render(results))
    print(f"\nResults: {results['meta']['json']}  ({results['meta']['seconds']:.0f} s)")
    for chart in results["meta"]["charts"]:
        print(f"Chart: {chart}")
    return 0
