"""Figures of distributions: time to delivery as a cumulative share of all notifications."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import analysis
from ..errors import ConfigError
from .style import axes, color, finish, percent_axis, seconds_axis, styled


@styled
def delivery_cdf(
    cdf: pd.DataFrame | pd.Series, ax: Any = None, *, hue: str | None = "policy", deadline: float | None = analysis.WITHIN_S, title: str | None = None
) -> Any:
    """The share of notifications delivered within t (log time axis), one line per value of ``hue``.

    ``cdf`` is :func:`notifsim.analysis.delivery_cdf` (with a ``hue`` column
    when several lines are drawn), or one run's
    :func:`notifsim.analysis.delivery_times`.  Undelivered notifications count
    as never, so each line levels off at its delivery rate.  ``deadline``
    (seconds; None for none) draws the deadline of ``delivered_within_rate``.
    Returns the Axes.
    """
    frame = analysis.delivery_cdf(cdf) if isinstance(cdf, pd.Series) else cdf
    for column in ("seconds", "delivered_share"):
        if column not in frame.columns:
            raise ConfigError("cdf", "needs seconds and delivered_share: pass notifsim.analysis.delivery_cdf(...)")
    ax = axes(ax)
    groups = frame.groupby(hue, sort=False) if hue is not None and hue in frame.columns else [(None, frame)]
    low, high = np.inf, 0.0
    for name, part in groups:
        keep = part["seconds"].to_numpy(float) > 0
        x = part["seconds"].to_numpy(float)[keep]
        if not len(x):
            continue
        low, high = min(low, float(x.min())), max(high, float(x.max()))
        ax.plot(
            x,
            part["delivered_share"].to_numpy(float)[keep],
            label=None if name is None else str(name),
            color=color(name) if name is not None else None,
            drawstyle="steps-post",
        )
    ax.set_xscale("log")
    if np.isfinite(low):
        seconds_axis(ax.xaxis, low, high)
    if deadline is not None and np.isfinite(low) and low <= deadline <= high:
        ax.axvline(deadline, color="#444444", linestyle=":", linewidth=1)
        ax.annotate(f"{deadline / 60:g} min", (deadline, 0.02), xytext=(3, 0), textcoords="offset points", fontsize=8, color="#444444")
    ax.set_ylim(0, 1.02)
    percent_axis(ax.yaxis)
    ax.set_xlabel("time from creation to first delivery")
    ax.set_ylabel("delivered (share of all)")
    return finish(ax, title)
