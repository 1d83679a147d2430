"""Command line: ``notifsim run``, ``demo``, ``sweep``, ``report`` and ``load``.

One error path (:func:`main`, docs/robustness.md): a mistake in the input or
the environment prints one line (``notifsim: error: <field>: ...``) and exits
2 with nothing written; a run that could not be written is saved as Parquet
and exits 3; Ctrl-C prints one line saying what was written and exits 130;
a closed output pipe ends quietly (141); anything else is a bug: a line
saying so, the traceback, exit 70.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

from ._version import __version__
from .budget import check_horizon, check_memory, check_seed
from .cli_options import (
    EXIT_BAD_INPUT,
    EXIT_BUG,
    EXIT_INTERRUPTED,
    EXIT_NOT_WRITTEN,
    EXIT_PIPE,
    HelpFormatter,
    add_write_options,
    default_db,
    parse_lock_timeout,
    positive_int,
    report_path,
)
from .cli_text import channel_table, fmt, print_run, summary_table, text_table
from .dbfile import LOCK_TIMEOUT_S, InterruptedAfterWrite
from .errors import ConfigError, NotifsimWarning
from .policy import DEFAULT_BASE, Policy
from .run import simulate
from .scenario import Scenario
from .store import check_writable
from .timeutil import parse_duration
from .tomlfile import read_toml
from .unwritten import InterruptedRunsSaved, RunNotWrittenError, load_parquet, store_runs

DEFAULT_DB = "data/notifsim.duckdb"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2
        raise ConfigError("arguments", message)


def _scenario(value: str) -> Scenario:
    if value.endswith(".toml") or Path(value).is_file():
        return Scenario.from_toml(value)
    return Scenario.preset(value)


def _policy(value: str) -> Policy:
    if value.endswith(".toml") or Path(value).is_file():
        data = read_toml(value, "policy")
        policy = Policy.from_dict(data)
        if "preset" not in data:
            _note(f"policy file {value!r} has no 'preset =': it starts from {DEFAULT_BASE} (certctl as built)")
        return policy
    return Policy.preset(value)


def _note(message: str) -> None:
    print(f"notifsim: note: {message}", file=sys.stderr)


def _seed(value: str) -> int:
    try:
        seed = int(value)
    except ValueError:
        raise ConfigError("seed", f"must be an integer >= 0 and at most 2**63 - 1; got {value!r}") from None
    return check_seed(seed)


def cmd_run(args: argparse.Namespace) -> None:
    scenario = _scenario(args.scenario)
    policy = _policy(args.policy)
    seed = _seed(args.seed)
    horizon = parse_duration(args.horizon, "horizon")
    lock_timeout = parse_lock_timeout(args.lock_timeout)
    args.writes_to = args.db
    result = simulate(
        scenario,
        policy,
        seed=seed,
        horizon=horizon,
        db=args.db,
        run_name=args.run_name,
        initial_rows=args.initial_rows,
        force=args.force,
        lock_timeout=lock_timeout,
    )
    args.written = [result.run_id] if args.db else []
    print_run(result, args.db)
    if not args.db:
        print(f"nothing was stored (run {result.run_id} lives only in this output); add --db FILE to keep the run")


def cmd_demo(args: argparse.Namespace) -> None:
    scenario = _scenario(args.scenario)
    seed = _seed(args.seed)
    horizon = parse_duration(args.horizon, "horizon")
    lock_timeout = parse_lock_timeout(args.lock_timeout)
    check_writable(args.db)
    report = report_path(args.report)
    policies = [Policy.preset(name) for name in ("certctl-asbuilt", "certctl-i005")]
    for policy in policies:  # before anything runs: both runs must fit
        check_memory(scenario, policy, check_horizon(horizon), force=args.force)
    args.writes_to = args.db
    results = [simulate(scenario, policy, seed=seed, horizon=horizon, experiment="demo", force=True) for policy in policies]
    store_runs(args.db, results, lock_timeout=lock_timeout)
    args.written = [r.run_id for r in results]
    print(f"notifsim demo: scenario {scenario.name!r} ({scenario.description or 'no description'})")
    print(f"seed {seed}, {horizon / 86400:g} days from {scenario.start:%Y-%m-%d %H:%M} UTC, both profiles on the same world")
    print()
    print(summary_table(results))
    print()
    print("Per channel (stranded = failed with no retry scheduled; dead = in the dead-letter queue; ghost = marked sent, never delivered):")
    print(channel_table(results, scenario))
    print()
    asbuilt = results[0].summary_by_channel()
    if "Email" in asbuilt.index:
        email = results[0].notifications
        email = email[(email["channel"] == "Email") & (email["origin"] == "created")]
        delivered = email["deliveries"] > 0
        looks_failed = (email["status"] == "failed") & delivered
        print(
            f"Email as built: {100 * delivered.mean():.1f} % of alerts reached the inbox, yet "
            f"{100 * looks_failed.sum() / max(delivered.sum(), 1):.1f} % of those are recorded failed (SMTP QUIT ordering defect)."
        )
    print("As built, a failed first send is never retried: no row ever reaches the dead-letter queue.")
    print(f"wrote {len(results)} runs ({', '.join(r.run_id for r in results)}) to {args.db}")
    if report is not None:
        from .report import write_report

        write_report(args.db, report, run_ids=[r.run_id for r in results], title=f"notifsim demo: scenario {scenario.name}, seed {seed}")
        print(f"wrote the report to {report} (open it in a browser)")


def cmd_report(args: argparse.Namespace) -> None:
    from .report import write_report
    from .store import ResultsFile

    ResultsFile(args.db).close()  # one clear error for a missing or foreign file
    out = report_path(args.out if args.out is not None else str(Path(args.db).with_suffix(".html")), "out")
    level = _level(args.level)
    written = write_report(args.db, out, experiment=args.experiment, level=level, baseline=args.baseline, title=args.title)
    print(f"wrote the report to {written} (open it in a browser)")


def _level(value: str) -> float:
    try:
        level = float(value)
    except ValueError:
        raise ConfigError("level", f"must be a number strictly between 0 and 1, such as 0.95; got {value!r}") from None
    if not 0 < level < 1:
        raise ConfigError("level", f"must be a number strictly between 0 and 1, such as 0.95; got {value!r}")
    return level


def _span(seconds: float) -> str:
    """A duration in its largest whole unit: ``7 days``, ``1 day``, ``12 h``, ``90 min``, ``45 s``."""
    if seconds % 86400 == 0:
        days = seconds / 86400
        return f"{days:g} day{'s' if days != 1 else ''}"
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _dask_client(address: str):
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("dask", "needs Dask: pip install 'notifsim[dask]'") from None
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError("dask", f"cannot connect to a Dask scheduler at {address!r}: {reason}") from None


def _sweep_table(db: str, experiment: str, labels: list[str]) -> str:
    from .experiments import configuration_means, run_metrics

    means = configuration_means(run_metrics(db, experiment), order=labels)
    rows = [
        [
            str(label),
            f"{int(m['runs']):,}",
            fmt(m["delivery_rate"], "rate"),
            fmt(m["undelivered_rate"], "rate"),
            fmt(m["dead_letter_rate"], "rate"),
            fmt(m["attempts_per_notification"], "ratio"),
        ]
        for label, m in means.iterrows()
    ]
    return text_table(["configuration", "runs", "delivered", "undelivered", "dead-lettered", "Send calls per notification"], rows)


def cmd_sweep(args: argparse.Namespace) -> int:
    import time

    from .experiments import describe_failures, load_experiment

    experiment = load_experiment(args.experiment)
    workers = positive_int(args.workers, "workers")
    if workers is not None and args.dask:
        raise ConfigError("arguments", "give --workers or --dask, not both")
    db = default_db(args.db, experiment.name)
    lock_timeout = parse_lock_timeout(args.lock_timeout)
    report = report_path(args.report)
    check_writable(db)
    client = _dask_client(args.dask) if args.dask else None
    wall = time.perf_counter()
    try:
        executor = client if client is not None else workers
        outcome = experiment.run(db, executor=executor, progress=not args.no_progress, force=args.force, lock_timeout=lock_timeout)
    except KeyboardInterrupt:
        print(f"notifsim: interrupted; the runs that finished are in {db}; run the same command again to complete the sweep", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if client is not None:
            client.close()
    wall = time.perf_counter() - wall
    args.writes_to, args.written = db, outcome.run_ids  # in the file from here on (those not failed)
    print(f"notifsim sweep: experiment {experiment.name!r}" + (f" ({experiment.description})" if experiment.description else ""))
    print(
        f"{len(experiment.configs)} configurations × {experiment.replications} replications = {experiment.runs:,} runs, "
        f"root seed {experiment.seed}, {_span(experiment.horizon_s)} each"
    )
    print(f"wrote {outcome.written:,} runs in {wall:.1f} s ({outcome.skipped:,} were already in {db})")
    print()
    print("Means over replications (rates of the notifications created in each run):")
    print(_sweep_table(db, experiment.name, [c.label for c in experiment.configs]))
    if outcome.failures:
        print()
        print(f"{len(outcome.failures)} runs failed (every other run was written; run the same command again to retry them):")
        print("\n".join(describe_failures(outcome.failures)))
    if report is not None:
        from .report import write_report

        written = write_report(db, report, experiment=experiment.name, title=f"notifsim sweep: experiment {experiment.name}")
        print(f"wrote the report to {written} (open it in a browser)")
    return 1 if outcome.failures else 0


def cmd_load(args: argparse.Namespace) -> None:
    lock_timeout = parse_lock_timeout(args.lock_timeout)
    run_ids = load_parquet(args.db, args.folder, lock_timeout=lock_timeout)
    print(f"added {len(run_ids)} run{'s' if len(run_ids) != 1 else ''} ({', '.join(run_ids)}) to {args.db} and removed {args.folder}")


def _sub(sub, name: str, help: str, description: str, examples: str):
    return sub.add_parser(name, help=help, description=description, epilog="examples:\n" + examples, formatter_class=HelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="notifsim",
        description="Simulate certctl's notification retry and dead-letter machinery.",
        epilog="examples:\n  notifsim demo\n  notifsim run --policy certctl-i005 --horizon 1d --db data/runs.duckdb\n"
        "exit codes: 0 done, 1 some sweep runs failed, 2 bad input, 3 runs saved as Parquet instead of written, "
        "70 internal error (a bug), 130 interrupted, 141 output pipe closed",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"notifsim {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    run = _sub(
        sub,
        "run",
        "run one scenario under one policy",
        "Run one scenario under one policy and print its metrics; with --db the run is stored.",
        "  notifsim run --scenario provider-outage --policy certctl-i005 --horizon 2d --db data/runs.duckdb\n"
        "  notifsim run --scenario my-world.toml --policy my-policy.toml --seed 7 --horizon 12h",
    )
    run.add_argument("--scenario", default="default", help=f"preset name ({', '.join(Scenario.presets())}) or a TOML file")
    run.add_argument("--policy", default="certctl-asbuilt", help=f"preset name ({', '.join(Policy.presets())}) or a TOML file")
    run.add_argument("--seed", default="0", help="root random seed (integer in [0, 2**63 - 1])")
    run.add_argument("--horizon", default="7d", help="simulated time, e.g. 90s, 15m, 2h, 7d (at most 3650d)")
    add_write_options(run, None, "append the run to this DuckDB file (without it nothing is stored)")
    run.add_argument("--run-name", default=None, help="run_id to store the run under (default: a fresh unique id)")
    run.add_argument("--initial-rows", default=None, help="start from these rows: certctl's list-API JSON (a backlog)")
    run.set_defaults(func=cmd_run)
    demo = _sub(
        sub,
        "demo",
        "the default scenario under certctl as built and as designed, side by side",
        "Run one scenario under certctl-asbuilt and certctl-i005 on the same seed, store both runs and compare them.",
        "  notifsim demo\n  notifsim demo --horizon 1d --db /tmp/demo.duckdb --report /tmp/demo.html",
    )
    demo.add_argument("--scenario", default="default", help="preset name or TOML file")
    demo.add_argument("--seed", default="1", help="root random seed")
    demo.add_argument("--horizon", default="7d", help="simulated time")
    add_write_options(demo, DEFAULT_DB, "DuckDB file to append both runs to")
    demo.add_argument("--report", default=None, help="also write an HTML report of the two runs to this file")
    demo.set_defaults(func=cmd_demo)
    sweep = _sub(
        sub,
        "sweep",
        "run an experiment file: configurations × replications, in parallel, resumable",
        "Run every configuration of an experiment file × its replications into one DuckDB file (see docs/experiments.md).",
        "  notifsim sweep data/experiments/outage-tuning.toml --workers 2\n  notifsim sweep my-experiment.toml --db data/mine.duckdb --no-progress",
    )
    sweep.add_argument("experiment", help="experiment TOML file (see docs/experiments.md), e.g. data/experiments/outage-tuning.toml")
    add_write_options(sweep, None, "DuckDB file to add the runs to (default: data/<experiment name>.duckdb)")
    sweep.add_argument("--workers", default=None, help="local worker processes (default: one per core; 1 runs in this process)")
    sweep.add_argument("--dask", default=None, metavar="ADDRESS", help="run on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786)")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    sweep.add_argument("--report", default=None, help="also write an HTML report of the experiment to this file")
    sweep.set_defaults(func=cmd_sweep)
    from .tuning.cli import add_parser as add_tune_parser

    add_tune_parser(sub)
    report = _sub(
        sub,
        "report",
        "write a self-contained HTML report of a results file",
        "Write one HTML file (no network, no JavaScript) with the runs' metrics, intervals and figures.",
        "  notifsim report data/notifsim.duckdb\n  notifsim report data/outage-tuning.duckdb -o /tmp/outage.html --level 0.9",
    )
    report.add_argument("db", help="the DuckDB results file")
    report.add_argument("-o", "--out", default=None, help="the HTML file to write (default: the database's path with .html)")
    report.add_argument("--experiment", default=None, help="report only this experiment's runs")
    report.add_argument("--level", default="0.95", help="confidence level of the intervals")
    report.add_argument("--baseline", default=None, help="policy to take paired differences against (default: certctl-i005 if present)")
    report.add_argument("--title", default=None, help="the report's title")
    report.set_defaults(func=cmd_report)
    load = _sub(
        sub,
        "load",
        "add runs saved as Parquet (when the database was busy) to the database",
        "Add the runs saved in FOLDER (one run's folder, or the whole <db>.unwritten folder) in one transaction, then delete FOLDER.",
        "  notifsim load data/notifsim.duckdb data/notifsim.duckdb.unwritten",
    )
    load.add_argument("db", help="the DuckDB results file to add the runs to")
    load.add_argument("folder", help="the folder the runs were saved in")
    load.add_argument("--lock-timeout", default=str(LOCK_TIMEOUT_S), metavar="SECONDS", help="how long to wait while another process holds the database")
    load.set_defaults(func=cmd_load)
    return parser


def _interrupted(args: argparse.Namespace | None, exc: KeyboardInterrupt) -> str:
    """What Ctrl-C leaves behind, in one line."""
    db = getattr(args, "writes_to", None)
    written = getattr(args, "written", [])
    if isinstance(exc, InterruptedRunsSaved):
        return f"notifsim: {exc}"
    if isinstance(exc, InterruptedAfterWrite):
        return f"notifsim: interrupted; the runs had just been written to {db}"
    if written:
        return f"notifsim: interrupted; {_runs_named(written)} had been written to {db}"
    if db:
        return f"notifsim: interrupted; no run was written ({db} is unchanged)"
    return "notifsim: interrupted; nothing was stored"


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    text = " ".join(str(message).split())
    print(f"notifsim: warning: {text}", file=sys.stderr)


def _pipe_closed() -> int:
    """The reader of stdout went away (``| head``): stop quietly, with no flush error at exit."""
    import os

    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return EXIT_PIPE


@contextlib.contextmanager
def _library_messages() -> Iterator[None]:
    """Show what the library says on the ``notifsim`` logger (such as waiting for a busy database) as
    ``notifsim: ...`` lines on stderr, for the duration of one command."""
    import logging

    log = logging.getLogger("notifsim")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("notifsim: %(message)s"))
    propagate = log.propagate
    log.addHandler(handler)
    log.propagate = False
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.propagate = propagate


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (see :data:`EXIT_BAD_INPUT` and the others)."""
    import traceback
    import warnings

    args: argparse.Namespace | None = None
    with warnings.catch_warnings(), _library_messages():
        warnings.simplefilter("always", NotifsimWarning)
        warnings.showwarning = _show_warning
        try:
            parser = build_parser()
            args = parser.parse_args(argv)
            if not getattr(args, "command", None):
                raise ConfigError("command", "choose one of: run, demo, sweep, tune, report, load (see notifsim --help)")
            code = args.func(args)
            sys.stdout.flush()
        except ConfigError as exc:
            print(f"notifsim: error: {_one_line(str(exc))}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except RunNotWrittenError as exc:
            print(f"notifsim: error: {_one_line(str(exc))}", file=sys.stderr)
            return EXIT_NOT_WRITTEN
        except KeyboardInterrupt as exc:
            print(_interrupted(args, exc), file=sys.stderr)
            return EXIT_INTERRUPTED
        except BrokenPipeError:
            return _pipe_closed()
        except MemoryError:
            print("notifsim: error: memory: the run ran out of memory; shorten the horizon or lower the workload", file=sys.stderr)
            return EXIT_BAD_INPUT
        except OSError as exc:  # the environment: a full disk, a vanished folder, a permission
            where = f" {exc.filename!r}" if exc.filename else ""
            print(f"notifsim: error: system:{where} {exc.strerror or exc}{_stored_before(args)}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except Exception:
            print("notifsim: internal error — this is a bug; please report it with the traceback below", file=sys.stderr)
            traceback.print_exc()
            return EXIT_BUG
    return code or 0


def _stored_before(args: argparse.Namespace | None) -> str:
    """What a command had stored before it failed (e.g. printing its output, or writing its report, on a full
    disk), as a note for its error line; empty when it had stored nothing."""
    written = getattr(args, "written", None)
    if not written:
        return ""
    return f" ({_runs_named(written)} were stored in {args.writes_to} before this)"  # type: ignore[union-attr]


def _runs_named(written: list[str]) -> str:
    """The runs of ``written`` by id when there are a few, else how many."""
    return f"the runs {', '.join(written)}" if len(written) <= 3 else f"{len(written):,} runs"


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
