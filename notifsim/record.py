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
    return pd.Series(pd.DatetimeIndex(values).tz_localize("UTC"))


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
        """The four result tables of DESIGN §4 plus ``requeues``, as DataFrames with UTC timestamps."""
        rows = table.rows
        ids = np.array([r.id for r in rows], dtype=object)
        cols = {name: [getattr(r, name) for r in rows] for name in COLUMNS}
        notifications = pd.DataFrame(
            {
                "id": pd.Series(cols["id"], dtype="string"),
                "type": pd.Series(cols["type"], dtype="string"),
                "certificate_id": pd.Series(cols["certificate_id"], dtype="string"),
                "channel": pd.Series(cols["channel"], dtype="string"),
                "recipient": pd.Series(cols["recipient"], dtype="string"),
                "message": pd.Series(cols["message"], dtype="string"),
                "status": pd.Series(cols["status"], dtype="string"),
                "retry_count": pd.Series(cols["retry_count"], dtype="int64"),
                "next_retry_at": seconds_to_timestamps(cols["next_retry_at"], start),
                "last_error": pd.Series(cols["last_error"], dtype="string"),
                "error": pd.Series(cols["error"], dtype="string"),
                "created_at": seconds_to_timestamps(cols["created_at"], start),
                "sent_at": seconds_to_timestamps(cols["sent_at"], start),
                "attempts": pd.Series(self.n_attempts, dtype="int64"),
                "deliveries": pd.Series(self.n_deliveries, dtype="int64"),
                "first_delivered_at": seconds_to_timestamps(self.first_delivered, start),
                "requeues": pd.Series(self.n_requeues, dtype="int64"),
                "origin": pd.Series(self.origin, dtype="string"),
            }
        )
        a_seq = np.array(self.a_seq, dtype=np.int64)
        attempts = pd.DataFrame(
            {
                "notification_id": pd.Series(ids[a_seq] if len(a_seq) else [], dtype="string"),
                "at": seconds_to_timestamps(np.array(self.a_at, dtype=float), start),
                "loop": pd.Series(self.a_loop, dtype="string"),
                "retry_count_before": pd.Series(self.a_rc, dtype="int64"),
                "outcome": pd.Series(["ok" if e is None else "error" for e in self.a_error], dtype="string"),
                "error": pd.Series(self.a_error, dtype="string"),
                "latency_s": pd.Series(self.a_latency, dtype="float64"),
                "delivered": pd.Series(self.a_delivered, dtype="bool"),
                "channel": pd.Series(np.array([rows[i].channel for i in self.a_seq], dtype=object), dtype="string"),
            }
        )
        ticks = pd.DataFrame(
            {
                "loop": pd.Series(self.t_loop, dtype="string"),
                "at": seconds_to_timestamps(np.array(self.t_at, dtype=float), start),
                "rows": pd.Series(self.t_rows, dtype="int64"),
                "sends": pd.Series(self.t_sends, dtype="int64"),
                "duration_s": pd.Series([np.nan if d is None else d for d in self.t_duration], dtype="float64"),
                "skipped": pd.Series(self.t_skipped, dtype="bool"),
                "deadline_hit": pd.Series(self.t_deadline_hit, dtype="bool"),
                "error": pd.Series(self.t_error, dtype="string"),
            }
        )
        requeues = pd.DataFrame(
            {
                "notification_id": pd.Series(self.r_id, dtype="string"),
                "at": seconds_to_timestamps(np.array(self.r_at, dtype=float), start),
                "action": pd.Series(self.r_action, dtype="string"),
                "from_status": pd.Series(self.r_from, dtype="string"),
                "retry_count_before": pd.Series(self.r_rc, dtype="Int64"),
                "outcome": pd.Series(self.r_outcome, dtype="string"),
            }
        )
        samples = pd.DataFrame(
            {"at": seconds_to_timestamps(np.array(self.s_at, dtype=float), start)}
            | {key: pd.Series(values, dtype="int64") for key, values in self.s_counts.items()}
        )
        return {"notifications": notifications, "attempts": attempts, "ticks": ticks, "requeues": requeues, "samples": samples}
