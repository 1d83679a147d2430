"""Notifier load: Send calls per minute per channel over one run — where retry storms show."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..timeutil import parse_duration

_US = 1_000_000


def sends_per_minute(
    attempts: pd.DataFrame, *, every: float | str = "1min", start: dt.datetime | pd.Timestamp | None = None, end: dt.datetime | pd.Timestamp | None = None
) -> pd.DataFrame:
    """Send calls per minute on each channel, in buckets of ``every`` (seconds or ``"5min"``) by the instant each Send began.

    Returns one row per bucket from ``start`` (default: the first Send's
    minute) up to ``end`` (default: the last Send), indexed by the bucket's
    start (UTC), one float64 column per channel (sorted), empty buckets 0.
    A value is the bucket's Send calls divided by its length in minutes, so
    it reads as calls per minute whatever ``every`` is.  ``attempts`` is one
    run's table (several runs would add up: pass one run at a time).
    """
    every_s = parse_duration(every, "every")
    if "run_id" in attempts.columns and attempts["run_id"].nunique() > 1:
        raise ConfigError("attempts", "holds several runs; pass one run's attempts (filter on run_id)")
    micros = attempts["at"].to_numpy(dtype="datetime64[us]").view(np.int64)
    step = round(every_s * _US)
    if start is not None:
        origin = pd.Timestamp(start).value // 1000  # .value is in nanoseconds
    elif len(micros):
        origin = int(micros.min()) // (60 * _US) * (60 * _US)
    else:
        origin = 0
    if end is not None:
        last = pd.Timestamp(end).value // 1000
    else:
        last = int(micros.max()) if len(micros) else origin
    buckets = max(int((last - origin - 1) // step) + 1, 1) if last > origin else 1
    keep = (micros >= origin) & (micros < origin + buckets * step)
    index = (micros[keep] - origin) // step
    channels = attempts["channel"].astype(str).to_numpy()[keep]
    names = sorted(set(channels.tolist()))
    table = np.zeros((buckets, len(names)), dtype=np.int64)
    if names:
        codes = np.searchsorted(np.array(names), channels)
        np.add.at(table, (index, codes), 1)
    times = pd.to_datetime(origin + np.arange(buckets, dtype=np.int64) * step, unit="us", utc=True)
    out = pd.DataFrame(table / (every_s / 60.0), index=pd.DatetimeIndex(times, name="at"), columns=pd.Index(names, name="channel"))
    return out.astype("float64")
