"""Figures that compare configurations: a metric against a swept knob, per configuration, and the policy frontier.

They take :func:`notifsim.analysis.aggregate`'s frame (one row per group and
metric, with ``mean``, ``ci_low``, ``ci_high``) and draw each mean with its
interval: a band along a knob, a bar across a point.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import display
from ..errors import ConfigError, unknown_name
from .style import CERTCTL, axes, color, finish, percent_axis, styled


def metric_frame(aggregated: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One metric's rows of an :func:`~notifsim.analysis.aggregate` frame, the group columns as plain columns."""
    if "metric" not in (aggregated.index.names or []):
        raise ConfigError("aggregated", "needs a 'metric' index level: pass notifsim.analysis.aggregate(...)")
    present = list(dict.fromkeys(aggregated.index.get_level_values("metric")))
    if metric not in present:
        raise unknown_name("metric", metric, present)
    return aggregated.xs(metric, level="metric").reset_index()


def naming_columns(frame: pd.DataFrame, columns: list[str], fallback: str | None = None) -> list[str]:
    """The columns that name the rows: in order, those that tell rows apart beyond the columns already kept (a label
    that only repeats the policy and a swept setting is left out); ``fallback`` (default: the last column) when none does."""
    text = frame[columns].map(str)  # missing values as text too, so they group
    kept: list[str] = []
    for column in columns:
        groups = text.groupby([*kept, column]).ngroups
        if groups < 2 or (kept and groups == text.groupby(kept).ngroups):
            continue
        kept.append(column)
    return kept or ([fallback] if fallback else columns[-1:])


def _value_axis(axis: Any, metric: str) -> None:
    if display.kind(metric) == "rate":
        percent_axis(axis)


def _clipped(frame: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """The interval drawn: clipped to the metric's range (rates in [0, 1], the rest >= 0), as a t interval can overshoot it."""
    high_bound = 1.0 if display.kind(metric) == "rate" else np.inf
    return np.clip(frame["ci_low"].to_numpy(float), 0.0, high_bound), np.clip(frame["ci_high"].to_numpy(float), 0.0, high_bound)


def _errors(frame: pd.DataFrame, metric: str) -> np.ndarray:
    """Asymmetric error bar lengths from the drawn interval (0 where it is unknown)."""
    mean = frame["mean"].to_numpy(float)
    low, high = _clipped(frame, metric)
    return np.vstack([np.nan_to_num(mean - low, nan=0.0), np.nan_to_num(high - mean, nan=0.0)])


@styled
def metric_vs_knob(
    aggregated: pd.DataFrame,
    x: str,
    metric: str = "undelivered_rate",
    ax: Any = None,
    *,
    hue: str = "policy",
    x_scale: float = 1.0,
    x_label: str | None = None,
    title: str | None = None,
) -> Any:
    """The mean of ``metric`` against the swept setting ``x``, one line per value of ``hue``, with its interval as a band
    (clipped to the metric's range: a Student t interval over few runs can reach below 0).

    ``aggregated`` is :func:`notifsim.analysis.aggregate` grouped by (at least)
    ``x`` and ``hue``; ``x_scale`` multiplies the knob's values (1/60 to show
    seconds as minutes) and ``x_label`` names the axis.  Returns the Axes.
    """
    frame = metric_frame(aggregated, metric)
    for column, field in ((x, "x"), (hue, "hue")):
        if column not in frame.columns:
            raise unknown_name(field, column, [c for c in frame.columns if c not in ("n", "mean", "std", "ci_low", "ci_high")])
    if frame.duplicated([hue, x]).any():
        raise ConfigError("aggregated", f"has several groups per {hue!r} and {x!r}; select one value of the other grouping columns first")
    ax = axes(ax)
    for name, part in frame.groupby(hue, sort=False):
        part = part.sort_values(x)
        xs = part[x].to_numpy(float) * x_scale
        ax.plot(xs, part["mean"].to_numpy(float), marker="o", markersize=3.5, label=str(name), color=color(name))
        low, high = _clipped(part, metric)
        ax.fill_between(xs, low, high, color=color(name), alpha=0.15, linewidth=0)
    _value_axis(ax.yaxis, metric)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(x_label or x)
    ax.set_ylabel(display.label(metric))
    return finish(ax, title)


@styled
def metric_by_configuration(aggregated: pd.DataFrame, metric: str = "undelivered_rate", ax: Any = None, *, title: str | None = None) -> Any:
    """The mean of ``metric`` per group as a point with its interval, one row per group (when no knob was swept).

    Groups are named by the grouping columns whose values differ; a group
    with a ``policy`` column takes the policy's colour.  Returns the Axes.
    """
    frame = metric_frame(aggregated, metric)
    groups = [c for c in frame.columns if c not in ("n", "mean", "std", "ci_low", "ci_high")]
    shown = naming_columns(frame, groups)
    names = [" · ".join(str(row[c]) for c in shown) for _, row in frame.iterrows()]
    ax = axes(ax, (7.0, 0.9 + 0.32 * len(frame)))
    y = np.arange(len(frame))[::-1]
    colors = [color(p) for p in frame["policy"]] if "policy" in frame.columns else [color(n) for n in names]
    errors = _errors(frame, metric)
    for i in range(len(frame)):
        ax.errorbar(frame["mean"].iloc[i], y[i], xerr=errors[:, i : i + 1], fmt="o", color=colors[i], capsize=3, markersize=5)
    ax.set_yticks(y, names)
    _value_axis(ax.xaxis, metric)
    ax.set_xlim(left=0)
    ax.set_xlabel(display.label(metric))
    return finish(ax, title, legend=False)


def pareto(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats on both axes (lower is better), by increasing ``x``."""
    order = np.lexsort((y, x))
    keep, best = [], np.inf
    for i in order:
        if np.isfinite(x[i]) and np.isfinite(y[i]) and y[i] < best:
            keep.append(i)
            best = y[i]
    return np.array(keep, dtype=int)


@styled
def policy_frontier(
    aggregated: pd.DataFrame,
    ax: Any = None,
    *,
    x: str = "attempts_per_notification",
    y: str = "undelivered_rate",
    hue: str = "policy",
    mark: Sequence[str] = CERTCTL,
    title: str | None = None,
) -> Any:
    """What a policy costs against what it loses: mean ``y`` (undelivered rate) against mean ``x`` (Send calls per notification).

    One point per group, with both intervals as error bars; the policies in
    ``mark`` (the certctl profiles) are drawn as stars.  The dashed line
    joins the frontier: the groups that no other group beats on both axes.
    ``aggregated`` is :func:`notifsim.analysis.aggregate`, grouped by
    ``hue`` (select one value of any other grouping column first).  Returns
    the Axes.
    """
    fx, fy = metric_frame(aggregated, x), metric_frame(aggregated, y)
    keys = [c for c in fx.columns if c not in ("n", "mean", "std", "ci_low", "ci_high")]
    if hue not in keys:
        raise unknown_name("hue", hue, keys)
    both = fx.merge(fy, on=keys, suffixes=("_x", "_y"))
    ax = axes(ax, (7.0, 4.2))
    xs, ys = both["mean_x"].to_numpy(float), both["mean_y"].to_numpy(float)
    xerr = _errors(both.rename(columns={"mean_x": "mean", "ci_low_x": "ci_low", "ci_high_x": "ci_high"}), x)
    yerr = _errors(both.rename(columns={"mean_y": "mean", "ci_low_y": "ci_low", "ci_high_y": "ci_high"}), y)
    for i, name in enumerate(both[hue]):
        marked = str(name) in mark
        ax.errorbar(
            xs[i],
            ys[i],
            xerr=xerr[:, i : i + 1],
            yerr=yerr[:, i : i + 1],
            fmt="*" if marked else "o",
            markersize=12 if marked else 6,
            color=color(name),
            capsize=2,
            elinewidth=0.9,
            label=str(name),
        )
        ax.annotate(str(name), (xs[i], ys[i]), xytext=(5, 4), textcoords="offset points", fontsize=8, fontweight="bold" if marked else "normal")
    front = pareto(xs, ys)
    if len(front) > 1:
        ax.plot(xs[front], ys[front], linestyle="--", color="#555555", linewidth=1, label="frontier", zorder=0)
    _value_axis(ax.yaxis, y)
    _value_axis(ax.xaxis, x)
    ax.set_xlabel(display.label(x) + " (lower is cheaper)")
    ax.set_ylabel(display.label(y) + " (lower is better)")
    finish(ax, title, legend=False)
    return ax


@styled
def paired_differences(differences: pd.DataFrame, metric: str = "undelivered_rate", ax: Any = None, *, title: str | None = None) -> Any:
    """Each configuration's paired difference from the baseline, with its interval, around a zero line.

    ``differences`` is :func:`notifsim.analysis.paired`; rows are named by
    the compared value and the grouping columns whose values differ.  An
    interval that does not cross zero is a difference the replications
    resolve.  Returns the Axes.
    """
    if "metric" not in (differences.index.names or []):
        raise ConfigError("differences", "needs a 'metric' index level: pass notifsim.analysis.paired(...)")
    present = list(dict.fromkeys(differences.index.get_level_values("metric")))
    if metric not in present:
        raise unknown_name("metric", metric, present)
    frame = differences.xs(metric, level="metric").reset_index()
    groups = [c for c in frame.columns if c not in ("n", "baseline", "value", "difference", "std", "ci_low", "ci_high")]
    shown = naming_columns(frame, groups)
    names = [" · ".join(str(row[c]) for c in shown) for _, row in frame.iterrows()]
    ax = axes(ax, (7.0, 0.9 + 0.32 * len(frame)))
    y = np.arange(len(frame))[::-1]
    mean = frame["difference"].to_numpy(float)
    errors = np.vstack([np.nan_to_num(mean - frame["ci_low"].to_numpy(float)), np.nan_to_num(frame["ci_high"].to_numpy(float) - mean)])
    compared = groups[-1] if groups else None
    for i in range(len(frame)):
        name = frame[compared].iloc[i] if compared is not None else names[i]
        ax.errorbar(mean[i], y[i], xerr=errors[:, i : i + 1], fmt="o", color=color(name), capsize=3, markersize=5)
    ax.axvline(0, color="#444444", linewidth=1)
    ax.set_yticks(y, names)
    _value_axis(ax.xaxis, metric)
    ax.set_xlabel(f"{display.label(metric)}: difference from the baseline")
    return finish(ax, title, legend=False)
