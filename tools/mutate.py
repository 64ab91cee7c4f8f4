"""`make mutate`: mutmut 3 over the shared layer and the handlers, each mutant against the tests that reach it.

mutmut names a mutant after its file's path (shared/learning_sessions/x.py -> shared.learning_sessions.x),
but the suite imports the package from pytest's pythonpath (learning_sessions.x), so its per-function test
selection would match nothing and every mutant would be "no tests". The path roots to strip are read from
pytest's own pythonpath setting, so a new module or layer package needs no change here.

    python -m tools.mutate                  # every mutant, from scratch
    python -m tools.mutate --quick          # a random sample (seed printed)
    python -m tools.mutate --resume         # go on with an interrupted full run (same code and tests)
    python -m tools.mutate --summary-only   # the table of the last run, for docs/testing.md
    python -m tools.mutate --show NAME      # one mutant's diff
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = REPO_ROOT / "pyproject.toml"
TESTING_DOC = REPO_ROOT / "docs" / "testing.md"
QUICK_SAMPLE = 300
# Seconds of tests (as timed in mutmut's first, instrumented run) one mutant may cost: the fastest tests
# that reach its function, up to this sum. See budget_the_tests().
TEST_BUDGET_S = 10.0
# The layers whose score issue 13 sets a target for (>= 90% of non-equivalent mutants killed).
SCORED_LAYERS = ("domain", "data")
# How mutmut's exit codes read in our summary: a timeout counts as detected, as it would fail CI.
KILLED = ("killed", "caught by type check")
EQUIVALENT_SECTION = "## Equivalent mutants"
EQUIVALENT_LINE = re.compile(r"^\s*[-*]\s+`(?P<name>[\w.ǁ]+__mutmut_\d+)`")


def import_roots() -> list[str]:
    """The directories pytest puts on sys.path (other than the root) as module-name prefixes: ["shared."]."""
    settings = tomllib.loads(PYPROJECT.read_text())["tool"]["pytest"]["ini_options"]
    return [entry.strip("/").replace("/", ".") + "." for entry in settings.get("pythonpath", []) if entry != "."]


def runtime_name(path_name: str, roots: Iterable[str]) -> str:
    for root in roots:
        if path_name.startswith(root):
            return path_name[len(root) :]
    return path_name


def patch_mutant_names() -> None:
    """Make mutmut name mutants after the modules the tests import, not after the files' paths."""
    import mutmut.__main__ as mutmut_main
    import mutmut.mutation.file_mutation as file_mutation
    import mutmut.utils.format_utils as format_utils

    roots = import_roots()
    by_path: Callable[[Path, str], str] = format_utils.get_mutant_name

    def by_module(relative_source_path: Path, mutant_method_name: str) -> str:
        return runtime_name(by_path(relative_source_path, mutant_method_name), roots)

    for module in (format_utils, file_mutation, mutmut_main):
        module.get_mutant_name = by_module  # type: ignore[attr-defined]


def patch_pytest_compat() -> None:
    """mutmut 3.7, the last release that resolves beside aws-sam-cli's click==8.1.8, reads a test's
    node id as item._nodeid, which pytest 9 no longer has; nodeid is the same value."""
    from _pytest.nodes import Node

    if not hasattr(Node, "_nodeid"):
        Node._nodeid = property(lambda node: node.nodeid)  # type: ignore[attr-defined]


def mirror_symlinks() -> None:
    """mutmut copies only the files of the source paths; the migrate function reaches migrations/ and
    alembic.ini through symlinks, which the mutated tree needs too (pointing at its own copies)."""
    settings = tomllib.loads(PYPROJECT.read_text())["tool"]["mutmut"]
    for source in settings["source_paths"]:
        for directory, dirs, files in os.walk(REPO_ROOT / source):
            for name in dirs + files:
                path = Path(directory) / name
                if path.is_symlink():
                    mirrored = REPO_ROOT / "mutants" / path.relative_to(REPO_ROOT)
                    mirrored.parent.mkdir(parents=True, exist_ok=True)
                    if not mirrored.is_symlink() and not mirrored.exists():
                        mirrored.symlink_to(os.readlink(path))


def forget_the_checkouts_tools() -> None:
    """`python -m tools.mutate` imported the checkout's tools package; the suite must import mutants/tools.

    Otherwise tools.databases.REPO_ROOT is the checkout, and the tests load functions/*/app.py from
    there, without mutmut's trampolines: every migrate-function mutant read as "no tests". mutmut
    runs the suite in mutants/, where the now-empty cache finds the copy.
    """
    for name in [name for name in sys.modules if name == "tools" or name.startswith("tools.")]:
        del sys.modules[name]


def reopen_closed_log_streams() -> None:
    """mutmut runs pytest several times in one process (and in its forks). A log handler made while the
    first run imported the package keeps that run's capture stream, which pytest closes at its end, and
    the next run's first log line (or a test swapping the stream) fails on it. Such handlers get the
    process's stdout back before each run."""
    import logging

    from mutmut.__main__ import PytestRunner

    execute = PytestRunner.execute_pytest

    def with_open_streams(self: Any, params: list[str], **kwargs: Any) -> int:
        loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
        for logger in loggers:
            for handler in getattr(logger, "handlers", []):
                stream = getattr(handler, "stream", None)
                if isinstance(handler, logging.StreamHandler) and stream is not None and stream.closed:
                    handler.stream = sys.stdout
        return execute(self, params, **kwargs)

    PytestRunner.execute_pytest = with_open_streams  # type: ignore[method-assign]


def budget_the_tests(budget_s: float) -> None:
    """Give each mutated function only its fastest tests, up to budget_s seconds of them.

    A surviving mutant runs every test that reaches its function. For the hot path (the resolver, the
    engine, the dialect) that is most of the suite, 100-140 s a mutant, and a few hundred survivors
    put a full run at two hours on 2 CPUs. The tests cut are the slowest: the spawned-process races,
    the stateful model, the hostile-input properties; a mutant only they would kill counts as
    survived, so the score can only be lower for it, and such a survivor asks for a fast test.
    """
    import mutmut
    import mutmut.__main__ as mutmut_main

    collect = mutmut_main.collect_or_load_stats

    def within_budget(*args: Any, **kwargs: Any) -> None:
        collect(*args, **kwargs)
        duration = mutmut.duration_by_test
        for function, tests in mutmut.tests_by_mangled_function_name.items():
            kept: set[str] = set()
            spent = 0.0
            for test in sorted(tests, key=lambda name: (duration.get(name, 0.0), name)):
                spent += duration.get(test, 0.0)
                if spent > budget_s and kept:
                    break
                kept.add(test)
            mutmut.tests_by_mangled_function_name[function] = kept

    mutmut_main.collect_or_load_stats = within_budget


def sample_mutants(size: int, seed: int) -> None:
    """Test only a random sample of the mutants (re-testing them even if an earlier run has a result)."""
    import mutmut.__main__ as mutmut_main

    collect = mutmut_main.collect_source_file_mutation_data

    def sampled(*, mutant_names: Any) -> Any:
        mutants, by_path = collect(mutant_names=mutant_names)
        chosen = random.Random(seed).sample(mutants, min(size, len(mutants)))
        SAMPLED.update(key for _, key, _ in chosen)
        return [(data, key, None) for data, key, _ in chosen], by_path

    mutmut_main.collect_source_file_mutation_data = sampled


SAMPLED: set[str] = set()


def layer_of(mutant: str) -> str:
    """domain, data, http, ... for the shared package (its subpackage, or the flat module's layer); handlers."""
    parts = mutant.split(".")
    if parts[0] == "functions":
        return "handlers"
    package_dir = REPO_ROOT / "shared" / parts[0]
    if len(parts) > 2 and (package_dir / parts[1]).is_dir():
        return parts[1]
    return "other"


def equivalent_mutants() -> dict[str, str]:
    """The mutants docs/testing.md lists as equivalent, with their reasons."""
    if not TESTING_DOC.exists():
        return {}
    listed = {}
    in_section = False
    for line in TESTING_DOC.read_text().splitlines():
        if line.startswith("## "):
            in_section = line.strip() == EQUIVALENT_SECTION
        found = EQUIVALENT_LINE.match(line)
        if in_section and found:
            listed[found["name"]] = line.split(":", 1)[-1].strip()
    return listed


def results(only: set[str] | None) -> dict[str, str]:
    """mutant name -> status, from mutmut's files under mutants/."""
    import mutmut.__main__ as mutmut_main
    from mutmut.configuration import Config
    from mutmut.mutation.data import SourceFileMutationData

    Config.ensure_loaded()
    statuses = {}
    os.chdir(REPO_ROOT)
    for path in mutmut_main.walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        for key, exit_code in data.exit_code_by_key.items():
            if only is None or key in only:
                statuses[key] = mutmut_main.status_by_exit_code[exit_code]
    return statuses


def tested(statuses: dict[str, str]) -> dict[str, str]:
    """Without the mutants a partial run (a sample, a pattern, an interruption) did not get to."""
    return {name: status for name, status in statuses.items() if status != "not checked"}


def summary(statuses: dict[str, str], *, label: str, minutes: float | None) -> str:
    equivalent = equivalent_mutants()
    rows = []
    totals: dict[str, Counter[str]] = {}
    for name, status in statuses.items():
        bucket = "equivalent" if name in equivalent and status != "killed" else status
        totals.setdefault(layer_of(name), Counter())[bucket] += 1
    scored: Counter[str] = Counter()
    for layer in sorted(totals):
        counts = totals[layer]
        rows.append(row(layer, counts))
        if layer in SCORED_LAYERS:
            scored.update(counts)
    everything: Counter[str] = sum(totals.values(), Counter())
    load = os.getloadavg()
    lines = [
        f"{label}: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {len(statuses)} mutants"
        + (f" in {minutes:.0f} min" if minutes is not None else "")
        + f", load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs.",
        "",
        "| layer | mutants | killed | timeout | survived | no tests | equivalent | score |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        row("domain + data", scored),
        row("all", everything),
        "",
        "score = (killed + timeout) / (mutants - equivalent); target >= 90% for domain + data.",
    ]
    survivors = sorted(name for name, status in statuses.items() if status != "killed" and name not in equivalent)
    survivors = [name for name in survivors if statuses[name] not in ("timeout",)]
    if survivors:
        lines += ["", f"Not killed and not listed as equivalent ({len(survivors)}; `mutmut show NAME` shows each):"]
        lines += [f"- `{name}` ({statuses[name]})" for name in survivors]
    return "\n".join(lines)


def row(layer: str, counts: Counter[str]) -> str:
    total = sum(counts.values())
    killed = sum(counts[s] for s in KILLED)
    detected = killed + counts["timeout"]
    judged = total - counts["equivalent"]
    score = f"{100 * detected / judged:.1f}%" if judged else "-"
    others = total - killed - counts["timeout"] - counts["survived"] - counts["no tests"] - counts["equivalent"]
    extra = f" (+{others} other)" if others else ""
    return (
        f"| {layer} | {total} | {killed} | {counts['timeout']} | {counts['survived']}{extra} | {counts['no tests']}"
        f" | {counts['equivalent']} | {score} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"test a random sample of {QUICK_SAMPLE} mutants")
    parser.add_argument("--sample", type=int, default=QUICK_SAMPLE, help="the sample size with --quick")
    parser.add_argument("--seed", type=int, help="replay a --quick sample (printed by every quick run)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="mutants tested at once")
    parser.add_argument(
        "--budget", type=float, default=TEST_BUDGET_S, help="seconds of tests per mutant, fastest first"
    )
    parser.add_argument("--summary-only", action="store_true", help="print the last run's table and exit")
    parser.add_argument(
        "--resume", action="store_true", help="go on with an interrupted full run: test only mutants without a result"
    )
    parser.add_argument("--show", metavar="NAME", help="the diff of one mutant of the last run")
    parser.add_argument("mutants", nargs="*", help="only these mutants (mutmut names, * allowed)")
    args = parser.parse_args(argv)

    os.chdir(REPO_ROOT)
    patch_mutant_names()
    patch_pytest_compat()
    reopen_closed_log_streams()
    if args.summary_only:
        print(summary(tested(results(None)), label="Last run", minutes=None))
        return 0
    if args.show:
        import mutmut.__main__ as mutmut_main

        mutmut_main.cli(["show", args.show], standalone_mode=False)
        return 0
    if args.quick:
        seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
        print(f"mutate --quick: {args.sample} mutants, seed {seed} (replay with --quick --seed {seed})", flush=True)
        sample_mutants(args.sample, seed)
    elif not args.mutants and not args.resume:
        # A full run starts from scratch: mutmut keeps results per function across runs, but not when tests change.
        shutil.rmtree(REPO_ROOT / "mutants", ignore_errors=True)

    mirror_symlinks()
    forget_the_checkouts_tools()
    budget_the_tests(args.budget)
    # The two property tests that cost most of the suite's time (tens of seconds on Postgres) run for
    # every mutant that survives the faster tests; a tenth of their examples keeps a full run within
    # the hour. The score can only be lower for it, never higher.
    os.environ.setdefault("HOSTILE_EXAMPLES", "30")
    os.environ.setdefault("STATEFUL_EXAMPLES", "10")
    import mutmut.__main__ as mutmut_main

    started = time.monotonic()
    try:
        mutmut_main.cli(["run", "--max-children", str(args.jobs), *args.mutants], standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            return int(exc.code) if isinstance(exc.code, int) else 1
    minutes = (time.monotonic() - started) / 60
    only = SAMPLED if args.quick else None
    label = "Quick run (a sample)" if args.quick else "Partial run" if args.mutants else "Full run"
    label += " (resumed; the minutes are this part's)" if args.resume else ""
    print()
    print(summary(tested(results(only)), label=label, minutes=minutes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
