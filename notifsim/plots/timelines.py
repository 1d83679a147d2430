"""Figures over simulated time: the table's statuses, and the load on the notifiers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..analysis import TIMELINE_COLUMNS, status_over_time
from ..errors import ConfigError
from .style import axes, color, finish, styled

#: Statuses drawn by :func:`status_timeline` unless told otherwise (``failed`` is drawn as its two parts).
TIMELINE_STATUSES = ("sent", "pending", "retrying", "stranded", "dead", "read")


@styled
def status_timeline(timeline: pd.DataFrame, ax: Any = None, *, statuses: Sequence[str] = TIMELINE_STATUSES, title: str | None = None) -> Any:
    """Rows per status over time, one line per status, on a symmetric-log count axis (so ten dead rows show next to ten thousand sent ones).

    ``timeline`` is one run's ``samples`` or :func:`notifsim.analysis.status_over_time`
    of one run or of one group (filter a frame of several groups first).
    Statuses never seen are left out.  Returns the Axes.
    """
    frame = timeline if "retrying" in timeline.columns else status_over_time(timeline)
    if "elapsed_h" not in frame.columns:
        raise ConfigError("timeline", "needs elapsed_h and status columns: pass samples or notifsim.analysis.status_over_time(...)")
    if frame["elapsed_h"].duplicated().any():
        raise ConfigError("timeline", "holds several runs or groups; select one (e.g. frame[frame['policy'] == 'certctl-i005'])")
    for status in statuses:
        if status not in TIMELINE_COLUMNS:
            raise ConfigError("statuses", f"unknown status {status!r}; allowed: {', '.join(TIMELINE_COLUMNS)}")
    ax = axes(ax)
    hours = frame["elapsed_h"].to_numpy(float)
    days = hours.max() > 72 if len(hours) else False
    x = hours / 24 if days else hours
    top = 1.0
    for status in statuses:
        values = frame[status].to_numpy(float)
        if not np.any(values > 0):
            continue
        top = max(top, float(values.max()))
        ax.plot(x, values, label=status, color=color(status), linestyle="--" if status == "stranded" else "-")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_ylim(0, top * 2)
    ax.set_xlabel("days since start" if days else "hours since start")
    ax.set_ylabel("rows")
    return finish(ax, title)


@styled
def notifier_load(rate: pd.DataFrame, ax: Any = None, *, start: Any = None, title: str | None = None, columns: Sequence[str] | None = None) -> Any:
    """Send calls per minute over time, one line per column (channels, or policies): where retry storms show.

    ``rate`` is :func:`notifsim.analysis.sends_per_minute` (a row per bucket,
    a column per channel) or any frame like it — for instance one column per
    policy.  The x axis is the time since ``start`` (default: the first
    bucket), in hours, or days beyond three days.  Returns the Axes.
    """
    if rate.empty:
        raise ConfigError("rate", "is empty: no Send calls to draw")
    ax = axes(ax)
    index = rate.index
    if isinstance(index, pd.DatetimeIndex):
        origin = pd.Timestamp(start) if start is not None else index[0]
        hours = (index - origin).total_seconds().to_numpy() / 3600
    else:
        hours = np.asarray(index, dtype=float)
    days = hours.max() > 72
    x = hours / 24 if days else hours
    for name in columns if columns is not None else rate.columns:
        ax.plot(x, rate[name].to_numpy(float), label=str(name), color=color(name), linewidth=1.1)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("days since start" if days else "hours since start")
    ax.set_ylabel("Send calls per minute")
    return finish(ax, title)
