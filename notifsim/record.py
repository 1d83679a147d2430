"""Columnar buffers filled during a run, turned into the result DataFrames (:mod:`notifsim.schema`) at the end.

The engine appends scalars to per-column typed arrays (``array.array``: 8
bytes a value, no per-row objects); at the end :meth:`Recorder.tables`
converts each column once — numpy views of the arrays, Arrow-backed strings
— with simulation seconds becoming timezone-aware UTC timestamps
(microseconds; Go's zero time is ``0001-01-01``).  ``tables`` consumes the
buffers and the notification table as it goes, so a run's peak memory is
not doubled by the conversion.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import sys
from array import array

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute

from .certctl import COLUMNS, GENERATED_ID_PREFIX, STATUSES
from .machine import NotificationTable
from .schema import TABLES, pandas_dtypes
from .timeutil import ZERO_TIME_US, datetime_to_us

LOOPS = ("create", "process", "retry")
_LOOP_CODE = {name: i for i, name in enumerate(LOOPS)}
_NAN = float("nan")


def seconds_to_timestamps(seconds, start: dt.datetime) -> pd.Series:
    """UTC timestamps from simulation seconds; NaN/None → NaT, ``-inf`` → Go's zero time."""
    if isinstance(seconds, np.ndarray):
        s = seconds.astype(float, copy=False)
    elif isinstance(seconds, array):
        s = np.frombuffer(seconds, dtype=float) if len(seconds) else np.empty(0)
    else:
        s = np.array([_NAN if v is None else v for v in seconds], dtype=float)
    null = np.isnan(s)
    zero = np.isneginf(s)
    finite = ~(null | zero)
    us = np.zeros(len(s), dtype=np.int64)
    us[finite] = datetime_to_us(start) + np.round(s[finite] * 1_000_000).astype(np.int64)
    us[zero] = ZERO_TIME_US
    values = us.view("M8[us]")
    values[null] = np.datetime64("NaT")
    return pd.Series(pd.DatetimeIndex(values).tz_localize("UTC")).astype(TIMESTAMP)


def _numbers(values, dtype: str) -> np.ndarray:
    """A numpy view of a typed array (or a list), cast to ``dtype``."""
    if isinstance(values, array):
        return (np.frombuffer(values, dtype=np.dtype(values.typecode)) if len(values) else np.empty(0)).astype(dtype)
    return np.asarray(values, dtype=dtype)


TIMESTAMP = "datetime64[us, UTC]"
STRING = pd.StringDtype("pyarrow")

#: Column → pandas dtype of every result table, in column order (derived from :data:`notifsim.schema.TABLES`).
SCHEMAS: dict[str, dict[str, object]] = {name: pandas_dtypes(table) for name, table in TABLES.items()}


class Recorder:
    """Everything a run observes beyond the table itself: Send calls, ticks, operator actions, samples."""

    def __init__(self) -> None:
        # per notification (indexed by the row's insertion seq)
        self.n_attempts = array("q")
        self.n_deliveries = array("q")
        self.first_delivered = array("d")  # NaN: never delivered
        self.n_requeues = array("q")
        self.origin: list[str] = []
        # attempts
        self.a_seq = array("q")
        self.a_at = array("d")
        self.a_loop = array("b")  # index into LOOPS
        self.a_rc = array("q")
        self.a_error: list[str | None] = []  # error texts are shared objects, so a list of references is compact
        self.a_latency = array("d")
        self.a_delivered = array("b")
        self.a_retry_after = array("d")  # NaN: the server named no Retry-After
        # ticks
        self.t_loop = array("b")
        self.t_at = array("d")
        self.t_rows = array("q")
        self.t_sends = array("q")
        self.t_duration = array("d")  # NaN: still running at the horizon
        self.t_skipped = array("b")
        self.t_deadline_hit = array("b")
        self.t_error: dict[int, str] = {}  # tick index -> error text (rare)
        self.lost_creations = 0  # Create calls that failed (database down): no row, no send
        # requeues / operator actions
        self.r_id: list[str] = []
        self.r_at: list[float] = []
        self.r_action: list[str] = []
        self.r_from: list[str | None] = []
        self.r_rc: list[int | None] = []
        self.r_outcome: list[str] = []
        # status samples
        self.s_at = array("d")
        self.s_counts: dict[str, array] = {k: array("q") for k in (*STATUSES, "stranded")}

    # -- during the run -----------------------------------------------------

    def notification(self, origin: str) -> None:
        self.n_attempts.append(0)
        self.n_deliveries.append(0)
        self.first_delivered.append(_NAN)
        self.n_requeues.append(0)
        self.origin.append(origin)

    def attempt(
        self, seq: int, at: float, loop: str, rc_before: int, error: str | None, latency: float, delivered: bool, done: float, retry_after: float | None = None
    ) -> None:
        self.a_retry_after.append(_NAN if retry_after is None else retry_after)
        self.a_seq.append(seq)
        self.a_at.append(at)
        self.a_loop.append(_LOOP_CODE[loop])
        self.a_rc.append(rc_before)
        self.a_error.append(error)
        self.a_latency.append(latency)
        self.a_delivered.append(delivered)
        self.n_attempts[seq] += 1
        if delivered:
            self.n_deliveries[seq] += 1
            if self.first_delivered[seq] != self.first_delivered[seq]:  # NaN: first delivery
                self.first_delivered[seq] = done

    def open_tick(self, loop: str, at: float, skipped: bool = False) -> int:
        self.t_loop.append(_LOOP_CODE[loop])
        self.t_at.append(at)
        self.t_rows.append(0)
        self.t_sends.append(0)
        self.t_duration.append(0.0 if skipped else _NAN)
        self.t_skipped.append(skipped)
        self.t_deadline_hit.append(False)
        return len(self.t_at) - 1

    def update_tick(self, index: int, rows: int, sends: int, deadline_hit: bool) -> None:
        """Counts of a tick still running (its duration stays NULL unless it is closed)."""
        self.t_rows[index] = rows
        self.t_sends[index] = sends
        self.t_deadline_hit[index] = deadline_hit

    def close_tick(self, index: int, rows: int, sends: int, end: float, deadline_hit: bool, error: str | None = None) -> None:
        self.update_tick(index, rows, sends, deadline_hit)
        self.t_duration[index] = end - self.t_at[index]
        if error is not None:
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
        """The result tables as DataFrames typed by :data:`SCHEMAS` (UTC timestamps).

        Consumes the recorder's buffers and empties ``table``, column by column,
        so each stored column is freed once converted: call it once, at the end
        of the run.
        """
        columns = _table_columns(table)
        ids: pa.Array = columns["id"]
        channels: pa.Array = columns["channel"]
        a_seq = pa.array(_numbers(self.a_seq, "int64"))
        errors = pa.array(self.a_error, type=pa.large_string())
        self.a_error = []
        attempts = {
            "notification_id": ids.take(a_seq),
            "at": self.a_at,
            "loop": _names(LOOPS, self.a_loop),
            "retry_count_before": self.a_rc,
            "outcome": pa.compute.if_else(pa.compute.is_null(errors), "ok", "error").cast(pa.large_string()),
            "error": errors,
            "latency_s": self.a_latency,
            "delivered": _numbers(self.a_delivered, "bool"),
            "channel": channels.take(a_seq),
            "retry_after_s": self.a_retry_after,
        }
        notifications = dict(columns)
        notifications.update(
            attempts=self.n_attempts,
            deliveries=self.n_deliveries,
            first_delivered_at=self.first_delivered,
            requeues=self.n_requeues,
            origin=self.origin,
        )
        n_ticks = len(self.t_at)
        ticks = {
            "loop": _names(LOOPS, self.t_loop),
            "at": self.t_at,
            "rows": self.t_rows,
            "sends": self.t_sends,
            "duration_s": self.t_duration,
            "skipped": _numbers(self.t_skipped, "bool"),
            "deadline_hit": _numbers(self.t_deadline_hit, "bool"),
            "error": [self.t_error.get(i) for i in range(n_ticks)] if self.t_error else [None] * n_ticks,
        }
        requeues = {
            "notification_id": self.r_id,
            "at": self.r_at,
            "action": self.r_action,
            "from_status": self.r_from,
            "retry_count_before": self.r_rc,
            "outcome": self.r_outcome,
        }
        samples = {"at": self.s_at, **self.s_counts}
        out = {}
        for name, data in (("notifications", notifications), ("attempts", attempts), ("ticks", ticks), ("requeues", requeues), ("samples", samples)):
            frame = {}
            for column, dtype in SCHEMAS[name].items():
                frame[column] = _series(data.pop(column), dtype, start)
                _give_back_free_memory()
            out[name] = pd.DataFrame(frame, copy=False)
            _give_back_free_memory()
        Recorder.__init__(self)  # release the buffers
        _give_back_free_memory()
        return out


def _give_back_free_memory() -> None:
    """Return memory that glibc's allocator keeps after large frees to the OS (no-op elsewhere).

    Converting a large run frees the run's column buffers while Arrow allocates
    the result's; without this the process would hold both at once.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _load_malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _load_malloc_trim()


def _id_column(table: NotificationTable) -> pa.Array:
    """Every row's id as Arrow strings: given ids as they are, generated ones rebuilt from their parts."""
    given, counters, created = table.generated_ids()
    counters = _numbers(counters, "int64")
    ids = pa.array(given, type=pa.large_string())
    if not counters.any():
        return ids
    created = _numbers(created, "float64")
    ns = table.id_epoch_ns + np.round(np.where(np.isfinite(created), created, 0.0) * 1e9).astype(np.int64)
    text = pa.large_string()
    made = pa.compute.binary_join_element_wise(  # NotificationTable.id_of, for every row at once
        pa.scalar(GENERATED_ID_PREFIX, text), pa.array(ns).cast(text), pa.scalar("-", text), pa.array(counters).cast(text), pa.scalar("", text)
    )
    return pa.compute.if_else(pa.array(counters > 0), made, ids)


def _table_columns(table: NotificationTable) -> dict[str, object]:
    """certctl's columns of every row — strings as Arrow arrays, numbers as arrays — emptying the table."""
    table.drop_indexes()
    out: dict[str, object] = {"id": _id_column(table)}
    for name in COLUMNS[1:]:
        values = table.take_column(name)
        out[name] = pa.array(values, type=pa.large_string()) if SCHEMAS["notifications"][name] == STRING else values
        del values
        _give_back_free_memory()
    table.clear()
    _give_back_free_memory()
    return out


def _names(names: tuple[str, ...], codes: array) -> pa.Array:
    """Arrow strings ``names[code]`` for integer codes."""
    return pa.array(names, type=pa.large_string()).take(pa.array(_numbers(codes, "int64")))


def _series(values, dtype, start: dt.datetime) -> pd.Series:
    """One result column of ``dtype`` from an array, an Arrow array or a list."""
    if dtype == TIMESTAMP:
        return seconds_to_timestamps(values, start)
    if dtype == STRING and isinstance(values, (pa.Array, pa.ChunkedArray)):
        return pd.Series(pd.arrays.ArrowStringArray(values), copy=False)
    if isinstance(values, array):
        return pd.Series(_numbers(values, dtype), copy=False)
    if dtype == STRING:
        return pd.Series(pd.arrays.ArrowStringArray(pa.array(values, type=pa.large_string())), copy=False)
    return pd.Series(values, dtype=dtype)


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
