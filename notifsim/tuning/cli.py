"""``notifsim tune TUNE.toml --db FILE``: run (or continue) a policy search and print what it found."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from ..cli_options import EXIT_INTERRUPTED, HelpFormatter, add_write_options, default_db, parse_lock_timeout, positive_int, report_path


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
        formatter_class=HelpFormatter,
    )
    tune.add_argument("file", help="tune TOML file (see docs/tuning.md), e.g. data/experiments/tune-4h-outage.toml")
    add_write_options(tune, None, "DuckDB file to add the runs to (default: data/<tune name>.duckdb); the study goes beside it")
    tune.add_argument("--budget", default=None, help="trials in all, overriding the file's (a re-run continues up to it)")
    tune.add_argument("--workers", default=None, help="local worker processes (default: one per core; 1 runs in this process)")
    tune.add_argument("--report", default=None, help="also write an HTML report to this file: the search, and the runs of the best policy and the presets")
    tune.add_argument("--no-progress", action="store_true", help="no progress bar")
    tune.set_defaults(func=cmd_tune)
    return tune


def cmd_tune(args: argparse.Namespace) -> int:
    """Run the tune file into the database, print the result, optionally write the report."""
    from ..store import check_writable
    from .toml import load_tune_file

    spec = load_tune_file(args.file)
    budget = positive_int(args.budget, "budget")
    workers = positive_int(args.workers, "workers")
    report = report_path(args.report)
    lock_timeout = parse_lock_timeout(args.lock_timeout)
    db = default_db(args.db, spec.name)
    check_writable(db)
    wall = time.perf_counter()
    try:
        result = spec.run(db, executor=workers, budget=budget, progress=not args.no_progress, force=args.force, lock_timeout=lock_timeout)
    except KeyboardInterrupt:
        print(f"notifsim: interrupted; the finished trials are in {db}; run the same command again to continue the search", file=sys.stderr)
        return EXIT_INTERRUPTED
    wall = time.perf_counter() - wall
    args.writes_to, args.written = db, result.run_ids()
    print(f"notifsim tune: {spec.name!r}" + (f" ({spec.description})" if spec.description else "") + f", {wall:.1f} s")
    print(result.text())
    if report is not None:
        from ..report import write_report

        written = write_report(db, report, run_ids=result.run_ids(), baseline=result.base.name)
        print(f"wrote the report to {written} (open it in a browser)")
    return 0
