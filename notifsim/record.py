"""Columnar buffers filled during a run, turned into DataFrames (DESIGN §4) at the end.

The engine appends scalars to per-column lists (no per-row objects); at the
end :meth:`Recorder.tables` converts each column once, with simulation
seconds becoming timezone-aware UTC timestamps (microseconds; Go's zero
time is ``0001-01-01``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .machine import COLUMNS, STATUSES, NotificationTable
from .timeutil import ZERO_TIME_US, datetime_to_us


def seconds_to_timestamps(seconds, start: dt.datetime) -> pd.Series:
    """UTC timestamps from simulation seconds; NaN/None → NaT, ``-inf`` → Go's zero time."""
    s = np.array([np.nan if v is None else v for v in seconds], dtype=float) if not isinstance(seconds, np.ndarray) else seconds.astype(float)
    null = np.isnan(s)
    zero = np.isneginf(s)
    finite = ~(null | zero)
    us = np.zeros(len(s), dtype=np.int64)
    us[finite] = datetime_to_us(start) + np.round(s[finite] * 1_000_000).astype(np.int64)
    us[zero] = ZERO_TIME_US
    values = us.view("M8[us]").copy()
    values[null] = np.datetime64("NaT")
    return pd.Series(pd.DatetimeIndex(values).tz_localize("UTC")).astype(TIMESTAMP)


TIMESTAMP = "datetime64[us, UTC]"
_COUNT = "int64"

#: Column → dtype of every result table, in column order (the DuckDB schema mirrors it).
SCHEMAS: dict[str, dict[str, str]] = {
    "notifications": {
        "id": "string",
        "type": "string",
        "certificate_id": "string",
        "channel": "string",
        "recipient": "string",
        "message": "string",
        "status": "string",
        "retry_count": _COUNT,
        "next_retry_at": TIMESTAMP,
        "last_error": "string",
        "error": "string",
        "created_at": TIMESTAMP,
        "sent_at": TIMESTAMP,
        "attempts": _COUNT,
        "deliveries": _COUNT,
        "first_delivered_at": TIMESTAMP,
        "requeues": _COUNT,
        "origin": "string",
    },
    "attempts": {
        "notification_id": "string",
        "at": TIMESTAMP,
        "loop": "string",
        "retry_count_before": _COUNT,
        "outcome": "string",
        "error": "string",
        "latency_s": "float64",
        "delivered": "bool",
        "channel": "string",
    },
    "ticks": {
        "loop": "string",
        "at": TIMESTAMP,
        "rows": _COUNT,
        "sends": _COUNT,
        "duration_s": "float64",
        "skipped": "bool",
        "deadline_hit": "bool",
        "error": "string",
    },
    "requeues": {
        "notification_id": "string",
        "at": TIMESTAMP,
        "action": "string",
        "from_status": "string",
        "retry_count_before": "Int64",
        "outcome": "string",
    },
    "samples": {"at": TIMESTAMP, **{key: _COUNT for key in (*STATUSES, "stranded")}},
}


class Recorder:
    """Everything a run observes beyond the table itself: Send calls, ticks, requeues, samples."""

    def __init__(self) -> None:
        # per notification (indexed by the row's insertion seq)
        self.n_attempts: list[int] = []
        self.n_deliveries: list[int] = []
        self.first_delivered: list[float | None] = []
        self.n_requeues: list[int] = []
        self.origin: list[str] = []
        # attempts
        self.a_seq: list[int] = []
        self.a_at: list[float] = []
        self.a_loop: list[str] = []
        self.a_rc: list[int] = []
        self.a_error: list[str | None] = []
        self.a_latency: list[float] = []
        self.a_delivered: list[bool] = []
        # ticks
        self.t_loop: list[str] = []
        self.t_at: list[float] = []
        self.t_rows: list[int] = []
        self.t_sends: list[int] = []
        self.t_duration: list[float | None] = []
        self.t_skipped: list[bool] = []
        self.t_deadline_hit: list[bool] = []
        self.t_error: list[str | None] = []
        self.lost_creations = 0  # Create calls that failed (database down): no row, no send
        # requeues / operator actions
        self.r_id: list[str] = []
        self.r_at: list[float] = []
        self.r_action: list[str] = []
        self.r_from: list[str | None] = []
        self.r_rc: list[int | None] = []
        self.r_outcome: list[str] = []
        # status samples
        self.s_at: list[float] = []
        self.s_counts: dict[str, list[int]] = {k: [] for k in (*STATUSES, "stranded")}

    # -- during the run -----------------------------------------------------

    def notification(self, origin: str) -> None:
        self.n_attempts.append(0)
        self.n_deliveries.append(0)
        self.first_delivered.append(None)
        self.n_requeues.append(0)
        self.origin.append(origin)

    def attempt(self, seq: int, at: float, loop: str, rc_before: int, error: str | None, latency: float, delivered: bool, done: float) -> None:
        self.a_seq.append(seq)
        self.a_at.append(at)
        self.a_loop.append(loop)
        self.a_rc.append(rc_before)
        self.a_error.append(error)
        self.a_latency.append(latency)
        self.a_delivered.append(delivered)
        self.n_attempts[seq] += 1
        if delivered:
            self.n_deliveries[seq] += 1
            if self.first_delivered[seq] is None:
                self.first_delivered[seq] = done

    def open_tick(self, loop: str, at: float, skipped: bool = False) -> int:
        self.t_loop.append(loop)
        self.t_at.append(at)
        self.t_rows.append(0)
        self.t_sends.append(0)
        self.t_duration.append(0.0 if skipped else None)
        self.t_skipped.append(skipped)
        self.t_deadline_hit.append(False)
        self.t_error.append(None)
        return len(self.t_at) - 1

    def close_tick(self, index: int, rows: int, sends: int, end: float, deadline_hit: bool, error: str | None = None) -> None:
        self.t_rows[index] = rows
        self.t_sends[index] = sends
        self.t_duration[index] = end - self.t_at[index]
        self.t_deadline_hit[index] = deadline_hit
        self.t_error[index] = error

    def action(self, id: str, at: float, action: str, from_status: str | None, rc_before: int | None, outcome: str, seq: int | None) -> None:
        self.r_id.append(id)
        self.r_at.append(at)
        self.r_action.append(action)
        self.r_from.append(from_status)
        self.r_rc.append(rc_before)
        self.r_outcome.append(outcome)
        if seq is not None and action == "requeue" and outcome == "requeued":
            self.n_requeues[seq] += 1

    def sample(self, at: float, counts: dict[str, int]) -> None:
        self.s_at.append(at)
        for key, column in self.s_counts.items():
            column.append(counts[key])

    # -- at the end ---------------------------------------------------------

    def tables(self, table: NotificationTable, start: dt.datetime) -> dict[str, pd.DataFrame]:
        """The result tables of DESIGN §4 as DataFrames typed by :data:`SCHEMAS` (UTC timestamps)."""
        rows = table.rows
        ids = np.array([r.id for r in rows], dtype=object)
        a_seq = np.array(self.a_seq, dtype=np.int64)
        notifications = {name: [getattr(r, name) for r in rows] for name in COLUMNS}
        notifications.update(
            attempts=self.n_attempts,
            deliveries=self.n_deliveries,
            first_delivered_at=self.first_delivered,
            requeues=self.n_requeues,
            origin=self.origin,
        )
        columns = {
            "notifications": notifications,
            "attempts": {
                "notification_id": ids[a_seq] if len(a_seq) else [],
                "at": self.a_at,
                "loop": self.a_loop,
                "retry_count_before": self.a_rc,
                "outcome": ["ok" if e is None else "error" for e in self.a_error],
                "error": self.a_error,
                "latency_s": self.a_latency,
                "delivered": self.a_delivered,
                "channel": [rows[i].channel for i in self.a_seq],
            },
            "ticks": {
                "loop": self.t_loop,
                "at": self.t_at,
                "rows": self.t_rows,
                "sends": self.t_sends,
                "duration_s": [np.nan if d is None else d for d in self.t_duration],
                "skipped": self.t_skipped,
                "deadline_hit": self.t_deadline_hit,
                "error": self.t_error,
            },
            "requeues": {
                "notification_id": self.r_id,
                "at": self.r_at,
                "action": self.r_action,
                "from_status": self.r_from,
                "retry_count_before": self.r_rc,
                "outcome": self.r_outcome,
            },
            "samples": {"at": self.s_at, **self.s_counts},
        }
        out = {}
        for name, data in columns.items():
            frame = {}
            for column, dtype in SCHEMAS[name].items():
                values = data[column]
                frame[column] = seconds_to_timestamps(values, start) if dtype == TIMESTAMP else pd.Series(values, dtype=dtype)
            out[name] = pd.DataFrame(frame)
        return out


def typed(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Cast a result table read back from storage to the dtypes of :data:`SCHEMAS` (timestamps to UTC)."""
    frame = frame.copy()
    for column, dtype in SCHEMAS[name].items():
        if dtype == TIMESTAMP:
            values = frame[column]
            if not isinstance(values.dtype, pd.DatetimeTZDtype):
                values = pd.to_datetime(values, utc=True)
            frame[column] = values.dt.tz_convert("UTC").astype(TIMESTAMP)
        else:
            frame[column] = frame[column].astype(dtype)
    return frame[list(SCHEMAS[name])]
