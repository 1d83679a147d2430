"""The metrics of one run, computed from its DataFrames with numpy and Arrow (no per-row Python).

Rates are fractions of the notifications counted — by default those created
during the run, not the initial snapshot — and are NaN when none were
counted.  Counts are whole numbers; times are seconds.  ``docs/results.md``
defines each metric.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
    "undelivered",
    "delivery_rate",
    "undelivered_rate",
    "delivered_within_rate",
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

#: Metrics that count notifications or Send calls (whole numbers); the others are rates or seconds.
COUNTS = ("notifications", "created", "delivered", "dead_lettered", "stranded", "ghost_sent", "duplicated", "pending", "retrying", "undelivered", "attempts")

#: The default deadline of ``delivered_within_rate``: 15 minutes from creation to first delivery.
WITHIN_S = 900.0

_US = 1_000_000


def _arrow(series: pd.Series) -> Any:
    """A column as one Arrow array (zero copy for an Arrow-backed column of one chunk)."""
    array = pa.array(series)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array  # a column of no rows or several chunks


def _equals(series: pd.Series, value: str) -> np.ndarray:
    return pc.fill_null(pc.equal(_arrow(series), value), False).to_numpy(zero_copy_only=False)


def _micros(series: pd.Series) -> np.ndarray:
    """Timestamps as int64 microseconds since the epoch (NaT as the minimum int64)."""
    return series.to_numpy(dtype="datetime64[us]").view(np.int64)


_NAT = np.iinfo(np.int64).min


class _Run:
    """The columns of one run's tables that the metrics read, as numpy arrays."""

    def __init__(self, notifications: pd.DataFrame, attempts: pd.DataFrame, include_initial: bool, attempt_rows: np.ndarray | None):
        n = notifications
        self.created = _equals(n["origin"], "created") if "origin" in n else np.ones(len(n), bool)
        self.scope = np.ones(len(n), bool) if include_initial else self.created
        status = _arrow(n["status"])
        self.dead = pc.fill_null(pc.equal(status, "dead"), False).to_numpy(zero_copy_only=False)
        self.failed = pc.fill_null(pc.equal(status, "failed"), False).to_numpy(zero_copy_only=False)
        self.sent = pc.fill_null(pc.equal(status, "sent"), False).to_numpy(zero_copy_only=False)
        self.pending = pc.fill_null(pc.equal(status, "pending"), False).to_numpy(zero_copy_only=False)
        self.nra_null = n["next_retry_at"].isna().to_numpy()
        self.deliveries = n["deliveries"].to_numpy(dtype=np.int64)
        first = _micros(n["first_delivered_at"])
        created_at = _micros(n["created_at"])
        self.ttd = np.where(first == _NAT, np.nan, (first - created_at) / _US)
        self.channel = _arrow(n["channel"])
        # each Send call's notification, as a row number of ``notifications``
        if attempt_rows is not None and len(attempt_rows) == len(attempts):
            self.attempt_row = np.asarray(attempt_rows, dtype=np.int64)
        else:
            index = pc.index_in(_arrow(attempts["notification_id"]), value_set=_arrow(n["id"]))
            self.attempt_row = pc.fill_null(index, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        self.attempt_minute = _micros(attempts["at"]) // (60 * _US)
        encoded = pc.dictionary_encode(self.channel)
        self.channel_codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        self.channel_names: list[str] = encoded.dictionary.to_pylist()


def _values(run: _Run, rows: np.ndarray, within_s: float) -> dict[str, float]:
    """The metrics of the notifications flagged in ``rows`` (and their Send calls)."""
    k = int(rows.sum())
    deliveries = run.deliveries[rows]
    delivered = deliveries > 0
    failed = run.failed[rows]
    nra_null = run.nra_null[rows]
    counts = {
        "notifications": k,
        "created": int((run.created & rows).sum()),
        "delivered": int(delivered.sum()),
        "dead_lettered": int(run.dead[rows].sum()),
        "stranded": int((failed & nra_null).sum()),
        "ghost_sent": int((run.sent[rows] & ~delivered).sum()),
        "duplicated": int((deliveries > 1).sum()),
        "pending": int(run.pending[rows].sum()),
        "retrying": int((failed & ~nra_null).sum()),
        "undelivered": int((~delivered).sum()),
    }
    ttd = run.ttd[rows]
    ttd = ttd[~np.isnan(ttd)]
    mine = run.attempt_row >= 0
    mine[mine] = rows[run.attempt_row[mine]]
    n_attempts = int(mine.sum())
    rate = (lambda c: c / k) if k else (lambda c: np.nan)
    quantiles = np.quantile(ttd, [0.5, 0.95, 0.99]) if len(ttd) else np.full(3, np.nan)
    peak = 0
    if n_attempts:
        minute = run.attempt_minute[mine]
        key = run.channel_codes[run.attempt_row[mine]] * (1 << 40) + (minute - minute.min())
        key.sort()
        edges = np.flatnonzero(np.diff(key)) + 1
        peak = int(np.diff(np.concatenate(([0], edges, [len(key)]))).max())
    return {
        **counts,
        "delivery_rate": rate(counts["delivered"]),
        "undelivered_rate": rate(counts["undelivered"]),
        "delivered_within_rate": rate(int((ttd <= within_s).sum())),
        "dead_letter_rate": rate(counts["dead_lettered"]),
        "stranded_rate": rate(counts["stranded"]),
        "ghost_rate": rate(counts["ghost_sent"]),
        "duplicate_rate": rate(counts["duplicated"]),
        "time_to_delivery_p50_s": float(quantiles[0]),
        "time_to_delivery_p95_s": float(quantiles[1]),
        "time_to_delivery_p99_s": float(quantiles[2]),
        "attempts": n_attempts,
        "attempts_per_notification": n_attempts / k if k else np.nan,
        "peak_send_rate_per_min": peak,
    }


def _prepare(notifications: pd.DataFrame, attempts: pd.DataFrame, include_initial: bool, attempt_rows: np.ndarray | None = None) -> _Run:
    return _Run(notifications, attempts, include_initial, attempt_rows)


def summarize(
    notifications: pd.DataFrame, attempts: pd.DataFrame, *, include_initial: bool = False, within: float = WITHIN_S, attempt_rows: np.ndarray | None = None
) -> pd.Series:
    """The run's metrics (see :data:`METRICS`), as a float64 Series indexed by metric name.

    ``within`` is the deadline of ``delivered_within_rate`` in seconds
    (default 15 minutes).  Rates are fractions in [0, 1] (NaN when nothing
    was counted); times are seconds.  ``attempt_rows`` (optional) gives each
    Send call's notification as a row position of ``notifications``, which
    spares matching ids.
    """
    run = _prepare(notifications, attempts, include_initial, attempt_rows)
    values = _values(run, run.scope, within)
    return pd.Series([float(values[m]) for m in METRICS], index=list(METRICS), dtype="float64", name="value")


def summarize_by_channel(
    notifications: pd.DataFrame, attempts: pd.DataFrame, *, include_initial: bool = False, within: float = WITHIN_S, attempt_rows: np.ndarray | None = None
) -> pd.DataFrame:
    """:func:`summarize` per channel: one row per channel (sorted), counts as int64, the rest float64."""
    run = _prepare(notifications, attempts, include_initial, attempt_rows)
    rows = {}
    for code, name in sorted(enumerate(run.channel_names), key=lambda item: item[1]):
        mine = run.scope & (run.channel_codes == code)
        if mine.any():
            rows[name] = _values(run, mine, within)
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(METRICS)) if rows else pd.DataFrame(columns=list(METRICS))
    for column in METRICS:
        frame[column] = frame[column].astype("int64" if column in COUNTS else "float64")
    frame.index.name = "channel"
    return frame


def outcome_flags(notifications: pd.DataFrame) -> pd.DataFrame:
    """Boolean columns per notification: delivered, dead, stranded, ghost, duplicated, pending, retrying, undelivered."""
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
            "undelivered": deliveries == 0,
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
    per_minute = attempts.groupby([attempts["channel"], minute], observed=True).size()
    return per_minute.groupby(level=0, observed=True).max().rename("peak_send_rate_per_min")
