"""Arrival processes: notifications created at random times, independently of any certificate.

* :class:`Poisson` — a constant rate of notifications of given channels and types;
* :class:`Diurnal` — the same with an hour-of-day and day-of-week profile.

Each arrival goes through certctl's creator path: ``Create`` a ``pending``
row, then send it at once in the creator's own context.  Arrival times and
choices come from the run's ``arrivals`` stream only, so they are the same
under every policy on one seed.  Each type goes where certctl's creator
sends it and on that creator's context (:func:`creator_deadline`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Generator, Mapping, Sequence
from typing import Any

import numpy as np

from ..budget import MAX_RATE_PER_HOUR, MAX_RECIPIENTS
from ..certctl import CHANNELS, JOB_NOTIFICATION_CHANNEL, JOB_NOTIFICATION_TYPES, JOB_PROCESSOR_DEADLINE_S, REVOCATION_CHANNELS, TYPES
from ..errors import ConfigError
from ..hooks import Run, WorkloadHooks
from ..timeutil import DEFAULT_START, parse_duration
from .base import Workload, integer, number, weights

#: Arrivals as columns: ``at`` (seconds after the start), ``channel``, ``type`` and ``owner`` (1-based).
Arrivals = dict[str, np.ndarray]


def creator_deadline(type_: str, alert_deadline: float) -> float:
    """Seconds of context certctl's creator of ``type_`` sends on.

    Expiry alerts (and ``PolicyViolation``, which has no creator): the renewal
    check's, ``alert_deadline``; renewal and deployment notifications: the
    job's 2 minutes; revocations: the HTTP request's, which has no deadline
    (``inf``).
    """
    if type_ == "Revocation":
        return math.inf
    if type_ in JOB_NOTIFICATION_TYPES:
        return JOB_PROCESSOR_DEADLINE_S
    return alert_deadline


class Poisson(Workload):
    """Notifications arrive as a Poisson process of ``rate_per_hour``.

    Each arrival picks a channel and a type by the given weights.  Types go
    where certctl sends them: a ``Revocation`` ignores the channel pick and
    creates certctl's two rows, Webhook then Email
    (``notifsim.certctl.REVOCATION_CHANNELS``); a renewal or deployment
    notification ignores it too and goes to Email, as certctl's
    ``SendRenewalNotification`` and ``SendDeploymentNotification`` always
    do; only expiry alerts (and ``PolicyViolation``) use the pick.  The
    creator sends at once on its context: ``deadline`` seconds for expiry
    alerts (certctl's renewal check uses 5 min), the job's 2 minutes for
    renewal and deployment notifications, none for revocations.
    Recipients are ``owner-<k>@example.com`` for k in 1..``recipients``;
    the i-th arrival concerns certificate ``mc-<i>``.
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
        if (
            isinstance(rate_per_hour, bool)
            or not isinstance(rate_per_hour, (int, float))
            or not math.isfinite(rate_per_hour)
            or not 0 <= rate_per_hour <= MAX_RATE_PER_HOUR
        ):
            raise ConfigError(f"{name}.rate_per_hour", f"must be a rate in [0, {MAX_RATE_PER_HOUR:g}] per hour; got {rate_per_hour!r}")
        recipients = integer(recipients, f"{name}.recipients", 1, MAX_RECIPIENTS)
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
        """Channel, type and owner for each arrival time, drawn by the weights.

        ``channel`` is where the row goes (Email for renewal and deployment
        notifications), ``channel_index`` the pick itself.
        """
        k = len(times)
        ch_names, ch_w = list(self.channels), np.array(list(self.channels.values()))
        ty_names, ty_w = list(self.types), np.array(list(self.types.values()))
        channel_index = rng.choice(len(ch_names), size=k, p=ch_w / ch_w.sum())
        type_index = rng.choice(len(ty_names), size=k, p=ty_w / ty_w.sum())
        owner = rng.integers(1, self.recipients + 1, size=k)
        channel = np.array(ch_names, dtype=object)[channel_index]
        channel[_job_notifications(type_index, ty_names)] = JOB_NOTIFICATION_CHANNEL
        return {
            "at": times,
            "channel": channel,
            "type": np.array(ty_names, dtype=object)[type_index],
            "owner": owner,
            "channel_index": channel_index,  # into list(self.channels)
            "type_index": type_index,  # into list(self.types)
        }

    def bind(self, hooks: WorkloadHooks) -> Run:
        """The run's arrivals (from the ``arrivals`` stream), driven by the engine in arrival order."""
        return ArrivalRun(self, self.arrivals(hooks.generator("arrivals"), hooks.horizon_s, hooks.start), hooks)


class ArrivalRun:
    """The arrivals of one run and what each creates: row specs one by one, or as columns for many at once.

    The i-th arrival concerns certificate ``mc-<i+1>`` and owner
    ``owner-<k>@example.com``; a ``Revocation`` creates a Webhook row and
    an Email row (in that order), a renewal or deployment notification one
    Email row, every other type one row on the drawn channel; each sends
    on its creator's context (:attr:`deadlines`).  notifsim's engines drive the arrivals themselves (each at its
    instant, in arrival order); :meth:`process` is the same for any other
    driver.
    """

    def __init__(self, workload: Poisson, arrivals: Arrivals, hooks: WorkloadHooks):
        self.workload = workload
        self.times: np.ndarray = arrivals["at"]
        self.channel: np.ndarray = arrivals["channel"]
        self.type: np.ndarray = arrivals["type"]
        self.owner: np.ndarray = arrivals["owner"]
        self.channel_index: np.ndarray = arrivals["channel_index"]
        self.type_index: np.ndarray = arrivals["type_index"]
        per_type = np.array([creator_deadline(t, workload.deadline) for t in workload.types], dtype=float)
        #: per arrival: seconds of context its creator sends on (``inf``: none)
        self.deadlines: np.ndarray = per_type[self.type_index] if len(self.type_index) else np.empty(0)
        self._hooks = hooks

    def __len__(self) -> int:
        return len(self.times)

    def of_type(self, name: str) -> np.ndarray:
        """Whether each arrival is of type ``name`` (from the type codes, without comparing texts)."""
        types = list(self.workload.types)
        return self.type_index == types.index(name) if name in types else np.zeros(len(self), bool)

    def on_channels(self, names: set[str]) -> np.ndarray:
        """Whether each arrival's :attr:`channel` is one of ``names`` (from the codes, as :meth:`Poisson._label` sets it)."""
        flags = np.array([c in names for c in self.workload.channels], bool)
        out = flags[self.channel_index] if len(self) else np.zeros(0, bool)
        out[_job_notifications(self.type_index, list(self.workload.types))] = JOB_NOTIFICATION_CHANNEL in names
        return out

    def specs(self, i: int) -> list[dict[str, Any]]:
        """The rows arrival ``i`` creates, as ``Create`` arguments."""
        type_ = str(self.type[i])
        recipient = f"owner-{int(self.owner[i])}@example.com"
        cert = f"mc-{i + 1}"
        if type_ == "Revocation":
            message = f"Certificate {cert} has been revoked"
            return [dict(type=type_, channel=ch, recipient=recipient, message=message, certificate_id=cert) for ch in REVOCATION_CHANNELS]
        return [dict(type=type_, channel=str(self.channel[i]), recipient=recipient, message=f"{type_} for certificate {cert}", certificate_id=cert)]

    def columns(self, lo: int, hi: int) -> dict[str, Any]:
        """The rows arrivals ``lo .. hi-1`` create, as columns (what :meth:`specs` gives, for many at once).

        ``arrival`` (the arrival of each row), ``first`` (whether the row is its
        arrival's first), indexes into the name lists ``types``, ``channels``
        and ``recipients``, and Arrow arrays ``certificate_id`` and ``message``.
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        types = list(self.workload.types)
        channels = list(dict.fromkeys([*self.workload.channels, *REVOCATION_CHANNELS, JOB_NOTIFICATION_CHANNEL]))
        recipients = [f"owner-{k}@example.com" for k in range(1, self.workload.recipients + 1)]
        idx = np.arange(lo, hi, dtype=np.int64)
        revocation = self.type_index[lo:hi] == types.index("Revocation") if "Revocation" in types else np.zeros(hi - lo, bool)
        per = np.where(revocation, len(REVOCATION_CHANNELS), 1)
        arrival = np.repeat(idx, per)
        first = np.zeros(len(arrival), dtype=bool)
        starts = np.cumsum(per) - per
        first[starts] = True
        channel_index = {c: i for i, c in enumerate(channels)}
        row_type = self.type_index[lo:hi].astype(np.int64)[arrival - lo]
        row_channel = self.channel_index[lo:hi].astype(np.int64)[arrival - lo]  # the workload's channels come first in `channels`
        row_channel[_job_notifications(row_type, types)] = channel_index[JOB_NOTIFICATION_CHANNEL]
        if revocation.any():
            rev_rows = revocation[arrival - lo]
            offsets = np.arange(len(arrival)) - starts[arrival - lo]
            row_channel[rev_rows] = np.array([channel_index[c] for c in REVOCATION_CHANNELS])[offsets[rev_rows]]
        row_recipient = self.owner[lo:hi].astype(np.int64)[arrival - lo] - 1
        text = pa.large_string()
        cert = pc.binary_join_element_wise(pa.scalar("mc-", text), pa.array(arrival + 1).cast(text), pa.scalar("", text))
        row_types = pa.array(types, type=text).take(pa.array(row_type, pa.int64()))
        message = pc.binary_join_element_wise(row_types, pa.scalar(" for certificate ", text), cert, pa.scalar("", text))
        if revocation.any():
            revoked = pc.binary_join_element_wise(pa.scalar("Certificate ", text), cert, pa.scalar(" has been revoked", text), pa.scalar("", text))
            message = pc.if_else(pa.array(revocation[arrival - lo]), revoked, message)
        return {
            "arrival": arrival,
            "first": first,
            "types": types,
            "channels": channels,
            "recipients": recipients,
            "type": row_type,
            "channel": row_channel,
            "recipient": row_recipient,
            "certificate_id": cert,
            "message": message,
        }

    def columns_of(self, chosen: np.ndarray) -> dict[str, Any]:
        """:meth:`columns` of the given arrivals (ascending indexes, not necessarily contiguous)."""
        lo, hi = int(chosen[0]), int(chosen[-1]) + 1
        cols = self.columns(lo, hi)
        if len(chosen) == hi - lo:
            return cols
        import pyarrow as pa

        keep = np.isin(cols["arrival"], chosen)
        out = dict(cols)
        for name in ("arrival", "first", "type", "channel", "recipient"):
            out[name] = cols[name][keep]
        mask = pa.array(keep)
        out["certificate_id"] = cols["certificate_id"].filter(mask)
        out["message"] = cols["message"].filter(mask)
        return out

    def process(self) -> Generator[Any, Any, None]:
        """Create each arrival at its time, through the hooks."""
        hooks = self._hooks
        for i, at in enumerate(self.times.tolist()):
            if at > hooks.now:
                yield hooks.timeout(at - hooks.now)
            hooks.create_batch(self.specs(i), float(self.deadlines[i]))

    def counters(self) -> dict[str, int]:
        return {}


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
    with that hour's mean.  Channels, types, recipients and the creators'
    deadlines behave as in :class:`Poisson`.
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
        out = [number(v, f"{field}[{i}]", 0.0, 1e6) for i, v in enumerate(values)]
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


def _job_notifications(type_index: np.ndarray, types: list[str]) -> np.ndarray:
    """Whether each type (an index into ``types``) is a renewal or deployment notification, which certctl sends by Email."""
    return np.isin(type_index, [i for i, t in enumerate(types) if t in JOB_NOTIFICATION_TYPES])
