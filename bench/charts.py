"""SVG charts of a benchmark's results, written next to its JSON.

    python -m bench.charts [RESULTS_JSON] [--out-dir DIR]

Per database: the ratio to the bare handler of every figure for the project and FastAPI + Mangum,
with issue 12's targets marked (`<stem>-ratios-<db>.svg`); the latency distribution of each warm
route for the three targets (`<stem>-cdf-<db>.svg`); cold starts as a box plot (`<stem>-cold-<db>.svg`).
matplotlib comes from bench/requirements.txt: never in a Lambda layer.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

from bench.report import BACKEND_NAMES, BASELINE, COLD_LIMIT, P99_LIMIT, RSS_LIMIT, TARGET_ORDER, WARM_LIMIT
from bench.stats import ratio

LABELS = {"bare": "bare handler", "project": "project", "fastapi": "FastAPI + Mangum"}
COLOURS = {"bare": "#7f7f7f", "project": "#1f77b4", "fastapi": "#ff7f0e"}
COMPARED = ("project", "fastapi")
# Zipped size has no limit line: it is only compared with FastAPI's.
TARGET_COLOUR = "#d62728"


def _present(results: dict[str, Any]) -> list[str]:
    return [name for name in TARGET_ORDER if name in results["meta"]["targets"]]


def ratio_figures(results: dict[str, Any], backend: str) -> list[tuple[str, dict[str, float], float | None]]:
    """(figure, {target: value}, target limit or None) for every figure the results hold."""
    data = results["backends"][backend]
    rows: list[tuple[str, dict[str, float], float | None]] = []
    for route, by_target in data.get("warm", {}).items():
        rows.append((f"warm {route} p50", {t: v["p50_us"] for t, v in by_target.items()}, WARM_LIMIT))
        rows.append((f"warm {route} p99", {t: v["p99_us"] for t, v in by_target.items()}, P99_LIMIT))
    for route, by_target in data.get("cold", {}).items():
        medians = {t: v["import_plus_first_request"]["median_ms"] for t, v in by_target.items()}
        rows.append((f"cold start {route}", medians, COLD_LIMIT))
    rss = data.get("max_rss_kb", {})
    if rss:
        rows.append(("peak RSS, largest function", {t: max(v.values()) for t, v in rss.items()}, RSS_LIMIT))
    sizes = results.get("sizes", {})
    if BASELINE in sizes:
        rows.append(("zipped size", {t: v["zipped_bytes"] for t, v in sizes.items()}, None))
    return rows


def ratios_chart(results: dict[str, Any], backend: str) -> Figure:
    rows = [row for row in ratio_figures(results, backend) if BASELINE in row[1]]
    compared = [name for name in COMPARED if name in _present(results)]
    figure = Figure(figsize=(8, 1.2 + 0.42 * len(rows)), layout="constrained")
    ax = figure.subplots()
    height = 0.8 / len(compared)
    for index, name in enumerate(compared):
        offsets = [position - 0.4 + height * (index + 0.5) for position in range(len(rows))]
        ratios = [ratio(figures.get(name), figures[BASELINE]) or math.nan for _, figures, _ in rows]
        bars = ax.barh(offsets, ratios, height=height, color=COLOURS[name], label=LABELS[name])
        for bar, (figure_name, _, _) in zip(bars, rows, strict=True):
            bar.set_gid(f"ratio-{name}-{figure_name.replace(' ', '-').replace(',', '')}")
        ax.bar_label(bars, fmt="%.2fx", padding=2, fontsize=7)
    ax.axvline(1.0, color=COLOURS[BASELINE], linewidth=1, label="bare handler = 1")
    limited = [(position, limit) for position, (_, _, limit) in enumerate(rows) if limit is not None]
    if limited:
        targets = ax.vlines(
            [limit for _, limit in limited],
            [position - 0.45 for position, _ in limited],
            [position + 0.45 for position, _ in limited],
            colors=TARGET_COLOUR,
            linestyles="dashed",
            label="target (issue 12)",
        )
        targets.set_gid("ratios-targets")
    ax.set_yticks(range(len(rows)), [figure_name for figure_name, _, _ in rows])
    ax.invert_yaxis()
    ax.set_xlabel("ratio to the bare handler, same run (lower is better)")
    ax.set_title(f"{BACKEND_NAMES.get(backend, backend)}: each figure as a ratio to the bare handler")
    ax.margins(x=0.12)
    figure.legend(loc="outside lower center", ncols=4, fontsize=8)
    return figure


def _grid(figure: Figure, count: int, columns: int = 3) -> list[Axes]:
    columns = min(columns, count)
    rows = math.ceil(count / columns)
    axes = figure.subplots(rows, columns, squeeze=False).flatten().tolist()
    for unused in axes[count:]:
        unused.set_visible(False)
    return axes[:count]


def cdf_chart(results: dict[str, Any], backend: str) -> Figure | None:
    warm = results["backends"][backend].get("warm", {})
    percentiles = results["meta"].get("cdf_percentiles")
    routes = [route for route, by_target in warm.items() if all("cdf_us" in v for v in by_target.values())]
    if not routes or not percentiles:
        return None
    columns = min(3, len(routes))
    figure = Figure(figsize=(4 * columns, 3.2 * math.ceil(len(routes) / columns)), layout="constrained")
    levels = [q / 100 for q in percentiles]
    axes = _grid(figure, len(routes))
    for ax, route in zip(axes, routes, strict=True):
        for name in _present(results):
            if name in warm[route]:
                (line,) = ax.step(warm[route][name]["cdf_us"], levels, where="post", color=COLOURS[name])
                line.set_label(LABELS[name])
                line.set_gid(f"cdf-{route}-{name}")
        ax.set_xscale("log")
        # Ticks at 1, 2, 5 x 10^n written out: "200" reads faster than "2x10^2".
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(f"warm {route}")
        ax.set_xlabel("latency per call (µs, log scale)")
        ax.set_ylabel("fraction of calls")
        ax.grid(True, which="both", alpha=0.3)
    figure.legend(handles=axes[0].get_lines(), loc="outside lower center", ncols=3, fontsize=8)
    figure.suptitle(f"{BACKEND_NAMES.get(backend, backend)}: warm latency distribution (CDF)")
    return figure


def cold_chart(results: dict[str, Any], backend: str) -> Figure | None:
    cold = results["backends"][backend].get("cold", {})
    routes = [
        route
        for route, by_target in cold.items()
        if all("samples_ms" in v["import_plus_first_request"] for v in by_target.values())
    ]
    if not routes:
        return None
    columns = min(3, len(routes))
    figure = Figure(figsize=(max(4 * columns, 6), 3.4 * math.ceil(len(routes) / columns)), layout="constrained")
    for ax, route in zip(_grid(figure, len(routes)), routes, strict=True):
        names = [name for name in _present(results) if name in cold[route]]
        boxes = ax.boxplot(
            [cold[route][name]["import_plus_first_request"]["samples_ms"] for name in names],
            tick_labels=[LABELS[name] for name in names],
            patch_artist=True,
            medianprops={"color": "black"},
        )
        for box, name in zip(boxes["boxes"], names, strict=True):
            box.set_facecolor(COLOURS[name])
            box.set_gid(f"cold-{route}-{name}")
        ax.set_title(f"cold start {route}")
        ax.set_ylabel("import + first request (ms)")
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(True, axis="y", alpha=0.3)
    figure.suptitle(f"{BACKEND_NAMES.get(backend, backend)}: cold starts, one fresh interpreter each")
    return figure


def write_charts(results: dict[str, Any], json_path: Path, out_dir: Path | None = None) -> list[Path]:
    """Every chart of every database in the results, as `<json stem>-<chart>-<db>.svg`."""
    folder = out_dir or json_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    # Text stays text (searchable, smaller) and the ids are stable, so that a rerun on the same results
    # writes the same bytes.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "bench-charts"}):
        for backend in results["backends"]:
            charts = {
                "ratios": ratios_chart(results, backend),
                "cdf": cdf_chart(results, backend),
                "cold": cold_chart(results, backend),
            }
            for kind, figure in charts.items():
                if figure is None:
                    continue
                path = folder / f"{json_path.stem}-{kind}-{backend}.svg"
                figure.savefig(path, format="svg", metadata={"Date": None})
                written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    from bench.run import DEFAULT_JSON

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("json", nargs="?", default=str(DEFAULT_JSON), help=f"results (default {DEFAULT_JSON})")
    parser.add_argument("--out-dir", help="where to write the SVGs (default: next to the JSON)")
    args = parser.parse_args(argv)
    json_path = Path(args.json)
    results = json.loads(json_path.read_text(encoding="utf-8"))
    for path in write_charts(results, json_path, Path(args.out_dir) if args.out_dir else None):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
