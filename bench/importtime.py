"""`python -X importtime` output, summed into what each package costs at a cold start."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


def parse(stderr: str) -> list[tuple[str, int, int, int]]:
    """(module, self µs, cumulative µs, nesting depth) for every import line."""
    rows = []
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if match:
            self_us, cumulative_us, indent, module = match.groups()
            rows.append((module, int(self_us), int(cumulative_us), (len(indent) - 1) // 2))
    return rows


def summarize(stderr: str, top: int = 10) -> dict[str, Any]:
    """Total, the top-level packages by the time their own modules took, and the slowest modules."""
    rows = parse(stderr)
    by_package: dict[str, int] = defaultdict(int)
    for module, self_us, _, _ in rows:
        by_package[module.split(".")[0]] += self_us
    total_us = sum(self_us for _, self_us, _, _ in rows)
    packages = sorted(by_package.items(), key=lambda item: item[1], reverse=True)[:top]
    modules = sorted(((module, self_us) for module, self_us, _, _ in rows), key=lambda item: item[1], reverse=True)
    return {
        "total_ms": total_us / 1000,
        "modules_imported": len(rows),
        "top_packages_ms": [[name, us / 1000] for name, us in packages],
        "top_modules_self_ms": [[name, us / 1000] for name, us in modules[:top]],
    }
