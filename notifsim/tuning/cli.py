"""``notifsim tune TUNE.toml --db FILE``: run (or continue) a policy search and print what it found."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from ..dbfile import LOCK_TIMEOUT_S
from ..errors import ConfigError


class _Help(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Help that shows every default and keeps the examples' line breaks."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``tune`` command to the CLI's subparsers."""
    tune = subparsers.add_parser(
        "tune",
        help="search the retry-policy space for the policy that does best on your worlds (resumable)",
        description="Search policy knobs with Optuna on the worlds of a tune file, every candidate on the same seeds; "
        "print the best policy (or the Pareto front), its metrics with intervals, the presets on the same worlds, "
        "and a TOML snippet (see docs/tuning.md).",
        epilog="examples:\n  notifsim tune data/experiments/tune-4h-outage.toml --db data/tune-4h-outage.duckdb\n"
        "  notifsim tune data/experiments/tune-4h-outage.toml --db data/tune-4h-outage.duckdb --budget 80 --report tune.html",
        formatter_class=_Help,
    )
    tune.add_argument("file", help="tune TOML file (see docs/tuning.md), e.g. data/experiments/tune-4h-outage.toml")
    tune.add_argument("--db", default=None, help="DuckDB file to add the runs to (default: data/<tune name>.duckdb); the study goes beside it")
    tune.add_argument("--budget", default=None, help="trials in all, overriding the file's (a re-run continues up to it)")
    tune.add_argument("--workers", default=None, help="local worker processes (default: one per core; 1 runs in this process)")
    tune.add_argument("--report", default=None, help="also write an HTML report to this file: the search, and the runs of the best policy and the presets")
    tune.add_argument("--no-progress", action="store_true", help="no progress bar")
    tune.add_argument("--force", action="store_true", help="run even when a run is estimated not to fit in memory")
    tune.add_argument(
        "--lock-timeout",
        default=str(LOCK_TIMEOUT_S),
        metavar="SECONDS",
        help="how long to wait while another process holds the database; after that the runs are saved as Parquet beside it",
    )
    tune.set_defaults(func=cmd_tune)
    return tune


def _positive(value: str | None, field: str) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(field, f"must be an integer >= 1; got {value!r}") from None
    if number < 1:
        raise ConfigError(field, f"must be an integer >= 1; got {value!r}")
    return number


def cmd_tune(args: argparse.Namespace) -> int:
    """Run the tune file into the database, print the result, optionally write the report."""
    from pathlib import Path

    from ..cli import _lock_timeout
    from ..store import check_writable
    from .toml import load_tune_file

    spec = load_tune_file(args.file)
    budget = _positive(args.budget, "budget")
    workers = _positive(args.workers, "workers")
    report = Path(args.report) if args.report else None
    if report is not None and report.is_dir():
        raise ConfigError("report", f"{str(report)!r} is a directory; give a file path such as tune.html")
    lock_timeout = _lock_timeout(args.lock_timeout)
    db = args.db or f"data/{spec.name}.duckdb"
    check_writable(db)
    wall = time.perf_counter()
    try:
        result = spec.run(db, executor=workers, budget=budget, progress=not args.no_progress, force=args.force, lock_timeout=lock_timeout)
    except KeyboardInterrupt:
        print(f"notifsim: interrupted; the finished trials are in {db}; run the same command again to continue the search", file=sys.stderr)
        return 130
    wall = time.perf_counter() - wall
    print(f"notifsim tune: {spec.name!r}" + (f" ({spec.description})" if spec.description else "") + f", {wall:.1f} s")
    print(result.text())
    if report is not None:
        from ..report import write_report

        written = write_report(db, report, run_ids=result.run_ids(), baseline=result.base.name)
        print(f"wrote the report to {written} (open it in a browser)")
    return 0
