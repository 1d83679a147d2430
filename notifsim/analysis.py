"""Metrics over result tables (DESIGN §5), as pandas objects.

All functions are pure: they take the DataFrames of one run (as returned by
:class:`~notifsim.result.Result` or read back from DuckDB) and return a
Series or DataFrame.  Rates are fractions of the notifications counted
(by default those created during the run, not the initial snapshot).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The metric names of :func:`summarize`, in order.
METRICS = (
    "notifications",
    "created",
    "delivered",
    "dead_lettered",
    "stranded",
    "ghost_sent",
    "duplicated",
    "pending",
    "retrying",
    "delivery_rate",
    "dead_letter_rate",
    "stranded_rate",
    "ghost_rate",
    "duplicate_rate",
    "time_to_delivery_p50_s",
    "time_to_delivery_p95_s",
    "time_to_delivery_p99_s",
    "attempts",
    "attempts_per_notification",
    "peak_send_rate_per_min",
)


def _scope(notifications: pd.DataFrame, include_initial: bool) -> pd.DataFrame:
    if include_initial or "origin" not in notifications:
        return notifications
    return notifications[notifications["origin"] == "created"]


def outcome_flags(notifications: pd.DataFrame) -> pd.DataFrame:
    """Boolean columns per notification: delivered, dead, stranded, ghost, duplicated, pending, retrying."""
    status = notifications["status"]
    deliveries = notifications["deliveries"]
    nra_null = notifications["next_retry_at"].isna()
    return pd.DataFrame(
        {
            "delivered": deliveries > 0,
            "dead": status == "dead",
            "stranded": (status == "failed") & nra_null,
            "ghost": (status == "sent") & (deliveries == 0),
            "duplicated": deliveries > 1,
            "pending": status == "pending",
            "retrying": (status == "failed") & ~nra_null,
        },
        index=notifications.index,
    )


def time_to_delivery_s(notifications: pd.DataFrame) -> pd.Series:
    """Seconds from creation to first delivery, for delivered notifications."""
    delivered = notifications[notifications["first_delivered_at"].notna()]
    return (delivered["first_delivered_at"] - delivered["created_at"]).dt.total_seconds()


def peak_send_rate(attempts: pd.DataFrame) -> pd.Series:
    """Highest number of Send calls in one clock minute, per channel (Send calls per minute)."""
    if attempts.empty:
        return pd.Series(dtype="int64", name="peak_send_rate_per_min")
    minute = attempts["at"].dt.floor("min")
    per_minute = attempts.groupby([attempts["channel"], minute]).size()
    return per_minute.groupby(level=0).max().rename("peak_send_rate_per_min")


def summarize(notifications: pd.DataFrame, attempts: pd.DataFrame, *, include_initial: bool = False) -> pd.Series:
    """The run's metrics (see :data:`METRICS`), as a Series indexed by metric name.

    Counts are integers; rates are fractions in [0, 1] (NaN when nothing was
    counted); times are seconds.
    """
    scoped = _scope(notifications, include_initial)
    flags = outcome_flags(scoped)
    n = len(scoped)
    counts = flags.sum()
    ttd = time_to_delivery_s(scoped)
    scoped_attempts = attempts[attempts["notification_id"].isin(scoped["id"])]
    rate = (lambda k: counts[k] / n) if n else (lambda k: np.nan)
    quantile = (lambda q: float(ttd.quantile(q))) if len(ttd) else (lambda q: np.nan)
    peak = peak_send_rate(scoped_attempts)
    values = {
        "notifications": n,
        "created": int((notifications["origin"] == "created").sum()) if "origin" in notifications else n,
        "delivered": int(counts["delivered"]),
        "dead_lettered": int(counts["dead"]),
        "stranded": int(counts["stranded"]),
        "ghost_sent": int(counts["ghost"]),
        "duplicated": int(counts["duplicated"]),
        "pending": int(counts["pending"]),
        "retrying": int(counts["retrying"]),
        "delivery_rate": rate("delivered"),
        "dead_letter_rate": rate("dead"),
        "stranded_rate": rate("stranded"),
        "ghost_rate": rate("ghost"),
        "duplicate_rate": rate("duplicated"),
        "time_to_delivery_p50_s": quantile(0.50),
        "time_to_delivery_p95_s": quantile(0.95),
        "time_to_delivery_p99_s": quantile(0.99),
        "attempts": len(scoped_attempts),
        "attempts_per_notification": len(scoped_attempts) / n if n else np.nan,
        "peak_send_rate_per_min": int(peak.max()) if len(peak) else 0,
    }
    return pd.Series(values, dtype=object).rename("value")[list(METRICS)]


def summarize_by_channel(notifications: pd.DataFrame, attempts: pd.DataFrame, *, include_initial: bool = False) -> pd.DataFrame:
    """:func:`summarize` per channel: one row per channel, one column per metric."""
    scoped = _scope(notifications, include_initial)
    out = {}
    for channel, group in scoped.groupby("channel", sort=True, observed=True):
        out[channel] = summarize(group, attempts[attempts["notification_id"].isin(group["id"])], include_initial=True)
        out[channel]["created"] = len(group)
    return pd.DataFrame(out).T
