"""The benchmark's SVG charts, drawn from a small made-up results JSON: files, validity, series.

The values are invented (the charts are checked for what they show, not for any timing).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from bench import charts
from bench.stats import CDF_PERCENTILES, spread_summary

SVG = "{http://www.w3.org/2000/svg}"
TARGETS = {"bare": 1.0, "project": 1.4, "fastapi": 3.0}
ROUTES = ("get", "list")


def _warm(scale: float) -> dict[str, Any]:
    cdf = [round(100 * scale * (1 + q / 100), 1) for q in CDF_PERCENTILES]
    return {"n": 300, "p50_us": 150 * scale, "p99_us": 199 * scale, "mean_us": 160 * scale, "cdf_us": cdf}


def _cold(scale: float) -> dict[str, Any]:
    runs = [int(ms * scale * 1e6) for ms in (100, 104, 98, 120, 101)]
    summary = spread_summary(runs)
    return {
        "import_plus_first_request": spread_summary(runs, keep_samples=True),
        "import": summary,
        "first_request": summary,
        "process": summary,
        "max_rss_kb": int(30_000 * scale),
    }


def synthetic_results() -> dict[str, Any]:
    backend = {
        "warm": {route: {name: _warm(scale) for name, scale in TARGETS.items()} for route in ROUTES},
        "cold": {"get": {name: _cold(scale) for name, scale in TARGETS.items()}},
        "max_rss_kb": {name: {route: int(40_000 * scale) for route in ROUTES} for name, scale in TARGETS.items()},
    }
    return {
        "meta": {"targets": dict.fromkeys(TARGETS, "made up"), "cdf_percentiles": list(CDF_PERCENTILES)},
        "sizes": {name: {"zipped_bytes": int(5e6 * scale)} for name, scale in TARGETS.items()},
        "backends": {"postgres": backend},
    }


def _svg(path: Path) -> tuple[set[str], str]:
    """The ids of the SVG's elements and all of its text; fails unless the file is well-formed SVG."""
    root = ET.parse(path).getroot()  # noqa: S314 (the file is the charts' own output, not untrusted input)
    assert root.tag == f"{SVG}svg"
    ids = {element.get("id", "") for element in root.iter()}
    text = " ".join("".join(element.itertext()) for element in root.iter(f"{SVG}text"))
    return ids, text


def test_charts_are_written_next_to_the_json_with_every_series(tmp_path: Path) -> None:
    json_path = tmp_path / "run.json"
    json_path.write_text(json.dumps(synthetic_results()), encoding="utf-8")

    assert charts.main([str(json_path)]) == 0

    written = {path.name for path in tmp_path.glob("*.svg")}
    assert written == {"run-ratios-postgres.svg", "run-cdf-postgres.svg", "run-cold-postgres.svg"}

    ids, text = _svg(tmp_path / "run-ratios-postgres.svg")
    assert "ratios-targets" in ids
    for name in ("project", "fastapi"):
        assert {f"ratio-{name}-warm-get-p50", f"ratio-{name}-cold-start-get", f"ratio-{name}-zipped-size"} <= ids
    for label in ("warm get p50", "warm list p99", "cold start get", "peak RSS, largest function", "zipped size"):
        assert label in text
    for legend in ("project", "FastAPI + Mangum", "bare handler = 1", "target (issue 12)"):
        assert legend in text

    ids, text = _svg(tmp_path / "run-cdf-postgres.svg")
    assert {f"cdf-{route}-{name}" for route in ROUTES for name in TARGETS} <= ids
    assert "warm get" in text
    assert "warm list" in text

    ids, text = _svg(tmp_path / "run-cold-postgres.svg")
    assert {f"cold-get-{name}" for name in TARGETS} <= ids
    assert "cold start get" in text


def test_each_ratio_carries_the_issue_target_of_its_kind() -> None:
    rows = {name: (values, limit) for name, values, limit in charts.ratio_figures(synthetic_results(), "postgres")}

    assert {name: limit for name, (_, limit) in rows.items()} == {
        "warm get p50": 1.5,
        "warm get p99": 2.0,
        "warm list p50": 1.5,
        "warm list p99": 2.0,
        "cold start get": 2.5,
        "peak RSS, largest function": 1.6,
        "zipped size": None,
    }
    assert rows["peak RSS, largest function"][0] == {name: int(40_000 * scale) for name, scale in TARGETS.items()}


def test_results_without_samples_still_get_the_ratio_chart(tmp_path: Path) -> None:
    """A JSON from before the samples were kept: the ratios are drawn, the CDF and box plot are left out."""
    results = synthetic_results()
    del results["meta"]["cdf_percentiles"]
    for by_target in results["backends"]["postgres"]["cold"].values():
        for cold in by_target.values():
            del cold["import_plus_first_request"]["samples_ms"]

    written = charts.write_charts(results, tmp_path / "old.json", out_dir=tmp_path / "out")

    assert [path.name for path in written] == ["old-ratios-postgres.svg"]


def test_the_printed_targets_are_issue_12s() -> None:
    """The table's MET / NOT MET lines judge what the charts draw: p50, p99, cold, RSS, zipped vs FastAPI."""
    from bench.report import check_targets

    results = synthetic_results()
    results["meta"]["targets"] = dict.fromkeys(TARGETS, "made up")
    checks = {check["figure"]: check for check in check_targets(results)}

    assert {figure: check["limit"] for figure, check in checks.items() if check["kind"] == "ratio to bare"} == {
        "warm get p50": 1.5,
        "warm get p99": 2.0,
        "warm list p50": 1.5,
        "warm list p99": 2.0,
        "cold start get (import + first request, median)": 2.5,
        "peak RSS, largest function": 1.6,
    }
    # The project is made 1.4x bare everywhere: within every limit, and faster and smaller than FastAPI.
    assert all(check["met"] for check in checks.values())
    results["sizes"]["project"]["zipped_bytes"] = results["sizes"]["fastapi"]["zipped_bytes"]
    vs_fastapi = {check["figure"]: check for check in check_targets(results)}[
        "faster than FastAPI + Mangum on every figure"
    ]
    assert vs_fastapi["not_faster_on"] == ["zipped size"]
