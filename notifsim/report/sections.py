"""The report's sections, each built from a :class:`~notifsim.report.study.Study` as escaped HTML."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from .. import analysis, display
from ..errors import ConfigError
from ..plots.comparisons import naming_columns
from ..store import ResultsFile
from . import figures, html
from .study import Study

#: The metrics of the headline table, in order.
HEADLINE = (
    "undelivered_rate",
    "delivered_within_rate",
    "dead_letter_rate",
    "stranded_rate",
    "duplicate_rate",
    "time_to_delivery_p95_s",
    "attempts_per_notification",
    "peak_send_rate_per_min",
)

#: The metrics of the paired-differences table.
PAIRED = ("undelivered_rate", "dead_letter_rate", "attempts_per_notification")


def shown(study: Study) -> list[str]:
    """The configuration columns worth a table column: those whose values differ and say something the ones before
    do not (a label that only repeats the policy is left out); the policy at least."""
    order = [c for c in study.by if c != "label"] + ["label"]  # a swept setting before the label that usually spells it out
    return naming_columns(study.metrics, order, fallback="policy")


def _cell(study: Study, column: str, value: object) -> str:
    if column == study.knob:
        return display.fmt_setting(float(value) * study.knob_scale)  # type: ignore[arg-type]
    return str(value)


def _heading(study: Study, column: str) -> str:
    return study.knob_label if column == study.knob else column


def runs(study: Study) -> str:
    """Runs and configurations: one row per configuration, then every run and the settings that differ."""
    columns = shown(study)
    metrics = study.metrics
    rows = []
    for key, part in metrics.groupby(study.by, sort=False, dropna=False):
        values = dict(zip(study.by, key if isinstance(key, tuple) else (key,)))
        seeds = sorted(part["seed"].unique().tolist())
        reps = sorted(part["replication"].unique().tolist())
        rows.append(
            [_cell(study, c, values[c]) for c in columns]
            + [len(part), _span(reps), _span(seeds), display.fmt(part["horizon_s"].iloc[0], "seconds"), display.fmt(part["created"].mean(), "count")]
        )
    header = [_heading(study, c) for c in columns] + ["runs", "replication numbers", "seeds", "horizon", "created per run"]
    body = html.table(header, rows, numeric=[False] * len(columns) + [True] * 5)
    every = [
        [
            r.run_id,
            r.experiment,
            r.label,
            r.scenario,
            r.policy,
            r.replication,
            r.seed,
            display.fmt(r.horizon_s, "seconds"),
            f"{r.created:,}",
            f"{study.backlog[r.run_id]:,}",
        ]
        for r in metrics.itertuples()
    ]
    body += "<details><summary>Every run ({:,})</summary>{}</details>".format(
        len(metrics),
        html.table(
            ["run_id", "experiment", "label", "scenario", "policy", "replication", "seed", "horizon", "created", "backlog rows"],
            every,
            numeric=[False] * 5 + [True] * 5,
        ),
    )
    if len(study.settings.columns):
        settings = [[name, ", ".join(_values(study.settings[name]))] for name in study.settings.columns]
        body += "<details><summary>Settings that differ between runs ({:,})</summary>{}</details>".format(
            len(settings), html.table(["setting", "values"], settings)
        )
    for note in study.notes:
        body += html.paragraph(note)
    return body


def _span(values: list) -> str:
    if not values:
        return "—"
    if len(values) > 3 and values == list(range(values[0], values[0] + len(values))):
        return f"{values[0]}–{values[-1]}"
    return ", ".join(str(v) for v in values[:8]) + (" …" if len(values) > 8 else "")


def _values(column: pd.Series, limit: int = 12) -> list[str]:
    distinct = list(dict.fromkeys(column.map(str)))
    return distinct[:limit] + ([f"… ({len(distinct) - limit} more)"] if len(distinct) > limit else [])


def headline(study: Study) -> str:
    """Headline metrics per configuration with intervals, and paired differences against the baseline."""
    columns = shown(study)
    aggregated = study.aggregated
    rows = []
    for key, part in aggregated.groupby(level=study.by, sort=False, dropna=False):
        values = dict(zip(study.by, key if isinstance(key, tuple) else (key,)))
        stats = part.droplevel(study.by)
        n = int(stats.loc["undelivered_rate", "n"]) if "undelivered_rate" in stats.index else 0
        cells = [
            display.fmt_interval(m, stats.loc[m, "mean"], stats.loc[m, "ci_low"], stats.loc[m, "ci_high"], clip=True) if m in stats.index else "—"
            for m in HEADLINE
        ]
        rows.append([_cell(study, c, values[c]) for c in columns] + [n, *cells])
    header = [_heading(study, c) for c in columns] + ["runs"] + [display.label(m) for m in HEADLINE]
    body = html.paragraph(
        f"Mean over replications [{study.level:.0%} interval, clipped to the metric's range]. Rates are shares of the notifications created in each run."
    )
    body += html.table(header, rows, numeric=[False] * len(columns) + [True] * (1 + len(HEADLINE)))
    body += "<h3>Against the baseline</h3>"
    if study.paired is None:
        return body + html.paragraph(study.paired_note)
    paired = study.paired
    keys = [c for c in paired.index.names if c != "metric"]
    rows = []
    for key, part in paired.groupby(level=keys, sort=False, dropna=False):
        values = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        stats = part.droplevel(keys)
        n = int(stats["n"].max()) if len(stats) else 0
        cells = [display.fmt_interval(m, *stats.loc[m, ["difference", "ci_low", "ci_high"]]) if m in stats.index else "—" for m in PAIRED]
        rows.append([_cell(study, c, values[c]) for c in keys if c in columns or c == "policy"] + [n, *cells])
    names = [c for c in keys if c in columns or c == "policy"]
    header = [_heading(study, c) for c in names] + ["pairs"] + [f"{display.label(m)}: difference" for m in PAIRED]
    body += html.paragraph(
        f"Each policy minus {study.baseline} on the same replication and seed (common random numbers), mean difference "
        f"[{study.level:.0%} interval]; rates differ in percentage points. A negative undelivered difference means fewer alerts lost than {study.baseline}."
    )
    return body + html.table(header, rows, numeric=[False] * len(names) + [True] * (1 + len(PAIRED)))


def _guarded(build: Callable[[], list[str]], what: str) -> list[str]:
    """A figure builder's output, or a note saying why the figure could not be drawn from these runs."""
    try:
        return build()
    except ConfigError as exc:
        return [html.paragraph(f"The {what} cannot be drawn from these runs: {exc}.")]


def plots(study: Study) -> str:
    """The figures, each with its caption."""
    parts: list[str] = []
    with ResultsFile(study.path) as stored:
        parts += ["<h3>Rates</h3>", *_guarded(lambda: figures.rates(study), "rate figure")]
        parts += _guarded(lambda: figures.paired(study), "paired-difference figure")
        frontier = _guarded(lambda: figures.frontier(study), "policy frontier")  # none for a single policy
        parts += ["<h3>Cost against loss</h3>", *frontier] if frontier else []
        parts += ["<h3>Time to delivery</h3>", *_guarded(lambda: figures.delivery(study, stored), "delivery curve")]
        parts += ["<h3>The table over time</h3>", *_guarded(lambda: figures.timelines(study, stored), "status timeline")]
        parts += ["<h3>Load on the notifiers</h3>", *_guarded(lambda: figures.load(study, stored), "load figure")]
    return "".join(parts)


def requeues(study: Study) -> str:
    """The requeue funnel per configuration: what operators' requeues delivered, re-killed, stranded or duplicated."""
    stages = list(analysis.FUNNEL)
    columns = shown(study)
    totals = study.funnel.groupby(study.by, sort=False, dropna=False)[stages].sum()
    body = ""
    backlog = int(study.backlog.sum())
    if backlog:
        started = int((study.backlog > 0).sum())
        body += html.paragraph(
            f"{started:,} run(s) started from a backlog of existing rows ({backlog:,} rows in all); they count here, as an operator sees the whole table, "
            "but not in the rates above."
        )
    if not int(totals["requeued"].sum()):
        left = int(totals["left_behind"].sum())
        body += html.paragraph(
            f"No operator requeued anything in these runs. {left:,} notification(s) were dead or stranded at the horizon, waiting for one."
            if left
            else "No operator requeued anything in these runs, and no notification was dead or stranded at the horizon."
        )
        return body
    shares = analysis.funnel_shares(totals)
    rows = []
    for key, row in totals.iterrows():
        values = dict(zip(study.by, key if isinstance(key, tuple) else (key,)))
        share = shares.loc[key]
        rows.append(
            [_cell(study, c, values[c]) for c in columns]
            + [f"{int(row[s]):,}" for s in stages]
            + [display.fmt(share["delivered"], "rate", 1), display.fmt(share["left_behind"], "rate", 1)]
        )
    header = [_heading(study, c) for c in columns] + [s.replace("_", " ") for s in stages] + ["delivered of requeued", "left behind of candidates"]
    body += html.paragraph(
        "Counts over all replications of each configuration. A requeued notification ends delivered (for the first time), duplicated "
        "(delivered again), dead again, stranded again, still pending, ghost-sent or read; left behind are dead or stranded rows no one requeued."
    )
    body += html.table(header, rows, numeric=[False] * len(columns) + [True] * (len(stages) + 2))
    acted = totals[totals["requeued"] > 0]
    acted.index = [" · ".join(_cell(study, c, v) for c, v in zip(study.by, k if isinstance(k, tuple) else (k,)) if c in columns) for k in acted.index]
    return body + "".join(_guarded(lambda: figures.funnel(study, acted.head(figures.MAX_PANELS)), "requeue funnel"))
