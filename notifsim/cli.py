"""Command line: ``notifsim run`` and ``notifsim demo``.

Errors a user can cause print one line (``notifsim: error: <field>: ...``)
and exit with code 2; nothing is written.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import NoReturn

from .errors import ConfigError
from .policy import Policy
from .result import Result
from .run import simulate
from .scenario import Scenario
from .store import check_writable, write_runs
from .timeutil import parse_duration

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
        import tomllib

        try:
            data = tomllib.loads(Path(value).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError("policy", f"cannot read {value!r}: {exc}") from exc
        return Policy.from_dict(data)
    return Policy.preset(value)


def _seed(value: str) -> int:
    try:
        seed = int(value)
    except ValueError:
        raise ConfigError("seed", f"must be an integer >= 0; got {value!r}") from None
    if seed < 0:
        raise ConfigError("seed", f"must be an integer >= 0; got {value!r}")
    return seed


def _fmt(value, kind: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if kind == "rate":
        return f"{100 * value:.2f} %"
    if kind == "seconds":
        if value < 120:
            return f"{value:.1f} s"
        if value < 7200:
            return f"{value / 60:.1f} min"
        return f"{value / 3600:.1f} h"
    return f"{int(value):,}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))) for row in rows)
    return "\n".join(lines)


_SUMMARY_ROWS = [
    ("created", "created", "count"),
    ("delivered", "delivered", "count"),
    ("delivery rate", "delivery_rate", "rate"),
    ("stranded (failed, never retried)", "stranded", "count"),
    ("stranded rate", "stranded_rate", "rate"),
    ("dead-lettered", "dead_lettered", "count"),
    ("dead-letter rate", "dead_letter_rate", "rate"),
    ("ghost-sent (sent, never delivered)", "ghost_sent", "count"),
    ("duplicated (delivered twice+)", "duplicated", "count"),
    ("still retrying at horizon", "retrying", "count"),
    ("p50 time to delivery", "time_to_delivery_p50_s", "seconds"),
    ("p95 time to delivery", "time_to_delivery_p95_s", "seconds"),
    ("Send calls per notification", "attempts_per_notification", "ratio"),
]


def _summary_table(results: list[Result]) -> str:
    summaries = [r.summary() for r in results]
    rows = []
    for label, key, kind in _SUMMARY_ROWS:
        if kind == "ratio":
            rows.append([label] + [f"{s[key]:.2f}" for s in summaries])
        else:
            rows.append([label] + [_fmt(s[key], kind) for s in summaries])
    return _table(["metric"] + [r.policy for r in results], rows)


def _channel_table(results: list[Result], scenario: Scenario) -> str:
    per = [r.summary_by_channel() for r in results]
    channels = sorted(set().union(*(p.index for p in per)))
    rows = []
    for ch in channels:
        model = scenario.channels.get(ch)
        p = getattr(model, "p_fail", None)
        cells = [ch, "—" if p is None else f"{100 * p:g} %"]
        for frame in per:
            s = frame.loc[ch] if ch in frame.index else None
            cells += [_fmt(s["stranded_rate"], "rate"), _fmt(s["dead_letter_rate"], "rate"), _fmt(s["ghost_rate"], "rate")] if s is not None else ["—"] * 3
        cells.append("—" if p is None else f"{100 * p**5:.3f} %")
        rows.append(cells)
    header = ["channel", "p_fail"]
    for r in results:
        short = r.policy.replace("certctl-", "")
        header += [f"{short} stranded", f"{short} dead", f"{short} ghost"]
    header.append("p^5")
    return _table(header, rows)


def _print_run(result: Result, db: str | None) -> None:
    s = result.summary()
    print(f"{result.scenario} under {result.policy}, seed {result.seed}, {result.horizon_s / 86400:g} days (run {result.run_id})")
    print()
    print(_summary_table([result]))
    print()
    by_channel = result.summary_by_channel()
    if not by_channel.empty:
        cols = ["created", "delivery_rate", "stranded_rate", "dead_letter_rate", "ghost_rate", "duplicate_rate"]
        rows = [[ch] + [_fmt(by_channel.loc[ch, c], "count" if c == "created" else "rate") for c in cols] for ch in by_channel.index]
        print(_table(["channel", "created", "delivered", "stranded", "dead", "ghost", "duplicated"], rows))
        print()
    if db:
        print(f"wrote run {result.run_id} ({len(result.notifications):,} notifications, {int(s['attempts']):,} Send calls) to {db}")


def cmd_run(args: argparse.Namespace) -> None:
    scenario = _scenario(args.scenario)
    policy = _policy(args.policy)
    seed = _seed(args.seed)
    horizon = parse_duration(args.horizon, "horizon")
    if args.db:
        check_writable(args.db)
    result = simulate(scenario, policy, seed=seed, horizon=horizon, db=args.db, run_name=args.run_name)
    _print_run(result, args.db)


def cmd_demo(args: argparse.Namespace) -> None:
    scenario = _scenario(args.scenario)
    seed = _seed(args.seed)
    horizon = parse_duration(args.horizon, "horizon")
    check_writable(args.db)
    results = [simulate(scenario, Policy.preset(name), seed=seed, horizon=horizon, experiment="demo") for name in ("certctl-asbuilt", "certctl-i005")]
    write_runs(args.db, results)
    print(f"notifsim demo: scenario {scenario.name!r} ({scenario.description or 'no description'})")
    print(f"seed {seed}, {horizon / 86400:g} days from {scenario.start:%Y-%m-%d %H:%M} UTC, both profiles on the same world")
    print()
    print(_summary_table(results))
    print()
    print("Per channel (stranded = failed with no retry scheduled; dead = in the dead-letter queue; ghost = marked sent, never delivered):")
    print(_channel_table(results, scenario))
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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="notifsim", description="Simulate certctl's notification retry and dead-letter machinery.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    run = sub.add_parser("run", help="run one scenario under one policy")
    run.add_argument("--scenario", default="default", help=f"preset name ({', '.join(Scenario.presets())}) or a TOML file")
    run.add_argument("--policy", default="certctl-asbuilt", help=f"preset name ({', '.join(Policy.presets())}) or a TOML file")
    run.add_argument("--seed", default="0", help="root random seed (integer >= 0)")
    run.add_argument("--horizon", default="7d", help="simulated time, e.g. 90s, 15m, 2h, 7d")
    run.add_argument("--db", default=None, help="append the run to this DuckDB file")
    run.add_argument("--run-name", default=None, help="run_id to store the run under")
    run.set_defaults(func=cmd_run)
    demo = sub.add_parser("demo", help="the default scenario under certctl as built and as designed, side by side")
    demo.add_argument("--scenario", default="default", help="preset name or TOML file")
    demo.add_argument("--seed", default="1", help="root random seed")
    demo.add_argument("--horizon", default="7d", help="simulated time")
    demo.add_argument("--db", default=DEFAULT_DB, help="DuckDB file to append both runs to")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            raise ConfigError("command", "choose one of: run, demo (see notifsim --help)")
        args.func(args)
    except ConfigError as exc:
        print(f"notifsim: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
