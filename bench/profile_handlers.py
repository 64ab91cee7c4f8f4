"""Where a warm request's time goes: cProfile and pyinstrument of the built handlers, in isolation.

    python -m bench.profile_handlers [--build-dir DIR | --source] [--backend postgres] [--calls 2000]

Each route's function (and the bare reference, for comparison) runs in its own interpreter laid
out as Lambda lays it out (bench/worker.py), on a fresh database seeded with 1,000 rows. After a
warm-up it answers `--calls` requests under cProfile, then as many under pyinstrument (a sampling
profiler, whose overhead distorts less). The output, in bench/results/profiles/, is what
bench/FINDINGS.md quotes: per-call time in named parts of the request path, database round trips
per request (pg8000 statements executed), and the hottest functions.

cProfile inflates small, frequent calls; read its figures as shares of the request, and the
benchmark's ratios (python -m bench) as the cost.
"""

from __future__ import annotations

import argparse
import pstats
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import database, harness, workload
from bench.harness import Launch, Target, Worker
from tools.lambda_layout import make_runtime_dir

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent

DEFAULT_OUTPUT = BENCH_DIR / "results" / "profiles"

# Named parts of the request path: (label, file suffix, function name). Inclusive time per call.
PARTS: list[tuple[str, str, str]] = [
    ("whole invocation (handler + json.dumps)", "worker.py", "invoke"),
    ("Logger.inject_lambda_context wrapper", "logging/logger.py", "decorate"),
    ("  logger.info('request') line", "logging/logger.py", "info"),
    ("  body guard (with_decoded_body)", "learning_sessions/http/api.py", "with_decoded_body"),
    ("  APIGatewayHttpResolver.resolve", "event_handler/api_gateway.py", "resolve"),
    ("    route matching (_resolve)", "event_handler/api_gateway.py", "_resolve"),
    ("    request validation: path/query/headers", "middlewares/openapi_validation.py", "_request_params_to_args"),
    (
        "    request validation: header/query normalising",
        "middlewares/openapi_validation.py",
        "_normalize_multi_params",
    ),
    ("    request validation: body", "middlewares/openapi_validation.py", "_request_body_to_args"),
    ("    response validation + serialisation", "middlewares/openapi_validation.py", "_handle_response"),
    ("      jsonable_encoder", "openapi/encoders.py", "jsonable_encoder"),
    ("    Response -> proxy dict (build)", "event_handler/api_gateway.py", "build"),
    ("    json.dumps of the body (Powertools serializer)", "json/__init__.py", "dumps"),
    ("    the route function (app.py)", "app.py", "get_session"),
    ("    the route function (app.py)", "app.py", "list_sessions"),
    ("    the route function (app.py)", "app.py", "create_session"),
    ("    the route function (app.py)", "app.py", "update_session"),
    ("    the route function (app.py)", "app.py", "delete_session"),
    ("      service (SQL + domain rules)", "learning_sessions/domain/service.py", "get_session"),
    ("      service (SQL + domain rules)", "learning_sessions/domain/service.py", "list_sessions"),
    ("      service (SQL + domain rules)", "learning_sessions/domain/service.py", "create_session"),
    ("      service (SQL + domain rules)", "learning_sessions/domain/service.py", "update_session"),
    ("      service (SQL + domain rules)", "learning_sessions/domain/service.py", "delete_session"),
    ("        SQLAlchemy Connection.execute", "engine/base.py", "execute"),
    ("          statement compile / cache lookup", "engine/base.py", "_execute_clauseelement"),
    ("          pool checkout (incl. liveness check)", "pool/base.py", "_checkout"),
    ("          pool checkin (incl. reset/rollback)", "pool/base.py", "_finalize_fairy"),
    ("        pg8000 round trips (execute_unnamed)", "pg8000/core.py", "execute_unnamed"),
    ("        pg8000 round trips (execute_simple)", "pg8000/core.py", "execute_simple"),
    ("        pg8000 round trips (execute_named, prepared)", "pg8000/core.py", "execute_named"),
    (
        "        statement construction (select/where/values)",
        "learning_sessions/data/queries.py",
        "list_page_statement",
    ),
    ("      Session.model_validate(row)", "pydantic/main.py", "model_validate"),
]


def _function_stats(stats: pstats.Stats, suffix: str, name: str) -> tuple[int, float]:
    """(calls, inclusive seconds) of the functions named `name` in files ending with `suffix`."""
    calls, seconds = 0, 0.0
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, function), (_cc, nc, _tt, ct, _callers) in raw.items():
        if function == name and filename.endswith(suffix):
            calls += nc
            seconds += ct
    return calls, seconds


def breakdown(profile_path: Path, requests: int) -> list[str]:
    stats = pstats.Stats(str(profile_path))
    _, total = _function_stats(stats, "worker.py", "invoke")
    lines = [f"{'part of the request path':<52}{'calls/req':>10}{'us/req':>10}{'share':>8}"]
    for label, suffix, name in PARTS:
        calls, seconds = _function_stats(stats, suffix, name)
        if calls == 0:
            continue
        per_request = seconds / requests * 1e6
        share = seconds / total if total else 0.0
        lines.append(f"{label:<52}{calls / requests:>10.2f}{per_request:>10.1f}{share:>8.0%}")
    round_trips = sum(
        _function_stats(stats, "pg8000/core.py", name)[0]
        for name in ("execute_unnamed", "execute_simple", "execute_named")
    )
    lines.append(f"{'pg8000 statements sent per request':<52}{round_trips / requests:>10.2f}")
    return lines


def hottest(profile_path: Path, requests: int, count: int = 25) -> list[str]:
    stats = pstats.Stats(str(profile_path))
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    rows = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:count]
    lines = [f"{'own us/req':>10} {'incl us/req':>11}  function"]
    for (filename, line, function), (_cc, _nc, tottime, cumtime, _callers) in rows:
        short = "/".join(Path(filename).parts[-2:])
        lines.append(f"{tottime / requests * 1e6:>10.1f} {cumtime / requests * 1e6:>11.1f}  {short}:{line}({function})")
    return lines


def events_for(route: str, count: int, ids: tuple[int, int], pool: list[int], rng: random.Random) -> list[Any]:
    if route == "get":
        return [workload.get_event(rng.randint(*ids)) for _ in range(count)]
    if route == "list":
        return [workload.list_event() for _ in range(count)]
    if route == "create":
        return [workload.create_event(i) for i in range(count)]
    if route == "patch":
        return [workload.patch_event(rng.randint(*ids), i) for i in range(count)]
    return [workload.delete_event(pool.pop()) for _ in range(count)]


def tools_dir(destination: Path) -> Path:
    """A folder holding pyinstrument alone, so that profiling adds nothing else to sys.path."""
    destination.mkdir(parents=True, exist_ok=True)
    link = destination / "pyinstrument"
    source = harness.site_packages() / "pyinstrument"
    if source.is_dir() and not link.exists():
        link.symlink_to(source)
    return destination


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--build-dir", help="an existing `sam build` output (x86_64)")
    where.add_argument("--source", action="store_true", help="the source tree (dev only)")
    parser.add_argument("--backend", default="postgres", choices=("postgres", "sqlite"))
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--routes", default="get,list,create,patch,delete")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT))
    args = parser.parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    routes = [route.strip() for route in args.routes.split(",")]
    rng = random.Random(5)

    with tempfile.TemporaryDirectory(prefix="bench-profile-") as scratch:
        workdir = Path(scratch)
        if args.source:
            project = harness.project_from_source()
        else:
            project = harness.project_from_build(Path(args.build_dir) if args.build_dir else harness.sam_build())
        targets: list[Target] = [project, harness.reference_target("bare", workdir, source=args.source)]
        runtime_dir = make_runtime_dir(workdir / "var-runtime")
        tools = tools_dir(workdir / "tools")
        with database.bench_database(args.backend, workdir) as db:
            database.seed(db, 1000)
            ids = (1, database.max_id(db))
            pool = database.add_rows(db, len(targets) * 2 * (args.calls + 200))
            for route in routes:
                report = [f"# {route}: {args.calls} warm calls, {args.backend}, after 200 warm-up calls", ""]
                for target in targets:
                    launch = Launch(target.artifacts[route], runtime_dir, db.database_url, extra_path=(tools,))
                    worker = Worker(launch)
                    try:
                        worker.request({"op": "run", "events": events_for(route, 200, ids, pool, rng)})
                        prof = output / f"{route}-{target.name}.prof"
                        worker.request(
                            {
                                "op": "profile",
                                "events": events_for(route, args.calls, ids, pool, rng),
                                "output": str(prof),
                            }
                        )
                        tree = output / f"{route}-{target.name}.pyinstrument.txt"
                        worker.request(
                            {
                                "op": "profile",
                                "profiler": "pyinstrument",
                                "events": events_for(route, args.calls, ids, pool, rng),
                                "output": str(tree),
                            }
                        )
                    finally:
                        worker.close()
                    report += [f"## {target.name} ({target.description})", "", "cProfile, per request:", ""]
                    report += breakdown(prof, args.calls)
                    report += ["", "hottest functions by own time (cProfile):", ""]
                    report += hottest(prof, args.calls)
                    report += ["", f"pyinstrument tree: {tree}", ""]
                text = "\n".join(report)
                (output / f"{route}.txt").write_text(text + "\n", encoding="utf-8")
                print(text)
    print(f"\nProfiles in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
