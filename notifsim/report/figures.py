"""The report's figures, each drawn on a fresh matplotlib Figure (no pyplot state) and embedded as PNG."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .. import analysis, display, plots
from ..store import ResultsFile
from . import html
from .study import Study

#: Scenarios that get figures of their own (the tables cover all).
MAX_SCENARIOS = 3
#: Configurations drawn as small multiples, at most.
MAX_PANELS = 12
#: Rates drawn against the swept knob or per configuration.
RATES = ("dead_letter_rate", "stranded_rate", "undelivered_rate")


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _at_hardest(study: Study, frame: pd.DataFrame, scenario: str) -> tuple[pd.DataFrame, str]:
    """The rows of ``frame`` at the knob's hardest (largest) value, and a phrase naming that slice of ``scenario``;
    all of them when the scenario has no value of the knob (a setting other scenarios of the file have)."""
    phrase = f"scenario {scenario}"
    if study.knob is None or not frame[study.knob].notna().any():
        return frame, phrase
    top = frame[study.knob].max()
    return frame[frame[study.knob] == top], f"{phrase}, {study.knob_label} = {display.fmt_setting(top * study.knob_scale)}"


def _slices(study: Study) -> Iterator[tuple[str, pd.DataFrame, str]]:
    """(scenario, its runs at the hardest value of the knob, a phrase naming that slice) for the first scenarios."""
    for scenario in study.scenarios[:MAX_SCENARIOS]:
        runs, phrase = _at_hardest(study, study.metrics[study.metrics["scenario"] == scenario], scenario)
        yield scenario, runs, phrase


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _hue(frame: pd.DataFrame, keys: list[str]) -> str:
    """``policy`` when it tells the groups (or the runs' configurations) apart within ``keys``, else ``label``."""
    runs = [c for c in ("replication", "seed") if c in frame.columns]
    return "policy" if not frame.duplicated([*keys, "policy", *runs]).any() else "label"


def rates(study: Study) -> list[str]:
    """Dead-letter, stranded and undelivered rates against the knob (bands) or per configuration (bars)."""
    out = []
    for scenario in study.scenarios[:MAX_SCENARIOS]:
        mine = study.aggregated.xs(scenario, level="scenario", drop_level=False)
        if study.knob is not None:
            groups = mine.xs(RATES[0], level="metric").reset_index()
            hue = _hue(groups, ["experiment", study.knob])
            fig = _figure(11.0, 3.4)
            for ax, metric in zip(fig.subplots(1, 3), RATES):
                keep = mine.reset_index()
                keep = keep[keep["experiment"] == keep["experiment"].iloc[0]].set_index([*study.by, "metric"])
                plots.metric_vs_knob(
                    keep, x=study.knob, metric=metric, ax=ax, hue=hue, x_scale=study.knob_scale, x_label=study.knob_label, title=display.label(metric)
                )
                if metric != RATES[-1] and ax.get_legend() is not None:
                    ax.get_legend().remove()
            caption = f"Scenario {scenario}: mean rates against {study.knob_label}, with {study.level:.0%} intervals over replications (bands)."
        else:
            n = len(mine.xs(RATES[0], level="metric"))
            fig = _figure(11.0, 0.9 + 0.3 * n)
            for ax, metric in zip(fig.subplots(1, 3, sharey=True), RATES):
                plots.metric_by_configuration(mine, metric, ax=ax, title=display.label(metric))
            caption = f"Scenario {scenario}: mean rates per configuration, with {study.level:.0%} intervals over replications."
        out.append(html.figure(fig, f"rates, scenario {scenario}", caption))
    return out


def frontier(study: Study) -> list[str]:
    """Undelivered rate against Send calls per notification, per scenario at the hardest knob value."""
    out = []
    for _, runs, phrase in _slices(study):
        if runs["policy"].nunique() < 2 and runs["label"].nunique() < 2:
            continue
        hue = _hue(runs, ["experiment"])
        aggregated = analysis.aggregate(runs, by=[hue], level=study.level, columns=["attempts_per_notification", "undelivered_rate"])
        fig = _figure(8.0, 4.6)
        plots.policy_frontier(aggregated, ax=fig.subplots(), hue=hue, title="Cost against loss")
        out.append(
            html.figure(
                fig,
                f"policy frontier, {phrase}",
                f"{_first_upper(phrase)}: undelivered rate against Send calls per notification; stars mark the certctl profiles, "
                "the dashed line joins the configurations no other beats on both.",
            )
        )
    return out


def delivery(study: Study, stored: ResultsFile) -> list[str]:
    """Time to delivery as the share of all notifications delivered within t."""
    out = []
    for _, runs, phrase in _slices(study):
        hue = _hue(runs, ["experiment"])
        times = stored.delivery_times(run_ids=runs["run_id"].tolist()).merge(runs[["run_id", hue]], on="run_id")
        if times.empty:
            continue
        fig = _figure(8.0, 3.8)
        plots.delivery_cdf(analysis.delivery_cdf(times, by=hue), ax=fig.subplots(), hue=hue, title="Time to delivery")
        out.append(
            html.figure(
                fig,
                f"time to delivery, {phrase}",
                f"{_first_upper(phrase)}: share of created notifications delivered within t, all replications pooled; "
                "undelivered ones count as never, so each curve levels off at its delivery rate.",
            )
        )
    return out


def _grid(count: int, width: float = 11.0, height: float = 2.6) -> tuple[Figure, np.ndarray]:
    columns = 2 if count > 1 else 1
    rows = math.ceil(count / columns)
    fig = _figure(width, height * rows)
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False).ravel())
    for ax in axes[count:]:
        ax.set_visible(False)
    return fig, axes


def timelines(study: Study, stored: ResultsFile) -> list[str]:
    """Mean status counts over time, one panel per configuration."""
    out = []
    for _, runs, phrase in _slices(study):
        hue = _hue(runs, ["experiment"])
        names = list(dict.fromkeys(runs[hue]))[:MAX_PANELS]
        samples = stored.table("samples", run_ids=runs["run_id"].tolist())
        timeline = analysis.status_over_time(samples, runs, by=[hue])
        fig, axes = _grid(len(names))
        for ax, name in zip(axes, names):
            plots.status_timeline(timeline[timeline[hue] == name].drop(columns=[hue]), ax=ax, title=str(name))
        out.append(
            html.figure(fig, f"status timelines, {phrase}", f"{_first_upper(phrase)}: rows per status over time, mean over replications (symmetric log scale).")
        )
    return out


def load(study: Study, stored: ResultsFile) -> list[str]:
    """Send calls per minute per channel in the first replication of each configuration."""
    out = []
    for _, runs, phrase in _slices(study):
        hue = _hue(runs, ["experiment"])
        first = runs.sort_values(["replication", "seed"], kind="stable").drop_duplicates(hue)[:MAX_PANELS]
        horizon = float(first["horizon_s"].max())
        every = max(60.0, math.ceil(horizon / 720 / 60) * 60)
        starts = stored.sql("SELECT run_id, start FROM runs WHERE run_id IN (SELECT unnest(?))", [first["run_id"].tolist()]).set_index("run_id")["start"]
        fig, axes = _grid(len(first))
        top = 0.0
        for ax, (_, run) in zip(axes, first.iterrows()):
            attempts = stored.sql('SELECT "at", channel FROM attempts WHERE run_id = ?', [run["run_id"]])
            start = starts[run["run_id"]]
            rate = analysis.sends_per_minute(attempts, every=every, start=start, end=start + pd.Timedelta(seconds=float(run["horizon_s"])))
            if rate.empty or not rate.columns.size:
                ax.set_visible(False)
                continue
            plots.notifier_load(rate, ax=ax, start=start, title=f"{run[hue]} (replication {run['replication']})")
            top = max(top, ax.get_ylim()[1])
        for ax in axes:
            ax.set_ylim(0, top or 1)
        out.append(
            html.figure(
                fig,
                f"notifier load, {phrase}",
                f"{_first_upper(phrase)}: Send calls per minute per channel in buckets of {display.fmt(every, 'seconds')}, one replication per configuration; "
                "spikes are retry storms.",
            )
        )
    return out


def funnel(study: Study, totals: pd.DataFrame) -> list[str]:
    """The requeue funnel per configuration (sums over replications)."""
    fig = _figure(9.0, 1.2 + 0.35 * len(analysis.FUNNEL) * max(1, len(totals)) ** 0.5)
    plots.requeue_funnel(totals, ax=fig.subplots(), title="Requeue funnel")
    return [
        html.figure(
            fig,
            "requeue funnel",
            "Notifications that needed an operator (requeued, or dead or stranded at the horizon), how many were requeued, "
            "what became of them, and how many were left behind; summed over replications.",
        )
    ]


def paired(study: Study) -> list[str]:
    """Paired differences from the baseline in undelivered rate, at the hardest knob value of the first scenario."""
    if study.paired is None:
        return []
    frame = study.paired.reset_index()
    frame, phrase = _at_hardest(study, frame[frame["scenario"] == study.scenarios[0]], study.scenarios[0])
    keys = [c for c in frame.columns if c in ("experiment", "scenario", "policy", "metric")]
    frame = frame.set_index(keys)[list(analysis.PAIRED_STATS)]
    rows = len(frame.xs("undelivered_rate", level="metric")) if "undelivered_rate" in frame.index.get_level_values("metric") else 0
    if not rows:
        return []
    fig = _figure(11.0, 1.0 + 0.32 * rows)
    for ax, metric in zip(fig.subplots(1, 2, sharey=True), ("undelivered_rate", "attempts_per_notification")):
        plots.paired_differences(frame, metric, ax=ax, title=display.label(metric))
    return [
        html.figure(
            fig,
            f"paired differences, {phrase}",
            f"{_first_upper(phrase)}: each policy minus {study.baseline} on the same replications and seeds, with {study.level:.0%} intervals; "
            "an interval clear of zero is a difference the replications resolve.",
        )
    ]
