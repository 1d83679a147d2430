"""Columnar buffers filled during a run, turned into the result DataFrames (:mod:`notifsim.schema`) at the end.

The engine appends to growable numpy arrays, one Send or many at a time;
text is kept as codes of the table's pools.  At the end
:meth:`Recorder.tables` converts each column once — Arrow-backed strings,
simulation seconds as timezone-aware UTC timestamps (microseconds; Go's
zero time is ``0001-01-01``) — and puts the Send calls in their canonical
order: by the instant the Send returned, then the instant it began, then
the notification's row number, then its attempt number (a property of the
run, not of the engine).  ``tables`` consumes the buffers and the table
column by column, so the conversion does not double a run's peak memory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from array import array
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .certctl import GENERATED_ID_PREFIX, STATUSES
from .layout import IdParts
from .machine import NotificationTable
from .machine.columns import PackedText, Pool, TextColumn
from .memory import TRIM_ROWS, give_back_free_memory, system_allocator
from .schema import TABLES, pandas_dtypes
from .timeutil import ZERO_TIME_US, datetime_to_us

LOOPS = ("create", "process", "retry")
LOOP_CODE = {name: i for i, name in enumerate(LOOPS)}
_NAN = float("nan")

TIMESTAMP = "datetime64[us, UTC]"
STRING = pd.StringDtype("pyarrow")

#: Column → pandas dtype of every result table, in column order (derived from :data:`notifsim.schema.TABLES`).
SCHEMAS: dict[str, dict[str, object]] = {name: pandas_dtypes(table) for name, table in TABLES.items()}

_ATTEMPT_COLUMNS = {
    "seq": np.int64,
    "at": np.float64,
    "done": np.float64,
    "loop": np.int8,
    "rc": np.int64,
    "error": np.int32,
    "latency": np.float64,
    "delivered": np.bool_,
    "retry_after": np.float64,
    "ordinal": np.int64,
    "replica": np.int16,
}
_ROW_COLUMNS = {"n_attempts": np.int64, "n_deliveries": np.int64, "first_delivered": np.float64, "n_requeues": np.int64, "origin": np.int8}
ORIGINS = ("created", "initial")


def seconds_to_timestamps(seconds: Any, start: dt.datetime) -> pd.Series:
    """UTC timestamps from simulation seconds; NaN/None → NaT, ``-inf`` → Go's zero time."""
    if isinstance(seconds, np.ndarray):
        s = seconds.astype(float, copy=False)
    elif isinstance(seconds, array):
        s = np.frombuffer(seconds, dtype=float) if len(seconds) else np.empty(0)
    else:
        s = np.array([_NAN if v is None else v for v in seconds], dtype=float)
    null = np.isnan(s)
    zero = np.isneginf(s)
    scaled = s * 1_000_000.0  # in place from here on: a large run's column is converted with two temporaries
    np.round(scaled, out=scaled)
    scaled[null | zero] = 0.0
    us = scaled.astype(np.int64)
    del scaled
    us += datetime_to_us(start)
    us[zero] = ZERO_TIME_US
    values = us.view("M8[us]")
    values[null] = np.datetime64("NaT")
    return pd.Series(values, copy=False).dt.tz_localize("UTC")


class _Buffer:
    """Growable numpy columns of a common length; slots beyond ``n`` are zero until used."""

    def __init__(self, dtypes: dict[str, Any], capacity: int = 1024):
        self.n = 0
        self.cap = capacity
        self.cols = {name: np.zeros(capacity, dtype) for name, dtype in dtypes.items()}

    def reserve(self, k: int) -> None:
        need = self.n + k
        if need > self.cap:
            cap = max(need, 2 * self.cap)
            for name, old in self.cols.items():
                new = np.zeros(cap, old.dtype)
                new[: self.n] = old[: self.n]
                self.cols[name] = new
            self.cap = cap

    def used(self, name: str) -> np.ndarray:
        return self.cols[name][: self.n]

    def take(self, name: str, order: np.ndarray | slice) -> np.ndarray:
        """Column ``name`` rearranged by ``order`` (:func:`_in_order`); the buffer lets go of it, so it is freed now."""
        return _in_order(self.cols.pop(name)[: self.n], order)


class Recorder:
    """Everything a run observes beyond the table itself: Send calls, ticks, operator actions, samples."""

    def __init__(self) -> None:
        self.rows = _Buffer(_ROW_COLUMNS)
        self.sends = _Buffer(_ATTEMPT_COLUMNS)
        self.attempt_rows: np.ndarray | None = None  # after tables(): each Send's row, in the attempts table's order
        self.id_parts: IdParts | None = None  # after tables() of a run under TRIM_ROWS rows: how its ids were made
        # ticks
        self.t_loop = array("b")
        self.t_replica = array("h")
        self.t_at = array("d")
        self.t_rows = array("q")
        self.t_sends = array("q")
        self.t_duration = array("d")  # NaN: still running at the horizon
        self.t_skipped = array("b")
        self.t_deadline_hit = array("b")
        self.t_error: dict[int, str] = {}  # tick index -> error text (rare)
        self.lost_creations = 0  # Create calls that failed (database down): no row, no send
        # operator actions
        self.r_id: list[str] = []
        self.r_at: list[float] = []
        self.r_action: list[str] = []
        self.r_from: list[str | None] = []
        self.r_rc: list[int | None] = []
        self.r_outcome: list[str] = []
        # status samples
        self.s_at = array("d")
        self.s_counts: dict[str, array] = {k: array("q") for k in (*STATUSES, "stranded")}

    # -- notifications ---------------------------------------------------------------

    def notification(self, origin: str) -> None:
        """A row was inserted (``origin``: created or initial)."""
        rows = self.rows
        if rows.n >= rows.cap:
            rows.reserve(1)
        n = rows.n
        c = rows.cols  # the counts of a new slot are already 0 (buffers grow zeroed)
        c["first_delivered"][n] = _NAN
        c["origin"][n] = ORIGINS.index(origin)
        rows.n = n + 1

    def notifications(self, k: int, origin: str) -> None:
        """``k`` rows were inserted."""
        rows = self.rows
        rows.reserve(k)
        n = rows.n
        sl = slice(n, n + k)  # their counts are already 0 (buffers grow zeroed)
        rows.cols["first_delivered"][sl] = _NAN
        rows.cols["origin"][sl] = ORIGINS.index(origin)
        rows.n = n + k

    # -- Send calls ---------------------------------------------------------------------

    def attempt(
        self, seq: int, at: float, loop: int, rc_before: int, error: int, latency: float, delivered: bool, done: float, retry_after: float, replica: int = 0
    ) -> None:
        """One Send call of row ``seq`` by ``replica`` (``loop`` a code of :data:`LOOPS`; ``error`` a text code, -1 for none)."""
        s = self.sends
        if s.n >= s.cap:
            s.reserve(1)
        i = s.n
        c = s.cols
        n_attempts = self.rows.cols["n_attempts"]
        c["seq"][i] = seq
        c["at"][i] = at
        c["done"][i] = done
        c["loop"][i] = loop
        c["rc"][i] = rc_before
        c["error"][i] = error
        c["latency"][i] = latency
        c["delivered"][i] = delivered
        c["retry_after"][i] = retry_after
        c["ordinal"][i] = n_attempts[seq]
        c["replica"][i] = replica
        s.n = i + 1
        n_attempts[seq] += 1
        if delivered:
            self.rows.cols["n_deliveries"][seq] += 1
            first = self.rows.cols["first_delivered"]
            if not first[seq] <= done:  # NaN (never delivered) or later
                first[seq] = done

    def attempts_many(
        self,
        seq: np.ndarray,
        at: np.ndarray,
        loop: np.ndarray,
        rc_before: np.ndarray,
        error: np.ndarray,
        latency: np.ndarray,
        delivered: np.ndarray,
        done: np.ndarray,
        retry_after: np.ndarray,
        replica: np.ndarray | int = 0,
    ) -> None:
        """Many Send calls of distinct rows at once."""
        k = len(seq)
        if not k:
            return
        s = self.sends
        s.reserve(k)
        sl = slice(s.n, s.n + k)
        c = s.cols
        n_attempts = self.rows.cols["n_attempts"]
        c["seq"][sl] = seq
        c["at"][sl] = at
        c["done"][sl] = done
        c["loop"][sl] = loop
        c["rc"][sl] = rc_before
        c["error"][sl] = error
        c["latency"][sl] = latency
        c["delivered"][sl] = delivered
        c["retry_after"][sl] = retry_after
        c["ordinal"][sl] = n_attempts[seq]
        c["replica"][sl] = replica
        s.n += k
        n_attempts[seq] += 1
        if delivered.any():
            d = seq[delivered]
            self.rows.cols["n_deliveries"][d] += 1
            first = self.rows.cols["first_delivered"]
            first[d] = np.fmin(first[d], done[delivered])

    def recent(self, channel_rows: np.ndarray, k: int) -> list[bool]:
        """The outcomes (True: no error) of the last ``k`` recorded Sends of the rows flagged in ``channel_rows``
        (a boolean per row), oldest first, in the canonical order."""
        s = self.sends
        seq = s.used("seq")
        mine = np.flatnonzero(channel_rows[seq])
        if not len(mine) or k <= 0:
            return []
        order = np.lexsort((s.used("ordinal")[mine], seq[mine], s.used("at")[mine], s.used("done")[mine]))
        last = mine[order[-k:]]
        return (s.used("error")[last] < 0).tolist()

    def requeued(self, seq: int) -> None:
        self.rows.cols["n_requeues"][seq] += 1

    # -- ticks, actions, samples ------------------------------------------------------------

    def open_tick(self, loop: str, at: float, replica: int = 0, skipped: bool = False) -> int:
        self.t_loop.append(LOOP_CODE[loop])
        self.t_replica.append(replica)
        self.t_at.append(at)
        self.t_rows.append(0)
        self.t_sends.append(0)
        self.t_duration.append(0.0 if skipped else _NAN)
        self.t_skipped.append(skipped)
        self.t_deadline_hit.append(False)
        return len(self.t_at) - 1

    def empty_ticks(self, loops: Any, replicas: Any, at: Any, error: Any, error_text: str) -> None:
        """Ticks that listed nothing (``error``: their List failed with ``error_text``), in order; numpy arrays, or
        lists for a few ticks (appended as they are: 3.6 µs for three ticks, against 9.2 µs through numpy)."""
        first, n = len(self.t_at), len(at)
        if isinstance(at, list):
            self.t_loop.extend(loops)
            self.t_replica.extend(replicas)
            self.t_at.extend(at)
            failed = [i for i, e in enumerate(error) if e]
        else:
            for column, values, dtype in ((self.t_loop, loops, np.int8), (self.t_replica, replicas, np.int16), (self.t_at, at, np.float64)):
                column.frombytes(np.asarray(values, dtype).tobytes())
            failed = np.flatnonzero(error).tolist()
        for column in (self.t_rows, self.t_sends, self.t_duration, self.t_skipped, self.t_deadline_hit):
            column.frombytes(bytes(column.itemsize * n))  # 0, 0.0 and False
        for i in failed:
            self.t_error[first + i] = error_text

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
            self.requeued(seq)

    def sample(self, at: float, counts: dict[str, int]) -> int:
        """Status counts at ``at``; returns the sample's index."""
        self.s_at.append(at)
        for key, column in self.s_counts.items():
            column.append(counts[key])
        return len(self.s_at) - 1

    def add_to_sample(self, index: int, counts: list[int]) -> None:
        """Count more rows in sample ``index`` (rows it could not see when it was taken): per status, then stranded."""
        for column, n in zip(self.s_counts.values(), counts):
            column[index] += n

    # -- at the end ---------------------------------------------------------------------

    def tables(self, table: NotificationTable, start: dt.datetime) -> dict[str, pd.DataFrame]:
        """The result tables as DataFrames typed by :data:`SCHEMAS` (UTC timestamps).

        Consumes the recorder's buffers and empties ``table``, column by
        column: call it once, at the end of the run.
        """
        large = table.n >= TRIM_ROWS  # a large run: Arrow on the C heap, freed memory returned after each column
        with system_allocator() if large else contextlib.nullcontext():
            return self._tables(table, start, large)

    def _tables(self, table: NotificationTable, start: dt.datetime, large: bool) -> dict[str, pd.DataFrame]:
        texts = _pool_array(table.texts)
        parts = None if large else (table.column("id_ns").copy(), table.column("counter").copy())
        columns = _table_columns(table, large)
        if parts is not None:
            self.id_parts = IdParts(columns["id"], *parts)
        ids, channels = columns["id"], columns["channel"]
        s = self.sends
        order = _lexsorted((s.used("done"), s.used("at"), s.used("seq"), s.used("ordinal")))
        del s.cols["done"], s.cols["ordinal"]  # each buffer column goes as soon as it is used (a large run's peak)
        self.attempt_rows = s.take("seq", order)
        a_seq = pa.array(self.attempt_rows)
        errors = _decode(texts, s.take("error", order))
        attempts = {
            "notification_id": ids.take(a_seq),
            "at": s.take("at", order),
            "loop": _decode(pa.array(LOOPS, pa.large_string()), s.take("loop", order).astype(np.int32)),
            "retry_count_before": s.take("rc", order),
            "outcome": pc.if_else(pc.is_null(errors), "ok", "error").cast(pa.large_string()),
            "error": errors,
            "latency_s": s.take("latency", order),
            "delivered": s.take("delivered", order),
            "channel": channels.take(a_seq),
            "retry_after_s": s.take("retry_after", order),
            "replica": s.take("replica", order).astype(np.int64),
        }
        self.sends = _Buffer(_ATTEMPT_COLUMNS, 1)
        del s  # the last reference to the Send buffer
        give_back_free_memory(large)
        r = self.rows
        notifications = columns  # the same dict: each column is freed as soon as it is converted
        notifications.update(  # exact-size copies: the buffer (with its spare capacity) goes column by column
            attempts=r.take("n_attempts", slice(None)),
            deliveries=r.take("n_deliveries", slice(None)),
            first_delivered_at=r.take("first_delivered", slice(None)),
            requeues=r.take("n_requeues", slice(None)),
            origin=_decode(pa.array(ORIGINS, pa.large_string()), r.take("origin", slice(None)).astype(np.int32)),
        )
        n_ticks = len(self.t_at)
        ticks = {
            "loop": _decode(pa.array(LOOPS, pa.large_string()), np.frombuffer(self.t_loop, np.int8).astype(np.int32) if n_ticks else np.empty(0, np.int32)),
            "replica": np.frombuffer(self.t_replica, np.int16).astype(np.int64) if n_ticks else np.empty(0, np.int64),
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
        del columns, ids, channels, errors, a_seq, order, texts, r  # r: the last reference to the row buffer
        rows, id_parts = self.attempt_rows, self.id_parts
        Recorder.__init__(self)  # release the buffers (each column above is freed as soon as it is converted)
        self.attempt_rows, self.id_parts = rows, id_parts
        give_back_free_memory(large)
        out = {}
        for name, data in (("notifications", notifications), ("attempts", attempts), ("ticks", ticks), ("requeues", requeues), ("samples", samples)):
            frame = {}
            for column, dtype in SCHEMAS[name].items():
                frame[column] = _series(data.pop(column), dtype, start)
                give_back_free_memory(large)
            out[name] = pd.DataFrame(frame, copy=False)
            give_back_free_memory(large)
        return out


def _numbers(values: Any, dtype: str) -> np.ndarray:
    """A numpy view of a typed array (or a list), cast to ``dtype``."""
    if isinstance(values, array):
        return (np.frombuffer(values, dtype=np.dtype(values.typecode)) if len(values) else np.empty(0)).astype(dtype)
    return np.asarray(values, dtype=dtype)


def _pool_array(pool: Pool) -> pa.Array:
    return pa.array(pool.texts, type=pa.large_string())


def _decode(texts: pa.Array, codes: np.ndarray) -> pa.Array:
    """Arrow strings ``texts[code]`` for integer codes (-1: NULL)."""
    codes = np.asarray(codes)
    return texts.take(pa.array(codes, mask=codes < 0))


def _text_column(column: TextColumn) -> pa.ChunkedArray:
    """A :class:`~notifsim.machine.columns.TextColumn` as Arrow strings: packed chunks wrapped, not copied; the
    runs of other chunks between them (an arrival workload's blocks, a few hundred rows each) joined into one
    array, since a column in many small chunks is slow to work with (DuckDB inserts it about 1.5x slower)."""
    arrays: list[pa.Array] = []
    loose: list[pa.Array] = []  # consecutive chunks not packed, joined when the run ends
    for chunk in [*column.chunks(), None]:
        if not isinstance(chunk, PackedText) and chunk is not None:
            if isinstance(chunk, (pa.Array, pa.ChunkedArray)):
                part = chunk if chunk.type == pa.large_string() else chunk.cast(pa.large_string())
            else:
                part = pa.array(chunk, type=pa.large_string())
            loose.extend(part.chunks if isinstance(part, pa.ChunkedArray) else [part])
            continue
        if loose:
            arrays.append(loose[0] if len(loose) == 1 else pa.concat_arrays(loose))
            loose = []
        if chunk is not None:
            validity = None if chunk.valid.all() else pa.py_buffer(np.packbits(chunk.valid, bitorder="little"))
            arrays.append(pa.Array.from_buffers(pa.large_string(), len(chunk), [validity, pa.py_buffer(chunk.offsets), pa.py_buffer(chunk.data)]))
    return pa.chunked_array(arrays, pa.large_string())


def _id_column(table: NotificationTable, rows_per_slice: int) -> pa.ChunkedArray:
    """Every row's id as Arrow strings: given ids as they are, generated ones built from their parts
    (in slices, of :data:`_ID_SLICE` rows for a large run, so the intermediate texts stay small)."""
    n = table.n
    counters, id_ns = table.column("counter"), table.column("id_ns")
    text = pa.large_string()
    prefix, dash, empty = pa.scalar(GENERATED_ID_PREFIX, text), pa.scalar("-", text), pa.scalar("", text)
    chunks = []
    for lo in range(0, max(n, 1), rows_per_slice):
        hi = min(n, lo + rows_per_slice)
        part = counters[lo:hi]
        if table._given_text and not part.all():  # counter 0: an id given by a backlog row
            texts: list[str | None] = [None] * (hi - lo)
            for seq, given_id in table._given_text.items():  # the given ids only, not every row of the slice
                if lo <= seq < hi:
                    texts[seq - lo] = given_id
            given = pa.array(texts, type=text)
        else:
            given = pa.nulls(hi - lo, text)
        if not part.any():
            chunks.append(given)
            continue
        made = pc.binary_join_element_wise(prefix, pa.array(id_ns[lo:hi]).cast(text), dash, pa.array(part).cast(text), empty)
        chunks.append(made if part.all() else pc.if_else(pa.array(part > 0), made, given))
    return pa.chunked_array(chunks, text)


#: Rows per slice when building generated ids.
_ID_SLICE = 1 << 17


def _in_order(values: np.ndarray, order: np.ndarray | slice) -> np.ndarray:
    """``values`` rearranged by ``order``: always a new array of exactly their length (the buffer behind them goes)."""
    return values.copy() if isinstance(order, slice) else values[order]


def _lexsorted(keys: tuple[np.ndarray, ...]) -> np.ndarray | slice:
    """The order that sorts rows by ``keys`` (first key first); ``slice(None)`` when they are in order already
    (Send calls are mostly recorded in the order they end: checking costs a few comparisons, sorting far more)."""
    n = len(keys[0])
    if n > 1:
        before = np.zeros(n - 1, bool)  # row i comes strictly before row i + 1 by the keys compared so far
        tied = np.ones(n - 1, bool)
        for key in keys:
            a, b = key[:-1], key[1:]
            before |= tied & (a < b)
            tied &= a == b
            if not tied.any():
                break
        if not (before | tied).all():
            return np.lexsort(keys[::-1])
    return slice(None)


def _table_columns(table: NotificationTable, large: bool) -> dict[str, Any]:
    """certctl's columns of every row — strings as Arrow arrays, numbers as arrays — emptying the table."""
    out: dict[str, Any] = {"id": _id_column(table, _ID_SLICE if large else max(table.n, 1)).combine_chunks()}  # one array: attempts take from it
    out["type"] = _decode(_pool_array(table.types), table.column("type", take=True).astype(np.int32))
    out["certificate_id"] = _text_column(table.certificate_ids)
    out["channel"] = _decode(_pool_array(table.channels), table.column("channel", take=True).astype(np.int32))
    out["recipient"] = _decode(_pool_array(table.recipients), table.column("recipient", take=True))
    out["message"] = _text_column(table.messages)
    out["status"] = _decode(_pool_array(table.statuses), table.column("status", take=True).astype(np.int32))
    out["retry_count"] = table.column("retry_count", take=True)
    texts = _pool_array(table.texts)
    out["next_retry_at"] = table.column("next_retry_at", take=True)
    out["last_error"] = _decode(texts, table.column("last_error", take=True))
    out["error"] = _decode(texts, table.column("error", take=True))
    out["created_at"] = table.column("created_at", take=True)
    out["sent_at"] = table.column("sent_at", take=True)
    table.clear()
    give_back_free_memory(large)
    return out


def _series(values: Any, dtype: Any, start: dt.datetime) -> pd.Series:
    """One result column of ``dtype`` from an array, an Arrow array or a list."""
    if dtype == TIMESTAMP:
        return seconds_to_timestamps(values, start)
    if dtype == STRING and isinstance(values, (pa.Array, pa.ChunkedArray)):
        return pd.Series(pd.arrays.ArrowStringArray(values), copy=False)
    if isinstance(values, array):
        return pd.Series(_numbers(values, dtype), copy=False)
    if isinstance(values, np.ndarray):
        return pd.Series(values.astype(dtype, copy=False), copy=False)
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
