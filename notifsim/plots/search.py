"""Figures of a policy search (:func:`notifsim.tune`): the objective over the evaluations, and the Pareto front.

Both take a :class:`~notifsim.tuning.TuneResult` (or its ``trials`` table
and the names it needs) and return the Axes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import display
from ..errors import unknown_name
from .comparisons import _value_axis, pareto
from .style import CERTCTL, axes, color, finish, styled


@styled
def search_history(result: Any, ax: Any = None, *, metric: str | None = None, title: str | None = None) -> Any:
    """Each trial's value of ``metric`` (default: the first objective) in the order evaluated, feasible trials
    filled and the others hollow, with the best feasible value so far as a step line."""
    trials = result.trials
    metric = metric or result.objective.metrics[0]
    if metric not in trials.columns:
        raise unknown_name("metric", metric, [c for c in trials.columns if c in result.objective.needed()])
    ax = axes(ax, (7.0, 3.6))
    feasible = trials["feasible"].to_numpy(bool)
    x, y = trials["trial"].to_numpy(float), trials[metric].to_numpy(float)
    ax.scatter(x[feasible], y[feasible], s=22, color="#0072B2", label="feasible trial", zorder=3)
    if (~feasible).any():
        ax.scatter(x[~feasible], y[~feasible], s=22, facecolors="none", edgecolors="#D55E00", label="breaks a limit", zorder=3)
    if "best_so_far" in trials.columns and metric == result.objective.metrics[0]:
        ax.step(x, trials["best_so_far"].to_numpy(float), where="post", color="#000000", linewidth=1.4, label="best so far")
    base = result.summary["role"] == "base" if "role" in result.summary.columns else None
    if base is not None and base.any() and metric in result.summary.columns:
        value = float(result.summary.loc[base, metric].iloc[0])
        ax.axhline(value, color=color(result.base.name), linestyle=":", linewidth=1.2, label=f"{result.base.name} (base)")
    _value_axis(ax.yaxis, metric)
    ax.set_xlabel("trial (evaluation)")
    ax.set_ylabel(f"{display.label(metric)} ({result.objective.aggregate} over worlds)")
    return finish(ax, title)


@styled
def search_front(result: Any, ax: Any = None, *, x: str = "attempts_per_notification", y: str | None = None, title: str | None = None) -> Any:
    """Every feasible trial's ``y`` (default: the first objective) against ``x`` (Send calls per notification),
    the front of trials no other beats on both, every preset on the same worlds (certctl as stars; names in the
    legend), and a limit on either metric as a dotted line."""
    y = y or result.objective.metrics[0]
    trials = result.trials
    for name in (x, y):
        if name not in trials.columns:
            raise unknown_name("metric", name, [c for c in trials.columns if c in result.objective.needed()])
    ax = axes(ax, (7.0, 4.2))
    ok = trials[trials["feasible"]]
    xs, ys = ok[x].to_numpy(float), ok[y].to_numpy(float)
    ax.scatter(xs, ys, s=18, color="#9ecae1", label="trials", zorder=2)
    front = pareto(xs, ys)
    if len(front):
        ax.plot(xs[front], ys[front], linestyle="--", marker="o", markersize=4, color="#0072B2", linewidth=1.2, label="front", zorder=3)
    for metric, side, bound in result.objective.limits:
        if metric == x:
            ax.axvline(bound, color="#D55E00", linestyle=":", linewidth=1.2, label=f"limit ({side} {bound:g})")
        elif metric == y:
            ax.axhline(bound, color="#D55E00", linestyle=":", linewidth=1.2, label=f"limit ({side} {bound:g})")
    summary = result.summary
    if x in summary.columns and y in summary.columns:
        for name, row in summary.iterrows():
            searched = row["role"] in ("best", "front")
            certctl = str(name) in CERTCTL
            shape = "*" if certctl else ("D" if searched else "s")
            text = row["role"] if searched else str(name)
            ax.scatter(
                row[x], row[y], marker=shape, s=130 if certctl or searched else 40, color=color(name), zorder=4, edgecolors="black", linewidths=0.4, label=text
            )
            if certctl or row["role"] == "best":
                ax.annotate(text, (row[x], row[y]), xytext=(6, 5), textcoords="offset points", fontsize=8, fontweight="bold")
    _value_axis(ax.yaxis, y)
    _value_axis(ax.xaxis, x)
    ax.set_xlabel(display.label(x) + " (lower is cheaper)")
    ax.set_ylabel(display.label(y) + f" ({result.objective.aggregate} over worlds)")
    if np.isfinite(xs).any():
        ax.set_xlim(left=0)
    finish(ax, title, legend=False)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, labels, loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7.5)
    return ax
