"""The benchmark's machinery end to end, on SQLite with tiny counts: structure only, never speed.

Timings are compared only as ratios within one run of `make bench`; asserting any of them here
would make the suite fail on a busy machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import report
from bench.harness import ROUTES
from bench.run import run

pytestmark = pytest.mark.slow


def test_quick_bench_on_sqlite_produces_every_figure(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    args = ["--quick", "--source", "--backends", "sqlite", "--json", str(output)]
    args += [
        "--cold-runs",
        "2",
        "--warm-calls",
        "6",
        "--scale-calls",
        "4",
        "--small-rows",
        "200",
        "--large-rows",
        "1500",
    ]
    results = run(args)

    assert json.loads(output.read_text(encoding="utf-8"))["backends"].keys() == {"sqlite"}
    targets = set(results["meta"]["targets"])
    assert {"project", "bare"} <= targets
    data = results["backends"]["sqlite"]

    assert data["conformance"]["ok"], data["conformance"]["differences"]
    for name in targets:
        cold = data["cold"]["get"][name]
        assert cold["import_plus_first_request"]["n"] == 2
        assert len(cold["import_plus_first_request"]["samples_ms"]) == 2
        assert cold["import"]["median_ms"] > 0
        assert data["importtime"][name]["modules_imported"] > 0
        for route in ROUTES:
            assert data["warm"][route][name]["n"] == 6
            assert data["warm"][route][name]["p50_us"] > 0
            assert len(data["warm"][route][name]["cdf_us"]) == len(results["meta"]["cdf_percentiles"])
            assert data["max_rss_kb"][name][route] > 0
        for size in ("small", "large"):
            for case in ("list first page", "list deep page", "get by id"):
                assert data["scale"][size]["cases"][case][name]["n"] == 4
    assert data["scale"]["small"]["rows"] == 200
    assert data["large_rows_actual"] == 1500
    assert all(data["explain_uses_index"].values()), data["explain"]

    figures = {check["figure"] for check in results["targets_check"]}
    assert {"warm get p50", "warm list p50", "warm create p50", "warm patch p50"} <= figures
    assert any(figure.startswith("cold start get") for figure in figures)
    assert all(isinstance(check["met"], bool) for check in results["targets_check"])

    charts = {Path(path).name for path in results["meta"]["charts"]}
    assert charts == {"results-ratios-sqlite.svg", "results-cdf-sqlite.svg", "results-cold-sqlite.svg"}
    assert all((tmp_path / chart).stat().st_size > 0 for chart in charts)

    table = report.render(results)
    for heading in ("SQLite", "cold start GET", "get p50", "list deep page @1,500", "Targets (issue 12)"):
        assert heading in table
