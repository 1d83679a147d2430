"""Arrival processes: notifications created at random times, independently of any certificate.

* :class:`Poisson` — a constant rate of notifications of given channels and types;
* :class:`Diurnal` — the same with an hour-of-day and day-of-week profile.

Each arrival goes through certctl's creator path: ``Create`` a ``pending``
row, then send it at once in the creator's own context.  Arrival times and
choices come from the run's ``arrivals`` stream only, so they are the same
under every policy on one seed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Generator, Mapping, Sequence
from typing import Any

import numpy as np

from ..certctl import CHANNELS, REVOCATION_CHANNELS, TYPES
from ..errors import ConfigError
from ..hooks import GeneratorRun, Run, WorkloadHooks
from ..timeutil import DEFAULT_START, parse_duration
from .base import Workload, number, weights

#: Arrivals as columns: ``at`` (seconds after the start), ``channel``, ``type`` and ``owner`` (1-based).
Arrivals = dict[str, np.ndarray]


class Poisson(Workload):
    """Notifications arrive as a Poisson process of ``rate_per_hour``.

    Each arrival picks a channel and a type by the given weights; a
    ``Revocation`` ignores the channel pick and creates certctl's two rows,
    Webhook then Email (``notifsim.certctl.REVOCATION_CHANNELS``).  The
    creator sends at once with a context of ``deadline`` seconds (certctl's
    renewal check uses 5 min).  Recipients are ``owner-<k>@example.com`` for
    k in 1..``recipients``; the i-th arrival concerns certificate ``mc-<i>``.
    """

    def __init__(
        self,
        rate_per_hour: float,
        channels: Mapping[str, float] | str = "Email",
        types: Mapping[str, float] | str = "ExpirationWarning",
        recipients: int = 100,
        deadline: float | str = 300.0,
    ):
        name = type(self).__name__
        if isinstance(rate_per_hour, bool) or not isinstance(rate_per_hour, (int, float)) or not math.isfinite(rate_per_hour) or rate_per_hour < 0:
            raise ConfigError(f"{name}.rate_per_hour", f"must be a rate >= 0 per hour; got {rate_per_hour!r}")
        if isinstance(recipients, bool) or not isinstance(recipients, int) or recipients < 1:
            raise ConfigError(f"{name}.recipients", f"must be an integer >= 1; got {recipients!r}")
        self.rate_per_hour = float(rate_per_hour)
        self.channels = weights(channels, f"{name}.channels", CHANNELS)
        self.types = weights(types, f"{name}.types", TYPES)
        self.recipients = recipients
        self.deadline = parse_duration(deadline, f"{name}.deadline")

    def arrivals(self, rng: np.random.Generator, horizon_s: float, start: dt.datetime = DEFAULT_START) -> Arrivals:
        """Arrival times (s) in ``[0, horizon_s)`` with channel, type and owner, as columns."""
        rate_s = self.rate_per_hour / 3600.0
        if rate_s == 0:
            return self._label(rng, np.empty(0))
        expected = rate_s * horizon_s
        n = int(expected + 10 * math.sqrt(expected) + 20)
        times = np.cumsum(rng.exponential(1.0 / rate_s, size=n))
        while times[-1] < horizon_s:  # astronomically rare: extend
            more = times[-1] + np.cumsum(rng.exponential(1.0 / rate_s, size=n))
            times = np.concatenate([times, more])
        times = times[times < horizon_s]
        return self._label(rng, times)

    def _label(self, rng: np.random.Generator, times: np.ndarray) -> Arrivals:
        """Channel, type and owner for each arrival time, drawn by the weights."""
        k = len(times)
        ch_names, ch_w = list(self.channels), np.array(list(self.channels.values()))
        ty_names, ty_w = list(self.types), np.array(list(self.types.values()))
        channel = np.array(ch_names, dtype=object)[rng.choice(len(ch_names), size=k, p=ch_w / ch_w.sum())]
        type_ = np.array(ty_names, dtype=object)[rng.choice(len(ty_names), size=k, p=ty_w / ty_w.sum())]
        owner = rng.integers(1, self.recipients + 1, size=k)
        return {"at": times, "channel": channel, "type": type_, "owner": owner}

    def bind(self, hooks: WorkloadHooks) -> Run:
        arrivals = self.arrivals(hooks.generator("arrivals"), hooks.horizon_s, hooks.start)
        return GeneratorRun(self._emit(hooks, arrivals))

    def _emit(self, hooks: WorkloadHooks, arrivals: Arrivals) -> Generator[Any, Any, None]:
        """Create each arrival at its time: one row, or a revocation's Webhook + Email pair."""
        columns = zip(arrivals["at"].tolist(), arrivals["channel"].tolist(), arrivals["type"].tolist(), arrivals["owner"].tolist())
        for i, (at, channel, type_, owner) in enumerate(columns):
            if at > hooks.now:
                yield hooks.timeout(at - hooks.now)
            recipient = f"owner-{owner}@example.com"
            cert = f"mc-{i + 1}"
            if type_ == "Revocation":
                message = f"Certificate {cert} has been revoked"
                specs = [dict(type=type_, channel=ch, recipient=recipient, message=message, certificate_id=cert) for ch in REVOCATION_CHANNELS]
                hooks.create_batch(specs, self.deadline)
            else:
                message = f"{type_} for certificate {cert}"
                hooks.create(type=type_, channel=channel, recipient=recipient, message=message, certificate_id=cert, deadline=self.deadline)


#: Relative arrival rate per local hour of day (0..23): quiet nights, a business-hours plateau 09-17.
BUSINESS_HOURS = (0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.3, 0.7, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.7, 0.4, 0.2, 0.1, 0.1, 0.1, 0.1)
#: Relative arrival rate per weekday, Monday first: weekends at a fifth of a working day.
WORKING_WEEK = (1.0, 1.0, 1.0, 1.0, 1.0, 0.2, 0.2)


class Diurnal(Poisson):
    """A Poisson process whose rate follows the hour of day and the day of week (piecewise constant).

    ``rate_per_hour`` is the **mean** rate over a week; within local hour
    ``h`` of weekday ``d`` the rate is ``rate_per_hour * hours[h] *
    weekdays[d] / mean(hours ⊗ weekdays)``.  Local time is UTC shifted by
    ``utc_offset_hours``.  Within each local hour the process is a
    homogeneous Poisson process, so counts per hour are exactly Poisson
    with that hour's mean.  Channels, types, recipients and the creator's
    deadline behave as in :class:`Poisson`.
    """

    def __init__(
        self,
        rate_per_hour: float,
        hours: Sequence[float] = BUSINESS_HOURS,
        weekdays: Sequence[float] = WORKING_WEEK,
        utc_offset_hours: float = 0.0,
        channels: Mapping[str, float] | str = "Email",
        types: Mapping[str, float] | str = "ExpirationWarning",
        recipients: int = 100,
        deadline: float | str = 300.0,
    ):
        super().__init__(rate_per_hour, channels=channels, types=types, recipients=recipients, deadline=deadline)
        self.hours = self._profile(hours, "Diurnal.hours", 24)
        self.weekdays = self._profile(weekdays, "Diurnal.weekdays", 7)
        self.utc_offset_hours = number(utc_offset_hours, "Diurnal.utc_offset_hours", -12, 14)

    @staticmethod
    def _profile(values: object, field: str, size: int) -> list[float]:
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) != size:
            raise ConfigError(field, f"must be a list of {size} relative rates >= 0; got {values!r}")
        out = [number(v, f"{field}[{i}]", 0.0) for i, v in enumerate(values)]
        if sum(out) <= 0:
            raise ConfigError(field, "must not be all zero")
        return out

    def rate_profile(self) -> np.ndarray:
        """Arrivals per hour for each (weekday, local hour), shape (7, 24); its mean is ``rate_per_hour``."""
        shape = np.outer(np.array(self.weekdays), np.array(self.hours))
        return self.rate_per_hour * shape / shape.mean()

    def arrivals(self, rng: np.random.Generator, horizon_s: float, start: dt.datetime = DEFAULT_START) -> Arrivals:
        """Arrival times (s) in ``[0, horizon_s)`` with channel, type and owner, as columns."""
        profile = self.rate_profile()
        local0 = start.timestamp() + self.utc_offset_hours * 3600.0
        first = math.floor(local0 / 3600.0)
        last = math.ceil((local0 + horizon_s) / 3600.0)
        hour_index = np.arange(first, last, dtype=np.int64)
        seg_start = np.maximum(hour_index * 3600.0 - local0, 0.0)
        seg_end = np.minimum((hour_index + 1) * 3600.0 - local0, horizon_s)
        keep = seg_end > seg_start
        hour_index, seg_start, seg_end = hour_index[keep], seg_start[keep], seg_end[keep]
        hour_of_day = hour_index % 24
        weekday = (hour_index // 24 + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        rate = profile[weekday, hour_of_day] / 3600.0
        counts = rng.poisson(rate * (seg_end - seg_start))
        k = int(counts.sum())
        lo = np.repeat(seg_start, counts)
        width = np.repeat(seg_end - seg_start, counts)
        times = np.sort(lo + rng.random(k) * width)
        return self._label(rng, times)
