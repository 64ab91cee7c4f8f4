"""Order statistics of timings. Medians and percentiles, never means alone: latency is skewed."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): a value that was measured, not an interpolation."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(math.ceil(q / 100 * len(ordered)), 1)
    return float(ordered[min(rank, len(ordered)) - 1])


def latency_summary(nanoseconds: Sequence[int]) -> dict[str, Any]:
    """Per-call latency in microseconds."""
    us = [value / 1000 for value in nanoseconds]
    return {
        "n": len(us),
        "p50_us": percentile(us, 50),
        "p99_us": percentile(us, 99),
        "mean_us": statistics.fmean(us) if us else math.nan,
        "min_us": min(us) if us else math.nan,
    }


def spread_summary(nanoseconds: Sequence[int], keep_samples: bool = False) -> dict[str, Any]:
    """Median, min and max in milliseconds, for the cold starts (few runs, each its own process).

    keep_samples adds every run (a handful), for the box plot of bench/charts.py.
    """
    ms = [value / 1e6 for value in nanoseconds]
    summary: dict[str, Any] = {
        "n": len(ms),
        "median_ms": statistics.median(ms) if ms else math.nan,
        "min_ms": min(ms) if ms else math.nan,
        "max_ms": max(ms) if ms else math.nan,
    }
    if keep_samples:
        summary["samples_ms"] = [round(value, 3) for value in ms]
    return summary


# The latency distribution is kept as these percentiles rather than as every call (thousands per
# route): enough points to draw its CDF, tail included, in a JSON that stays readable.
CDF_PERCENTILES = (*range(100), 99.5, 99.9, 100)


def cdf_summary(nanoseconds: Sequence[int]) -> list[float]:
    """The latency in microseconds at each of CDF_PERCENTILES (nearest rank, so measured values)."""
    us = [value / 1000 for value in nanoseconds]
    return [round(percentile(us, q), 1) for q in CDF_PERCENTILES]


def ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or reference is None or reference == 0 or math.isnan(value) or math.isnan(reference):
        return None
    return value / reference
