"""What the command line prints about runs: plain-text tables of metrics, per channel, backlog rows and requeues."""

from __future__ import annotations

import pandas as pd

from . import analysis
from .display import fmt
from .result import Result
from .scenario import Scenario


def text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))) for row in rows)
    return "\n".join(lines)


_SUMMARY_ROWS = [
    ("created", "created", "count"),
    ("delivered", "delivered", "count"),
    ("delivery rate", "delivery_rate", "rate"),
    ("undelivered rate (any reason)", "undelivered_rate", "rate"),
    ("delivered within 15 min", "delivered_within_rate", "rate"),
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


def summary_table(results: list[Result]) -> str:
    return _metrics_table([r.policy for r in results], [r.summary() for r in results])


def _metrics_table(names: list[str], summaries: list[pd.Series], first: str = "created") -> str:
    """The summary rows side by side, one column per summary; ``first`` names the count of the first row."""
    rows = []
    for label, key, kind in _SUMMARY_ROWS:
        if key == "created":
            label, key = first, ("created" if first == "created" else "notifications")
        rows.append([label] + [fmt(s[key], kind) for s in summaries])
    return text_table(["metric", *names], rows)


def channel_table(results: list[Result], scenario: Scenario) -> str:
    per = [r.summary_by_channel() for r in results]
    channels = sorted(set().union(*(p.index for p in per)))
    rows = []
    for ch in channels:
        model = scenario.channels.get(ch)
        p = getattr(model, "p_fail", None)
        cells = [ch, "—" if p is None else f"{100 * p:g} %"]
        for frame in per:
            s = frame.loc[ch] if ch in frame.index else None
            cells += [fmt(s["stranded_rate"], "rate"), fmt(s["dead_letter_rate"], "rate"), fmt(s["ghost_rate"], "rate")] if s is not None else ["—"] * 3
        cells.append("—" if p is None else f"{100 * p**5:.3f} %")
        rows.append(cells)
    header = ["channel", "p_fail"]
    for r in results:
        short = r.policy.replace("certctl-", "")
        header += [f"{short} stranded", f"{short} dead", f"{short} ghost"]
    header.append("p^5")
    return text_table(header, rows)


def print_run(result: Result, db: str | None) -> None:
    s = result.summary()
    print(f"{result.scenario} under {result.policy}, seed {result.seed}, {fmt(result.horizon_s, 'seconds')} (run {result.run_id})")
    print()
    backlog = _backlog_summary(result)
    if backlog is None:
        print(summary_table([result]))
    else:
        started = int(backlog["notifications"])
        print(f"The run started from {started:,} backlog row{'' if started == 1 else 's'} (initial_rows); the rates of each column are of its own rows.")
        print(_metrics_table(["created during the run", "backlog rows"], [s, backlog], first="rows"))
    print()
    by_channel = result.summary_by_channel()
    if not by_channel.empty:
        cols = ["created", "delivery_rate", "stranded_rate", "dead_letter_rate", "ghost_rate", "duplicate_rate"]
        rows = [[ch] + [fmt(by_channel.loc[ch, c], "count" if c == "created" else "rate") for c in cols] for ch in by_channel.index]
        print(text_table(["channel", "created", "delivered", "stranded", "dead", "ghost", "duplicated"], rows))
        print()
    _print_requeues(result)
    if db:
        print(f"wrote run {result.run_id} ({len(result.notifications):,} notifications, {int(s['attempts']):,} Send calls) to {db}")


def _backlog_summary(result: Result) -> pd.Series | None:
    """The metrics of the rows the run started from (None when it started from an empty table)."""
    notifications = result.notifications
    initial = notifications[notifications["origin"] == "initial"]
    if initial.empty:
        return None
    attempts = result.attempts[result.attempts["notification_id"].isin(initial["id"])]
    return analysis.summarize(initial, attempts, include_initial=True)


#: How the CLI names an operator action and its outcome.
_ACTION_PHRASES = {
    ("requeue", "requeued"): "requeued",
    ("requeue", "refused"): "requeues refused (row sent or read)",
    ("requeue", "error"): "requeues failed (database down)",
    ("requeue", "not_found"): "requeues of unknown ids",
    ("read", "read"): "marked read",
    ("read", "error"): "mark-reads failed (database down)",
    ("read", "not_found"): "mark-reads of unknown ids",
}


def _print_requeues(result: Result) -> None:
    """What the operator did and what its requeues achieved (nothing when no operator acted)."""
    actions = result.requeues
    if actions.empty:
        return
    counts = actions.groupby(["action", "outcome"]).size()
    order = {key: i for i, key in enumerate(_ACTION_PHRASES)}
    done = ", ".join(f"{n:,} {_ACTION_PHRASES.get(key, ' '.join(key))}" for key, n in sorted(counts.items(), key=lambda item: order.get(item[0], len(order))))
    print(f"Operator: {len(actions):,} action{'s' if len(actions) != 1 else ''}: {done}.")
    summary = result.requeue_summary()
    if int(summary["count"].sum()):
        rows = [
            [
                outcome,
                fmt(row["count"], "count"),
                fmt(row["share"], "rate"),
                fmt(row["requeues"], "count"),
                fmt(row["median_time_to_delivery_s"], "seconds"),
            ]
            for outcome, row in summary.iterrows()
            if row["count"]
        ]
        print("What the requeued notifications became by the horizon:")
        print(text_table(["outcome", "notifications", "share", "requeues", "median time to delivery"], rows))
    print()
