"""How certctl's database fails: outage windows and independent write errors.

certctl treats every repository error the same way (``internal/service/notification.go``,
``internal/scheduler/scheduler.go``): a failed
``List`` makes the tick return an error with zero sends; a failed status
write after a send leaves the row as it was, so a delivered row stays
``pending`` and is sent again next tick; a failed ``Create`` means no row
and no send; a failed ``Requeue`` is an HTTP 500.  During an outage window
every repository call fails; outside, each row write fails independently
with ``write_error_rate`` (drawn from the run's ``database`` stream).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import ConfigError
from .streams import Streams, uniforms
from .timeutil import parse_duration


class Database:
    """Database faults: ``outages`` as ``(start, duration)`` pairs (seconds or "15m"), and a write error rate.

    ``outages`` keeps the pairs as given (sorted by start); :attr:`windows`
    holds the same outages as ``(start, end)`` intervals.
    """

    def __init__(self, outages: Sequence[Sequence] = (), write_error_rate: float = 0.0, error: str = "pq: database unavailable"):
        pairs = []
        if isinstance(outages, (str, bytes)) or not isinstance(outages, Sequence):
            raise ConfigError("database.outages", f"must be a list of (start, duration) pairs; got {outages!r}")
        for i, item in enumerate(outages):
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise ConfigError(f"database.outages[{i}]", "must be a (start, duration) pair")
            start = parse_duration(item[0], f"database.outages[{i}].start", allow_zero=True)
            duration = parse_duration(item[1], f"database.outages[{i}].duration")
            pairs.append((start, duration))
        rate = write_error_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
            raise ConfigError("database.write_error_rate", f"must be a probability in [0, 1]; got {rate!r}")
        if not isinstance(error, str) or not error:
            raise ConfigError("database.error", "must be a non-empty string")
        self.outages = sorted(pairs)
        self.write_error_rate = float(rate)
        self.error = error

    @property
    def windows(self) -> list[tuple[float, float]]:
        """The outages as ``[start, end)`` intervals, seconds after the run start."""
        return [(start, start + duration) for start, duration in self.outages]

    def describe(self) -> dict:
        """Settings as plain values, in the constructor's terms (outages as ``[start, duration]``)."""
        return {"outages": [list(pair) for pair in self.outages], "write_error_rate": self.write_error_rate, "error": self.error}

    def bind(self, streams: Streams) -> DatabaseState:
        """The database of one run, drawing write errors from the run's ``database`` stream."""
        return DatabaseState(self, streams)


class DatabaseState:
    """The database of one run: ``available(now)`` for any call, ``write_ok(now, key)`` for a row write.

    A write's error is drawn from the run's ``database`` stream, keyed by the
    write (its notification and how many writes that notification had
    before), so a write fails or not whatever else was written before it.
    """

    def __init__(self, model: Database, streams: Streams):
        self.outages = model.windows
        self.rate = model.write_error_rate
        self.error = model.error
        self._starts = np.array([start for start, _ in self.outages])
        # per outage in start order: the latest end of it and every outage before it (outages may overlap)
        self._ends = np.append(np.maximum.accumulate(np.array([end for _, end in self.outages], float)), -np.inf)
        self._uniform = streams.keyed("database") if self.rate > 0 else None

    @property
    def faulty(self) -> bool:
        """Whether any call can fail (outages or write errors)."""
        return bool(self.outages) or self._uniform is not None

    def available(self, now: float) -> bool:
        """Whether the database answers calls at ``now`` (outside every outage)."""
        if not self.outages:
            return True
        return all(not start <= now < end for start, end in self.outages)

    def available_many(self, now: np.ndarray) -> np.ndarray:
        """:meth:`available` at each instant."""
        if not self.outages:
            return np.ones(len(now), dtype=bool)
        i = np.searchsorted(self._starts, now, side="right") - 1
        return ~((i >= 0) & (now < self._ends[i]))

    def write_ok(self, now: float, key: int) -> bool:
        """Whether the row write with this key, made at ``now``, succeeds."""
        if self.outages and not self.available(now):
            return False
        return self._uniform is None or self._uniform(key) >= self.rate

    def write_ok_many(self, now: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """:meth:`write_ok` for each (instant, key)."""
        ok = self.available_many(now)
        if self._uniform is not None:
            ok &= uniforms(self._uniform.salt, keys) >= self.rate
        return ok


#: A database that never fails (the default).
HEALTHY = Database()
