"""The printed table (every figure also as a ratio to the bare handler) and the issue's targets."""

from __future__ import annotations

import math
from typing import Any

from bench.harness import ROUTES
from bench.stats import ratio

BASELINE = "bare"
TARGET_ORDER = ("bare", "project", "fastapi")
# Issue 12's targets, as ratios to the bare handler in the same run (Postgres); charts.py draws them.
WARM_LIMIT = 1.5
P99_LIMIT = 2.0
WARM_ROUTES = ("get", "list", "create", "patch", "delete")
COLD_LIMIT = 2.5
RSS_LIMIT = 1.6
SCALE_LIMIT = 1.2
SCALE_CASES = ("list first page", "list deep page")
BACKEND_NAMES = {"postgres": "Postgres", "sqlite": "SQLite"}
CELL = 30


def _number(value: float) -> str:
    if value is None or math.isnan(value):
        return "-"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio_text(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


class Table:
    """Rows of a figure per target; each cell is the value, then its ratio to the bare handler."""

    def __init__(self, targets: list[str]) -> None:
        self.targets = targets
        self.lines: list[str] = []
        header = f"{'figure':<44}" + "".join(f"{name:>{CELL}}" for name in targets)
        self.lines += [header, "-" * len(header)]

    def section(self, title: str) -> None:
        self.lines.append(title)

    def row(self, label: str, values: dict[str, float | None], unit: str, extra: dict[str, str] | None = None) -> None:
        base = values.get(BASELINE)
        cells = []
        for name in self.targets:
            value = values.get(name)
            if value is None:
                cells.append(f"{'n/a':>{CELL}}")
                continue
            text = f"{_number(value)} {unit}{(extra or {}).get(name, '')}"
            shown_ratio = "" if name == BASELINE else _ratio_text(ratio(value, base))
            cells.append(f"{text:>{CELL - 8}}{shown_ratio:>8}")
        self.lines.append(f"  {label:<42}" + "".join(cells))

    def render(self) -> str:
        return "\n".join(self.lines)


def _present(results: dict[str, Any]) -> list[str]:
    names = set(results["meta"]["targets"])
    return [name for name in TARGET_ORDER if name in names]


def render_backend(backend: str, data: dict[str, Any], targets: list[str]) -> str:
    table = Table(targets)
    for route, by_target in data.get("cold", {}).items():
        figures = {name: by_target[name]["import_plus_first_request"] for name in targets if name in by_target}
        runs = next(iter(figures.values()))["n"] if figures else 0
        table.section(f"cold start {route.upper()} ({runs} fresh interpreters; ms median [min-max])")
        spread = {name: f" [{_number(f['min_ms'])}-{_number(f['max_ms'])}]" for name, f in figures.items()}
        table.row("import + first request", {n: f["median_ms"] for n, f in figures.items()}, "ms", spread)
        table.row("  import alone", {n: by_target[n]["import"]["median_ms"] for n in figures}, "ms")
        table.row("  first request alone", {n: by_target[n]["first_request"]["median_ms"] for n in figures}, "ms")
        table.row("  whole process (spawn to exit)", {n: by_target[n]["process"]["median_ms"] for n in figures}, "ms")
        table.row("  peak RSS of the cold process", {n: by_target[n]["max_rss_kb"] / 1024 for n in figures}, "MB")
    if "importtime" in data:
        table.section("-X importtime of the GET function (one extra cold start)")
        table.row("sum of import times", {n: v["total_ms"] for n, v in data["importtime"].items()}, "ms")
        table.row("modules imported", {n: v["modules_imported"] for n, v in data["importtime"].items()}, "")
    warm = data.get("warm", {})
    if warm:
        n = warm[ROUTES[0]][targets[0]]["n"]
        table.section(f"warm, in-process, interleaved ({n:,}+ calls per route; microseconds per call)")
        for route in ROUTES:
            if route in warm:
                table.row(f"{route} p50", {t: warm[route][t]["p50_us"] for t in targets}, "us")
                table.row(f"{route} p99", {t: warm[route][t]["p99_us"] for t in targets}, "us")
    if "max_rss_kb" in data:
        table.section("memory after the warm calls")
        rss = data["max_rss_kb"]
        table.row("peak RSS, GET function", {t: rss[t]["get"] / 1024 for t in targets}, "MB")
        table.row("peak RSS, largest function", {t: max(rss[t].values()) / 1024 for t in targets}, "MB")
    scale = data.get("scale", {})
    if scale:
        small, large = scale["small"], scale["large"]
        table.section(
            f"scale: {small['rows']:,} vs {large['rows']:,} rows (p50 us; deep page = cursor at 90% of the rows)"
        )
        for case in small["cases"]:
            at_small = {t: small["cases"][case][t]["p50_us"] for t in targets}
            at_large = {t: large["cases"][case][t]["p50_us"] for t in targets}
            table.row(f"{case} @{_rows(small['rows'])}", at_small, "us")
            table.row(f"{case} @{_rows(large['rows'])}", at_large, "us")
            growth = {t: ratio(at_large[t], at_small[t]) for t in targets}
            table.lines.append(
                f"  {'  growth ' + _rows(large['rows']) + ' / ' + _rows(small['rows']):<42}"
                + "".join(f"{_ratio_text(growth[t]):>{CELL}}" for t in targets)
            )
    lines = [f"== {BACKEND_NAMES.get(backend, backend)}: ratio = figure / bare handler's, same run ==", table.render()]
    if "importtime" in data:
        lines.append("\n  -X importtime, top packages by their modules' own import time (ms):")
        for name in targets:
            top = ", ".join(f"{pkg} {ms:.0f}" for pkg, ms in data["importtime"][name]["top_packages_ms"][:8])
            lines.append(f"    {name:<8} {top}")
    if "explain" in data:
        lines.append(
            f"\n  EXPLAIN of the project's statements at {_rows(scale['large']['rows']) if scale else ''} rows:"
        )
        for case, plan in data["explain"].items():
            verdict = "index" if data["explain_uses_index"][case] else "NO INDEX / SORT"
            lines.append(f"    {case} [{verdict}]")
            lines += [f"      {line}" for line in plan]
    conformance = data.get("conformance")
    if conformance:
        if conformance["ok"]:
            lines.append(
                f"\n  conformance: the references answer {len(conformance['checks'])} checks as the project does"
            )
        else:
            lines.append(f"\n  CONFORMANCE: {len(conformance['differences'])} differences (see the JSON):")
            for diff in conformance["differences"][:5]:
                lines.append(f"    {diff['check']} / {diff['target']}: expected {diff['expected']} got {diff['got']}")
    return "\n".join(lines)


def _rows(count: int) -> str:
    if count >= 1_000_000 and count % 1_000_000 == 0:
        return f"{count // 1_000_000}M"
    if count >= 1_000 and count % 1_000 == 0:
        return f"{count // 1_000}k"
    return f"{count:,}"


def render_sizes(results: dict[str, Any], targets: list[str]) -> str:
    sizes = results.get("sizes", {})
    if not sizes:
        return "sizes: not measured (source tree: no artifacts)"
    table = Table([t for t in targets if t in sizes])
    table.section("deployment size: one function + its layers")
    table.row("unzipped", {t: sizes[t]["unzipped_bytes"] / 2**20 for t in sizes}, "MB")
    table.row("zipped", {t: sizes[t]["zipped_bytes"] / 2**20 for t in sizes}, "MB")
    return "== Size ==\n" + table.render()


def render(results: dict[str, Any]) -> str:
    targets = _present(results)
    meta = results["meta"]
    parts = [
        f"Benchmark ({meta['plan']['name']}), Python {meta['python']} {meta['machine']}, {meta['cpus']} CPUs, "
        f"load average {meta['load_average']['before'][0]:.1f} -> {meta['load_average']['after'][0]:.1f}",
        "targets: " + "; ".join(f"{name} = {meta['targets'][name]}" for name in targets),
        "",
    ]
    for backend, data in results["backends"].items():
        parts += [render_backend(backend, data, targets), ""]
    parts += [render_sizes(results, targets), "", render_targets(results["targets_check"])]
    return "\n".join(parts)


# ---------------------------------------------------------------- the targets


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue, on Postgres when it was run (else on what was): value, limit, met."""
    backends = results["backends"]
    backend = "postgres" if "postgres" in backends else next(iter(backends), None)
    if backend is None:
        return []
    data = backends[backend]
    checks: list[dict[str, Any]] = []

    def add(figure: str, value: float | None, limit: float, kind: str = "ratio to bare") -> None:
        met = value is not None and value <= limit
        checks.append({"backend": backend, "figure": figure, "kind": kind, "value": value, "limit": limit, "met": met})

    warm = data.get("warm", {})
    for route in WARM_ROUTES:
        for stat, limit in (("p50", WARM_LIMIT), ("p99", P99_LIMIT)):
            if route in warm:
                add(
                    f"warm {route} {stat}",
                    ratio(warm[route]["project"][f"{stat}_us"], warm[route][BASELINE][f"{stat}_us"]),
                    limit,
                )
    for route, by_target in data.get("cold", {}).items():
        add(
            f"cold start {route} (import + first request, median)",
            ratio(
                by_target["project"]["import_plus_first_request"]["median_ms"],
                by_target[BASELINE]["import_plus_first_request"]["median_ms"],
            ),
            COLD_LIMIT,
        )
    rss = data.get("max_rss_kb", {})
    if rss:
        add(
            "peak RSS, largest function",
            ratio(max(rss["project"].values()), max(rss[BASELINE].values())),
            RSS_LIMIT,
        )
    scale = data.get("scale")
    if scale:
        for case in SCALE_CASES:
            add(
                f"{case} @{_rows(scale['large']['rows'])} / @{_rows(scale['small']['rows'])}",
                ratio(
                    scale["large"]["cases"][case]["project"]["p50_us"],
                    scale["small"]["cases"][case]["project"]["p50_us"],
                ),
                SCALE_LIMIT,
                kind="growth of the project's own latency",
            )
    if "fastapi" in results["meta"]["targets"]:
        slower = [name for name, project, fastapi in figures_vs_fastapi(results) if not project < fastapi]
        checks.append(
            {
                "backend": "all",
                "figure": "faster than FastAPI + Mangum on every figure",
                "kind": "project < fastapi",
                "value": len(slower),
                "limit": 0,
                "met": not slower,
                "not_faster_on": slower,
            }
        )
    return checks


def figures_vs_fastapi(results: dict[str, Any]) -> list[tuple[str, float, float]]:
    """(figure, project, fastapi) for every measured figure where lower is better."""
    out: list[tuple[str, float, float]] = []
    for backend, data in results["backends"].items():
        for route, by_target in data.get("cold", {}).items():
            for part in ("import_plus_first_request", "process"):
                out.append(
                    (
                        f"{backend} cold {route} {part}",
                        by_target["project"][part]["median_ms"],
                        by_target["fastapi"][part]["median_ms"],
                    )
                )
        for route, by_target in data.get("warm", {}).items():
            for stat in ("p50_us", "p99_us"):
                out.append(
                    (f"{backend} warm {route} {stat[:3]}", by_target["project"][stat], by_target["fastapi"][stat])
                )
        for size, scale in data.get("scale", {}).items():
            for case, by_target in scale["cases"].items():
                out.append(
                    (f"{backend} {case} @{size}", by_target["project"]["p50_us"], by_target["fastapi"]["p50_us"])
                )
        rss = data.get("max_rss_kb", {})
        if rss:
            out.append((f"{backend} peak RSS", max(rss["project"].values()), max(rss["fastapi"].values())))
    sizes = results.get("sizes", {})
    if "project" in sizes and "fastapi" in sizes:
        # Issue 12 asks for smaller zipped (what Lambda downloads); unzipped is reported, not a target.
        out.append(("zipped size", sizes["project"]["zipped_bytes"], sizes["fastapi"]["zipped_bytes"]))
    return out


def render_targets(checks: list[dict[str, Any]]) -> str:
    lines = ["== Targets (issue 12) =="]
    for check in checks:
        mark = "MET   " if check["met"] else "NOT MET"
        if check["kind"] == "project < fastapi":
            detail = "" if check["met"] else f": not faster on {', '.join(check['not_faster_on'])}"
            lines.append(f"  {mark} {check['figure']}{detail}")
            continue
        value = "-" if check["value"] is None else f"{check['value']:.2f}x"
        lines.append(
            f"  {mark} {check['backend']}: {check['figure']} = {value} (limit {check['limit']}x, {check['kind']})"
        )
    return "\n".join(lines)
