"""Time to delivery as a distribution: the share of notifications delivered within t, undelivered ones counted as never.

Counting the undelivered as never (an infinite time) keeps a distribution
honest: a policy that strands its slow alerts cannot look fast, because its
curve tops out at its delivery rate instead of at 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError
from .aggregate import _columns


def delivery_times(notifications: pd.DataFrame, *, include_initial: bool = False) -> pd.Series:
    """Seconds from creation to first delivery per notification (float64, NaN: never delivered), created rows only unless ``include_initial``."""
    rows = notifications
    if not include_initial and "origin" in rows.columns:
        rows = rows[rows["origin"] == "created"]
    seconds = (rows["first_delivered_at"] - rows["created_at"]).dt.total_seconds()
    return seconds.astype("float64").rename("seconds")


def default_grid(seconds: np.ndarray, points: int = 200) -> np.ndarray:
    """Log-spaced instants from 0.1 s to the largest delivery time seen (at least one minute)."""
    finite = seconds[np.isfinite(seconds)]
    top = max(float(finite.max()) if len(finite) else 60.0, 60.0)
    return np.concatenate(([0.0], np.geomspace(0.1, top, points - 1)))


def delivery_cdf(times: pd.DataFrame | pd.Series, by: Sequence[str] | str = (), grid: Sequence[float] | np.ndarray | None = None) -> pd.DataFrame:
    """The share of notifications delivered within ``seconds``, per group of ``by``, on ``grid`` (default :func:`default_grid`).

    ``times`` is :func:`delivery_times` of one run (a Series), or a frame
    with a ``seconds`` column (NaN: never delivered) and the ``by`` columns
    (``ResultsFile.delivery_times()`` joined to the runs' configuration): the
    notifications of a group's runs are pooled.  Returns a long frame:
    the ``by`` columns, ``seconds``, ``delivered_share`` (float64 in
    [0, 1]) and ``notifications`` (the group's count).
    """
    frame = times.to_frame("seconds") if isinstance(times, pd.Series) else times
    by = _columns(frame, by, "by")
    _columns(frame, ["seconds"], "times")
    seconds = frame["seconds"].to_numpy(dtype="float64")
    if (seconds < 0).any():
        raise ConfigError("times", "seconds must be >= 0 (NaN for never delivered)")
    points = default_grid(seconds) if grid is None else np.asarray(grid, dtype="float64")
    groups = frame.groupby(by, sort=False, dropna=False) if by else [((), frame)]
    parts = []
    for key, part in groups:
        values = np.sort(part["seconds"].to_numpy(dtype="float64"))
        delivered = values[np.isfinite(values)]
        share = np.searchsorted(delivered, points, side="right") / len(values) if len(values) else np.full(len(points), np.nan)
        out = pd.DataFrame({"seconds": points, "delivered_share": share.astype("float64"), "notifications": np.full(len(points), len(values), np.int64)})
        key = key if isinstance(key, tuple) else (key,)
        for name, value in zip(by, key):
            out.insert(len(out.columns) - 3, name, value)
        parts.append(out)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*by, "seconds", "delivered_share", "notifications"])
