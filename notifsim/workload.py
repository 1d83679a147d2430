"""What creates notifications, and the snapshot of rows a run starts from.

A workload is a recipe; during a run the engine calls
:meth:`Workload.process`, a SimPy process that calls ``sim.create(...)`` for
each new notification.  certctl's creators insert a ``pending`` row and send
it at once in their own context (spec §2), so every creation is followed by
an immediate send with the creator's deadline.

* :class:`Poisson` — a constant rate of notifications of given channels and types;
* :class:`Diurnal` — the same with a business-hours / weekday rate profile;
* :class:`Fleet` — certificates with expiry dates and certctl's own creators:
  the hourly renewal check's threshold alerts (spec §2.3), renewal and
  deployment notifications from the job processor, revocations (spec §2.2);
* :class:`Burst` — a Fleet with a batch of certificates expiring together.

:data:`WORKLOADS` names them for scenario files (``[workload] model = "Fleet"``).

:func:`load_initial_rows` turns a snapshot (dicts, a DataFrame, or the JSON
of certctl's ``GET /api/v1/notifications``) into rows with certctl's columns.
"""

from __future__ import annotations

import datetime as dt
import heapq
import inspect
import json
import math
import os
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import ConfigError, unknown_name
from .machine import CHANNELS, COLUMNS, STATUSES, TYPES
from .timeutil import DEFAULT_START, parse_duration, parse_instant


def _weights(value: Mapping[str, float] | str, field: str, allowed: tuple[str, ...]) -> dict[str, float]:
    if isinstance(value, str):
        value = {value: 1.0}
    if not isinstance(value, Mapping) or not value:
        raise ConfigError(field, f"must be a non-empty mapping of name to weight; allowed names: {', '.join(allowed)}")
    out = {}
    for name, weight in value.items():
        if name not in allowed:
            raise unknown_name(f"{field} key", name, allowed)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
            raise ConfigError(f"{field}.{name}", f"must be a weight >= 0; got {weight!r}")
        out[name] = float(weight)
    if sum(out.values()) <= 0:
        raise ConfigError(field, "weights must not all be zero")
    return out


class Workload:
    """Base of workloads: validate on construction, run as a SimPy process."""

    def process(self, sim):  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> dict:
        return {"model": type(self).__name__, **{k: v for k, v in vars(self).items() if not k.startswith("_")}}


class Poisson(Workload):
    """Notifications arrive as a Poisson process of ``rate_per_hour``.

    Each arrival picks a channel and a type by the given weights; a
    ``Revocation`` ignores the channel pick and creates certctl's two rows,
    Webhook then Email (spec §2.2).  The creator sends at once with a
    context of ``deadline`` seconds (certctl's renewal check uses 5 min).
    Recipients are ``owner-<k>@example.com`` for k in 1..``recipients``.
    Arrival times and choices come from the run's ``arrivals`` stream only,
    so they do not depend on the policy.
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
        self.channels = _weights(channels, f"{name}.channels", CHANNELS)
        self.types = _weights(types, f"{name}.types", TYPES)
        self.recipients = recipients
        self.deadline = parse_duration(deadline, f"{name}.deadline")

    def arrivals(self, rng: np.random.Generator, horizon_s: float) -> pd.DataFrame:
        """Arrival times (s) in ``[0, horizon_s)`` with channel, type and recipient, as columns."""
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

    def _label(self, rng: np.random.Generator, times: np.ndarray) -> pd.DataFrame:
        """Channel, type and owner for each arrival time, drawn by the weights."""
        k = len(times)
        ch_names, ch_w = list(self.channels), np.array(list(self.channels.values()))
        ty_names, ty_w = list(self.types), np.array(list(self.types.values()))
        channel = np.array(ch_names, dtype=object)[rng.choice(len(ch_names), size=k, p=ch_w / ch_w.sum())]
        type_ = np.array(ty_names, dtype=object)[rng.choice(len(ty_names), size=k, p=ty_w / ty_w.sum())]
        owner = rng.integers(1, self.recipients + 1, size=k)
        return pd.DataFrame({"at": times, "channel": channel, "type": type_, "owner": owner})

    def process(self, sim):
        table = self.arrivals(sim.streams.generator("arrivals"), sim.horizon_s)
        return self._emit(sim, table)

    def _emit(self, sim, table: pd.DataFrame):
        """Create each arrival at its time: one row, or a revocation's Webhook + Email pair."""
        env = sim.env
        for i, (at, channel, type_, owner) in enumerate(
            zip(table["at"].tolist(), table["channel"].tolist(), table["type"].tolist(), table["owner"].tolist())
        ):
            if at > env.now:
                yield env.timeout(at - env.now)
            recipient = f"owner-{owner}@example.com"
            cert = f"mc-{i + 1}"
            if type_ == "Revocation":  # certctl fans a revocation out to a Webhook row and an Email row (spec §2.2)
                message = f"Certificate {cert} has been revoked"
                specs = [dict(type=type_, channel=ch, recipient=recipient, message=message, certificate_id=cert) for ch in ("Webhook", "Email")]
                sim.create_batch(specs, self.deadline)
            else:
                sim.create(type=type_, channel=channel, recipient=recipient, message=f"{type_} for certificate {cert}", certificate_id=cert, deadline=self.deadline)


# -- validation helpers ---------------------------------------------------------


def _number(value: object, field: str, lo: float, hi: float = math.inf, *, lo_open: bool = False) -> float:
    """A finite number in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``), else a ConfigError naming the range."""
    bad = isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(float(value))
    if not bad:
        v = float(value)
        bad = v > hi or v < lo or (lo_open and v == lo)
    if bad:
        left = "(" if lo_open else "["
        right = "∞)" if hi == math.inf else f"{hi:g}]"
        raise ConfigError(field, f"must be a number in {left}{lo:g}, {right}; got {value!r}")
    return float(value)


def _integer(value: object, field: str, lo: int, hi: int | None = None) -> int:
    """An integer in ``[lo, hi]``, else a ConfigError naming the range."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo or (hi is not None and value > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ConfigError(field, f"must be an integer {rng}; got {value!r}")
    return int(value)


# -- Diurnal ------------------------------------------------------------------

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
    deadline behave as in :class:`Poisson`; draws come from the run's
    ``arrivals`` stream only.
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
        self.utc_offset_hours = _number(utc_offset_hours, "Diurnal.utc_offset_hours", -12, 14)

    @staticmethod
    def _profile(values: object, field: str, size: int) -> list[float]:
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) != size:
            raise ConfigError(field, f"must be a list of {size} relative rates >= 0; got {values!r}")
        out = [_number(v, f"{field}[{i}]", 0.0) for i, v in enumerate(values)]
        if sum(out) <= 0:
            raise ConfigError(field, "must not be all zero")
        return out

    def rate_profile(self) -> np.ndarray:
        """Arrivals per hour for each (weekday, local hour), shape (7, 24); its mean is ``rate_per_hour``."""
        shape = np.outer(np.array(self.weekdays), np.array(self.hours))
        return self.rate_per_hour * shape / shape.mean()

    def arrivals(self, rng: np.random.Generator, horizon_s: float, start: dt.datetime = DEFAULT_START) -> pd.DataFrame:
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

    def process(self, sim):
        table = self.arrivals(sim.streams.generator("arrivals"), sim.horizon_s, sim.scenario.start)
        return self._emit(sim, table)


# -- Fleet ----------------------------------------------------------------------

DAY_S = 86400.0
#: ``CheckExpiringCertificates`` lists certificates with ``expires_at < now + 31 days`` (spec §2.3 step 1).
LISTING_WINDOW_S = 31 * DAY_S
#: certctl's ``DefaultAlertThresholds`` (spec §2.3 step 2).
DEFAULT_THRESHOLDS = (30, 14, 7, 0)
#: certctl's ``DefaultAlertSeverityMap``: threshold -> tier; a threshold missing from the map is informational.
DEFAULT_SEVERITY = {30: "informational", 14: "warning", 7: "warning", 0: "critical"}
#: Severity tiers (``AlertSeverityInformational`` / ``Warning`` / ``Critical``).
TIERS = ("informational", "warning", "critical")
#: certctl's ``DefaultAlertChannels``: Email for every tier.
DEFAULT_MATRIX = {tier: ["Email"] for tier in TIERS}

#: Certificate statuses the model distinguishes (certctl ``CertificateStatus``).
CERT_STATUSES = ("Active", "Expiring", "Expired", "RenewalInProgress", "Revoked")
_ACTIVE, _EXPIRING, _EXPIRED, _RENEWING, _REVOKED = range(5)
_SKIPPED = frozenset({_EXPIRED, _RENEWING, _REVOKED})  # CheckExpiringCertificates skips these (spec §2.3 step 1)
_RENEWAL, _DEPLOYMENT = 0, 1


def alert_message(common_name: str, days_until: int, threshold: int, expiry_date: str) -> str:
    """certctl's expiry-alert body (``notification.go``), ending with the dedup tag ``[threshold:N]``."""
    if threshold <= 0:
        return f"[EXPIRED] The certificate for {common_name} has expired ({expiry_date}).\n\nImmediate action required.\n\n[threshold:{threshold}]"
    return f"The certificate for {common_name} will expire in {days_until} days ({expiry_date}).\n\nPlease schedule renewal.\n\n[threshold:{threshold}]"


class Fleet(Workload):
    """A fleet of managed certificates and the notifications certctl creates for it (spec §2).

    **Expiry alerts** (``CheckExpiringCertificates``, spec §2.3).  The
    renewal check runs at start and every ``renewal_check_interval`` on a
    fixed grid (a tick arriving while the previous check still runs is
    skipped), each with a ``renewal_check_deadline`` context.  A tick lists
    the certificates with ``expires_at < tick + 31 d`` in ``expires_at``
    order and skips those Expired, RenewalInProgress or Revoked.  For each
    one it computes ``daysUntil`` at that moment, marks it Expired when
    ``daysUntil <= 0`` (else Expiring), then for every threshold with
    ``int(daysUntil) <= threshold`` (truncation: threshold 0 is crossed
    with less than one day left; every threshold above 30 fires at 31 days,
    the listing window) resolves the tier (``severity``, default
    ``{30: informational, 14: warning, 7: warning, 0: critical}``, missing
    thresholds informational) and its channels (``channels``, default Email
    for every tier; a tier missing from a given matrix has no channels, so
    the operator opted out; names outside certctl's six channels are
    skipped).  Each (threshold, channel) is deduplicated with
    ``HasThresholdNotificationOnChannel`` — rows of any status when the
    policy's ``dedup_any_status`` is on, rows not ``failed`` when it is off
    — and otherwise created and sent at once, one after the other, on the
    tick's context.  From the deadline on every database call fails: no
    more rows, no status changes, no renewal jobs; the certificates left
    are handled by the next tick.

    **Renewal** (certificates with an issuer: a fraction ``auto_renew``).
    After its alerts a certificate gets a renewal job and becomes
    RenewalInProgress, so it is skipped until the job completes.  The job
    processor runs on a ``job_processor_interval`` grid with a
    ``job_processor_deadline`` context and handles the jobs pending at its
    start, in order: an issuer call of ``renewal_latency`` s that fails with
    probability ``renewal_failure_rate``.  Success: the certificate expires
    ``lifetime_days`` later (same certificate id), is Active again, gets
    ``deployment_targets`` deployment jobs (handled by a later job tick;
    each fails with probability ``deployment_failure_rate``) and a
    RenewalSuccess Email.  Failure: a RenewalFailure Email; the job retry
    loop (every ``job_retry_interval``) makes the job pending again until it
    has run ``renewal_attempts`` times — after that the certificate stays
    RenewalInProgress for good, so it is never alerted again.  Deployment
    jobs notify DeploymentSuccess / DeploymentFailure the same way.

    **Consequence of dedup after renewal.**  The dedup key is (certificate
    id, threshold, channel) with no time window, and a renewed certificate
    keeps its id, so the alert rows of its first lifetime suppress every
    later alert at those thresholds on those channels — whatever their
    status when ``dedup_any_status`` is on, and as soon as one was not
    failed when it is off.  A certificate is alerted at most once per
    (threshold, channel) in its whole life.

    **Revocations** arrive as a Poisson process (``revocations_per_cert_year``
    per certificate plus ``revocations_per_day`` in all) on uniformly chosen
    certificates; each creates a Webhook row then an Email row sent in one
    request context of ``revocation_deadline`` s, and the certificate is
    Revoked (skipped from then on; its pending jobs are dropped).

    **Expiries.**  ``expires_in_days`` gives each certificate's days to
    expiry at the start exactly; otherwise ``certificates`` expire uniformly
    over ``remaining_days`` (default ``[0, lifetime_days]``: issued
    uniformly over the past lifetime) and ``burst_certificates`` more
    uniformly over ``[burst_at, burst_at + burst_spread)``.  The table
    starts empty: certctl begins tracking the fleet at the start.

    It is event-driven: the instant each certificate next needs the renewal
    check (listing, a threshold crossing, its expiry) is precomputed, and a
    tick touches only the certificates due by its deadline, plus — with
    ``dedup_any_status`` off — those with an alert row that has just
    failed.  Draws (expiries, owners, issuers, renewal and deployment
    outcomes, revocations) come from ``fleet/...`` streams keyed by
    certificate and renewal cycle, so they do not depend on the policy.
    """

    def __init__(
        self,
        certificates: int | None = None,
        lifetime_days: float = 90.0,
        expires_in_days: Sequence[float] | None = None,
        remaining_days: Sequence[float] | None = None,
        burst_certificates: int = 0,
        burst_at: float | str = "35d",
        burst_spread: float | str = "1d",
        owners: int = 100,
        thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
        severity: Mapping[int | str, str] | None = None,
        channels: Mapping[str, Sequence[str]] | None = None,
        auto_renew: float = 1.0,
        renewal_failure_rate: float = 0.0,
        renewal_attempts: int = 3,
        renewal_latency: float = 1.0,
        deployment_targets: int = 1,
        deployment_failure_rate: float = 0.0,
        deployment_latency: float = 1.0,
        revocations_per_cert_year: float = 0.0,
        revocations_per_day: float = 0.0,
        renewal_check_interval: float | str = "1h",
        renewal_check_deadline: float | str = "5m",
        job_processor_interval: float | str = "30s",
        job_processor_deadline: float | str = "2m",
        job_retry_interval: float | str = "5m",
        revocation_deadline: float | str = "30s",
    ):
        name = type(self).__name__
        self.lifetime_days = _number(lifetime_days, f"{name}.lifetime_days", 0.0, 3650.0, lo_open=True)
        if expires_in_days is not None:
            if isinstance(expires_in_days, (str, bytes)) or not isinstance(expires_in_days, Sequence):
                raise ConfigError(f"{name}.expires_in_days", f"must be a list of days to expiry (numbers); got {expires_in_days!r}")
            expires_in_days = [_number(v, f"{name}.expires_in_days[{i}]", -3650.0, 3650.0) for i, v in enumerate(expires_in_days)]
            if certificates is not None and _integer(certificates, f"{name}.certificates", 0) != len(expires_in_days):
                raise ConfigError(f"{name}.certificates", f"must equal len(expires_in_days) = {len(expires_in_days)} when both are given; got {certificates!r}")
            certificates = len(expires_in_days)
        self.certificates = _integer(1000 if certificates is None else certificates, f"{name}.certificates", 0, 10_000_000)
        self.expires_in_days = expires_in_days
        if remaining_days is None:
            remaining_days = [0.0, self.lifetime_days]
        if isinstance(remaining_days, (str, bytes)) or not isinstance(remaining_days, Sequence) or len(remaining_days) != 2:
            raise ConfigError(f"{name}.remaining_days", f"must be [low, high] days to expiry at the start; got {remaining_days!r}")
        lo = _number(remaining_days[0], f"{name}.remaining_days[0]", -3650.0, 3650.0)
        hi = _number(remaining_days[1], f"{name}.remaining_days[1]", lo, 3650.0)
        self.remaining_days = [lo, hi]
        self.burst_certificates = _integer(burst_certificates, f"{name}.burst_certificates", 0, 10_000_000)
        self.burst_at = parse_duration(burst_at, f"{name}.burst_at", allow_zero=True)
        self.burst_spread = parse_duration(burst_spread, f"{name}.burst_spread", allow_zero=True)
        if self.certificates + self.burst_certificates < 1:
            raise ConfigError(f"{name}.certificates", "the fleet needs at least one certificate (certificates + burst_certificates >= 1)")
        self.owners = _integer(owners, f"{name}.owners", 1)
        self.thresholds = self._thresholds(thresholds, f"{name}.thresholds")
        self.severity = self._severity(severity, f"{name}.severity")
        self.channels = self._matrix(channels, f"{name}.channels")
        self.auto_renew = _number(auto_renew, f"{name}.auto_renew", 0.0, 1.0)
        self.renewal_failure_rate = _number(renewal_failure_rate, f"{name}.renewal_failure_rate", 0.0, 1.0)
        self.renewal_attempts = _integer(renewal_attempts, f"{name}.renewal_attempts", 1, 100)
        self.renewal_latency = _number(renewal_latency, f"{name}.renewal_latency", 0.0, 3600.0)
        self.deployment_targets = _integer(deployment_targets, f"{name}.deployment_targets", 0, 100)
        self.deployment_failure_rate = _number(deployment_failure_rate, f"{name}.deployment_failure_rate", 0.0, 1.0)
        self.deployment_latency = _number(deployment_latency, f"{name}.deployment_latency", 0.0, 3600.0)
        self.revocations_per_cert_year = _number(revocations_per_cert_year, f"{name}.revocations_per_cert_year", 0.0, 365.0)
        self.revocations_per_day = _number(revocations_per_day, f"{name}.revocations_per_day", 0.0, 1e6)
        self.renewal_check_interval = parse_duration(renewal_check_interval, f"{name}.renewal_check_interval")
        if self.renewal_check_interval < 60.0:
            raise ConfigError(f"{name}.renewal_check_interval", f"must be at least 1 minute (certctl rejects smaller); got {renewal_check_interval!r}")
        self.renewal_check_deadline = parse_duration(renewal_check_deadline, f"{name}.renewal_check_deadline")
        self.job_processor_interval = parse_duration(job_processor_interval, f"{name}.job_processor_interval")
        self.job_processor_deadline = parse_duration(job_processor_deadline, f"{name}.job_processor_deadline")
        self.job_retry_interval = parse_duration(job_retry_interval, f"{name}.job_retry_interval")
        self.revocation_deadline = parse_duration(revocation_deadline, f"{name}.revocation_deadline")
        self._last_run: _FleetRun | None = None

    # -- validation --------------------------------------------------------

    @staticmethod
    def _thresholds(values: object, field: str) -> list[int]:
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ConfigError(field, f"must be a non-empty list of whole days in [0, 3650], e.g. [30, 14, 7, 0]; got {values!r}")
        out = [_integer(v, f"{field}[{i}]", 0, 3650) for i, v in enumerate(values)]
        if len(set(out)) != len(out):
            raise ConfigError(field, f"must not repeat a threshold; got {list(values)!r}")
        return out

    @staticmethod
    def _severity(mapping: object, field: str) -> dict[int, str]:
        if mapping is None:
            return dict(DEFAULT_SEVERITY)
        if not isinstance(mapping, Mapping):
            raise ConfigError(field, f"must map thresholds (days) to a tier ({', '.join(TIERS)}); got {mapping!r}")
        out = {}
        for key, tier in mapping.items():
            if isinstance(key, str) and key.strip().lstrip("-").isdigit():
                days = int(key)
            elif isinstance(key, (int, np.integer)) and not isinstance(key, bool):
                days = int(key)
            else:
                raise ConfigError(f"{field} key", f"must be a whole number of days (a threshold); got {key!r}")
            if tier not in TIERS:
                raise unknown_name(f"{field}.{key}", tier, TIERS)
            out[days] = tier
        return out

    @staticmethod
    def _matrix(mapping: object, field: str) -> dict[str, list[str]] | None:
        """The tier -> channels matrix; ``None`` means certctl's default (Email for every tier)."""
        if mapping is None:
            return None
        if not isinstance(mapping, Mapping):
            raise ConfigError(field, f"must map a tier ({', '.join(TIERS)}) to a list of channels; got {mapping!r}")
        out = {}
        for tier, channels in mapping.items():
            if tier not in TIERS:
                raise unknown_name(f"{field} key", tier, TIERS)
            if isinstance(channels, str):
                channels = [channels]
            if not isinstance(channels, Sequence) or not all(isinstance(c, str) and c for c in channels):
                raise ConfigError(f"{field}.{tier}", f"must be a list of channel names ({', '.join(CHANNELS)}); got {channels!r}")
            # names outside certctl's six are kept: certctl skips them at dispatch (spec §2.3 step 4)
            out[tier] = list(channels)
        return out

    # -- derived -----------------------------------------------------------

    def tier(self, threshold: int) -> str:
        """The severity tier of a threshold (``EffectiveAlertSeverity``)."""
        return self.severity.get(threshold, DEFAULT_SEVERITY.get(threshold, "informational"))

    def channels_for(self, threshold: int) -> list[str]:
        """The channels a crossed threshold dispatches to (``EffectiveAlertChannels[tier]``), invalid names included."""
        matrix = DEFAULT_MATRIX if not self.channels else self.channels
        return list(matrix.get(self.tier(threshold), []))

    @property
    def size(self) -> int:
        """Number of certificates."""
        return self.certificates + self.burst_certificates

    def initial_expiries(self, rng: np.random.Generator) -> np.ndarray:
        """Seconds from the start to each certificate's expiry (the spread ones, then the burst)."""
        if self.expires_in_days is not None:
            return np.asarray(self.expires_in_days, dtype=float) * DAY_S
        lo, hi = self.remaining_days
        spread = (lo + (hi - lo) * rng.random(self.certificates)) * DAY_S
        burst = self.burst_at + self.burst_spread * rng.random(self.burst_certificates)
        return np.concatenate([spread, burst])

    def process(self, sim):
        run = _FleetRun(self, sim)
        self._last_run = run
        return run.start()

    @property
    def stats(self) -> Counter:
        """Counters of the last run (missing keys are 0): renewal ticks, certificate visits, alerts created /
        deduped / skipped, renewal and deployment jobs and failures, revocations."""
        return Counter(self._last_run.stats) if self._last_run is not None else Counter()

    def describe(self) -> dict:
        out = super().describe()
        out["size"] = self.size
        return out


class Burst(Fleet):
    """A mass-expiry day: ``certificates`` bulk-issued together, expiring within ``spread`` of ``at``.

    A :class:`Fleet` preset: the batch expires uniformly over ``[at, at +
    spread)`` after the start (``at`` a duration such as ``"35d"``), next to
    ``background_certificates`` whose expiries spread over
    ``remaining_days`` as in :class:`Fleet`.  The batch is renewed with a
    ``lifetime_days`` lifetime (default 398 days, the CA/Browser Forum
    maximum).  Everything else is :class:`Fleet`'s.
    """

    def __init__(
        self,
        certificates: int = 5000,
        at: float | str = "35d",
        spread: float | str = "1d",
        background_certificates: int = 0,
        lifetime_days: float = 398.0,
        **fleet_options: Any,
    ):
        _integer(certificates, "Burst.certificates", 1, 10_000_000)  # the batch that expires together
        _integer(background_certificates, "Burst.background_certificates", 0, 10_000_000)
        parse_duration(at, "Burst.at", allow_zero=True)
        parse_duration(spread, "Burst.spread", allow_zero=True)
        allowed = inspect.signature(Burst.__init__).parameters
        for key in fleet_options:
            if key not in allowed:
                raise unknown_name("Burst parameter", key, [p for p in allowed if p != "self"])
        super().__init__(
            certificates=background_certificates,
            lifetime_days=lifetime_days,
            burst_certificates=certificates,
            burst_at=at,
            burst_spread=spread,
            **fleet_options,
        )


def _burst_signature() -> inspect.Signature:
    """Burst's own parameters, then every :class:`Fleet` option it passes on (what TOML files may name)."""
    own = list(inspect.signature(Burst.__init__).parameters.values())[:-1]
    taken = {p.name for p in own} | {"certificates", "expires_in_days", "burst_certificates", "burst_at", "burst_spread"}
    passed_on = [p for name, p in inspect.signature(Fleet.__init__).parameters.items() if name not in taken]
    return inspect.Signature(own + passed_on)


Burst.__init__.__signature__ = _burst_signature()


class _Job:
    __slots__ = ("kind", "cert", "cycle", "target", "attempts")

    def __init__(self, kind: int, cert: int, cycle: int, target: int = 0):
        self.kind = kind
        self.cert = cert
        self.cycle = cycle
        self.target = target
        self.attempts = 0


class _FleetRun:
    """The runtime state of one :class:`Fleet` in one run (the Fleet itself stays a recipe).

    Per certificate: ``expires`` (s), ``status``, renewal ``cycle`` and a
    wake-up time in a heap with a version stamp (an entry is live only while
    its version is the certificate's current one; every visit bumps it).  A
    renewal tick moves the live entries due by its deadline into a backlog
    ordered by ``expires_at`` and visits from there until its deadline.
    """

    def __init__(self, fleet: Fleet, sim):
        self.f = fleet
        self.sim = sim
        self.env = sim.env
        self.table = sim.table
        self.any_status = sim.policy.dedup_any_status
        setup = sim.streams.generator("fleet", "setup")
        n = fleet.size
        expires = fleet.initial_expiries(setup)
        self.n = n
        self.expires: list[float] = expires.tolist()
        self.status: list[int] = [_ACTIVE] * n
        self.cycle: list[int] = [0] * n
        self.version: list[int] = [0] * n
        self.owner: list[int] = setup.integers(1, fleet.owners + 1, size=n).tolist()
        self.renewable: list[bool] = (setup.random(n) < fleet.auto_renew).tolist()
        width = max(6, len(str(n - 1)))
        self.ids = [f"mc-{c:0{width}d}" for c in range(n)]
        self.names = [f"svc-{c:0{width}d}.example.com" for c in range(n)]
        self.recipients = [f"owner-{k}@example.com" for k in range(fleet.owners + 1)]  # shared strings, one per owner
        self.index = {cid: c for c, cid in enumerate(self.ids)}
        self._deployed: dict[tuple[int, int], str] = {}  # DeploymentSuccess bodies, one per (certificate, target)
        self.start_epoch = sim.scenario.start.timestamp()
        self._dates: dict[int, str] = {}
        # every certificate's first wake-up: when it enters the renewal check's listing window
        wake = expires - LISTING_WINDOW_S
        self.heap = list(zip(wake.tolist(), range(n), [0] * n))
        heapq.heapify(self.heap)
        self.backlog: list[tuple[float, int, int]] = []  # due, not yet visited: (expires, certificate, version)
        self.dispatch = [(t, [ch for ch in fleet.channels_for(t)]) for t in fleet.thresholds]
        self.log_pos = len(self.table.failed_alert_log)
        self.renewal_running = False
        self.pending_jobs: list[_Job] = []
        self.job_wakeup = None
        self._renewal_u = sim.streams.keyed("fleet", "renewal")
        self._deployment_u = sim.streams.keyed("fleet", "deployment")
        self.stats = Counter()

    # -- helpers -----------------------------------------------------------

    def common_name(self, c: int) -> str:
        return self.names[c]

    def recipient(self, c: int) -> str:
        return self.recipients[self.owner[c]]

    def expiry_date(self, c: int) -> str:
        day = math.floor((self.start_epoch + self.expires[c]) / DAY_S)
        text = self._dates.get(day)
        if text is None:
            text = self._dates[day] = (_EPOCH_DATE + dt.timedelta(days=day)).isoformat()
        return text

    def push(self, c: int, wake: float) -> None:
        """Schedule certificate ``c``'s next visit, replacing any earlier one."""
        self.version[c] += 1
        heapq.heappush(self.heap, (wake, c, self.version[c]))

    @staticmethod
    def _key(c: int, cycle: int, target: int, attempt: int) -> int:
        """The draw key of one job attempt: (certificate, renewal cycle, target, attempt)."""
        return ((c * 65536 + cycle) * 256 + target) * 256 + min(attempt, 255)

    # -- processes -----------------------------------------------------------

    def start(self):
        env = self.env
        env.process(self.job_loop())
        rate = self.f.revocations_per_cert_year * self.n / (365.0 * DAY_S) + self.f.revocations_per_day / DAY_S
        if rate > 0:
            env.process(self.revocations(rate))
        return self.renewal_loop()

    def renewal_loop(self):
        """``renewalCheckLoop``: at start, then on a fixed grid; skipped while the previous check runs."""
        env, f = self.env, self.f
        k = 0
        while True:
            if self.renewal_running:
                self.stats["renewal_ticks_skipped"] += 1
            elif self.backlog or self.has_work(env.now + f.renewal_check_deadline):
                self.renewal_running = True
                env.process(self.renewal_tick())
            k += 1
            yield env.timeout(k * f.renewal_check_interval - env.now)

    def has_work(self, limit: float) -> bool:
        if self.heap and self.heap[0][0] <= limit:
            return True
        return not self.any_status and len(self.table.failed_alert_log) > self.log_pos

    def renewal_tick(self):
        """One ``CheckExpiringCertificates`` run: visit the certificates due, in ``expires_at`` order.

        Certificates due by the deadline move from the wake-up heap to the
        backlog (ordered like certctl's listing, ``expires_at`` then id); the
        tick visits the backlog in order until its deadline; what is left
        waits for the next tick.
        """
        env, heap, backlog, version, expires = self.env, self.heap, self.backlog, self.version, self.expires
        tick = env.now
        deadline = tick + self.f.renewal_check_deadline
        while heap and heap[0][0] <= deadline:
            _, c, v = heapq.heappop(heap)
            if v == version[c]:
                heapq.heappush(backlog, (expires[c], c, v))
        if not self.any_status:  # re-dispatch: certificates with an alert row that failed since the last tick
            log, rows, index = self.table.failed_alert_log, self.table.rows, self.index
            for seq in log[self.log_pos :]:
                c = index.get(rows[seq].certificate_id)
                if c is not None:
                    heapq.heappush(backlog, (expires[c], c, version[c]))
            self.log_pos = len(log)
        self.stats["renewal_ticks"] += 1
        if not self.sim.db.available(tick):  # GetExpiringCertificates fails: the check returns its error
            self.stats["renewal_ticks_db_error"] += 1
            self.renewal_running = False
            return
        if backlog:
            # the certificate query runs before the first alert is created, so a notification process tick
            # due at this same instant lists its pending rows first (as in certctl, where that List takes
            # microseconds and the query milliseconds): yield once, without advancing the clock
            yield env.timeout(0)
        while backlog:
            if env.now >= deadline:  # every later database call fails: the rest waits for the next tick
                self.stats["renewal_ticks_cut"] += 1
                break
            _, c, v = heapq.heappop(backlog)
            if v != version[c]:
                continue
            self.stats["visits"] += 1
            yield from self.visit(c, tick, deadline)
        self.renewal_running = False

    def visit(self, c: int, tick: float, deadline: float):
        """One certificate in ``CheckExpiringCertificates``: status, ``sendThresholdAlerts``, renewal job."""
        status, version = self.status, self.version
        version[c] += 1  # this visit replaces every pending wake-up of the certificate
        if status[c] in _SKIPPED:
            return
        exp = self.expires[c]
        if not exp < tick + LISTING_WINDOW_S:  # not listed by this tick
            self.push(c, exp - LISTING_WINDOW_S)
            return
        env, sim, table, stats = self.env, self.sim, self.table, self.stats
        db = sim.db
        days = (exp - env.now) / 3600.0 / 24.0
        status[c] = _EXPIRED if days <= 0 else _EXPIRING  # updateCertExpiryStatus runs before the alerts
        d = int(days)  # Go's int(): truncation toward zero
        cid = self.ids[c]
        cut = False
        for threshold, channels in self.dispatch:
            if d > threshold:
                continue
            if not channels:
                stats["alerts_skipped_no_channels"] += 1
                continue
            for channel in channels:
                if channel not in CHANNELS:
                    stats["alerts_skipped_invalid_channel"] += 1
                    continue
                if env.now >= deadline or not db.available(env.now):  # the dedup List fails: channel skipped
                    cut = True
                    continue
                if table.has_threshold_notification_on_channel(cid, threshold, channel, self.any_status):
                    stats["alerts_deduped"] += 1
                    continue
                message = alert_message(self.common_name(c), d, threshold, self.expiry_date(c))
                row = yield from sim.create_and_send(
                    deadline, type="ExpirationWarning", channel=channel, recipient=self.recipient(c), message=message, certificate_id=cid
                )
                if row is None:
                    cut = True
                else:
                    stats["alerts_created"] += 1
        if self.renewable[c]:
            if env.now < deadline and db.available(env.now):
                status[c] = _RENEWING  # no visits while renewing: the job's outcome schedules the next one
                self.add_job(_Job(_RENEWAL, c, self.cycle[c]))
                stats["renewal_jobs"] += 1
                return
            cut = True
        if cut:  # something failed on the expired context: the next tick tries again
            self.push(c, env.now)
            return
        if status[c] == _EXPIRED:
            return
        wake = exp  # the tick that marks it Expired
        for threshold, _ in self.dispatch:
            if d > threshold:
                wake = min(wake, exp - (threshold + 1) * DAY_S)
        self.push(c, wake)

    # -- jobs ------------------------------------------------------------------

    def add_job(self, job: _Job) -> None:
        self.pending_jobs.append(job)
        if self.job_wakeup is not None and not self.job_wakeup.triggered:
            self.job_wakeup.succeed()

    def job_loop(self):
        """``jobProcessorLoop``: runs at the first grid point after a job became pending, one run at a time."""
        env, iv = self.env, self.f.job_processor_interval
        while True:
            if not self.pending_jobs:
                self.job_wakeup = env.event()
                yield self.job_wakeup
                self.job_wakeup = None
            nxt = (math.floor(env.now / iv) + 1) * iv
            yield env.timeout(nxt - env.now)
            yield from self.job_tick()

    def job_tick(self):
        """``ProcessPendingJobs``: claim the pending jobs, run them one after the other on a 2-min context."""
        env = self.env
        deadline = env.now + self.f.job_processor_deadline
        self.stats["job_ticks"] += 1
        if not self.sim.db.available(env.now):  # ClaimPendingJobs fails: the jobs stay pending
            return
        claimed, self.pending_jobs = self.pending_jobs, []
        for i, job in enumerate(claimed):
            if env.now >= deadline:  # simplification: unstarted jobs go back to pending
                self.pending_jobs[:0] = claimed[i:]
                break
            if self.status[job.cert] == _REVOKED:
                continue
            if job.kind == _RENEWAL:
                yield from self.renew(job, deadline)
            else:
                yield from self.deploy(job, deadline)

    def retry_later(self, job: _Job) -> None:
        """``RetryFailedJobs`` makes a failed job pending at the next job-retry tick."""
        env, iv = self.env, self.f.job_retry_interval
        delay = (math.floor(env.now / iv) + 1) * iv - env.now
        env.timeout(delay).callbacks.append(lambda _event: self.add_job(job))

    def renew(self, job: _Job, deadline: float):
        env, f, c, sim = self.env, self.f, job.cert, self.sim
        attempt = job.attempts
        job.attempts += 1
        if f.renewal_latency > 0:
            yield env.timeout(f.renewal_latency)
        cn = self.common_name(c)
        if self._renewal_u(self._key(c, job.cycle, 0, attempt)) < f.renewal_failure_rate:
            self.stats["renewal_failures"] += 1
            message = f"The certificate for {cn} failed to renew.\n\nError: issuer renewal failed: upstream CA error\n\nPlease investigate."
            yield from sim.create_and_send(deadline, type="RenewalFailure", channel="Email", recipient=self.recipient(c), message=message, certificate_id=self.ids[c])
            if job.attempts < f.renewal_attempts:
                self.retry_later(job)
            else:
                self.stats["renewals_abandoned"] += 1  # stays RenewalInProgress: never checked again
            return
        self.stats["renewals"] += 1
        exp = env.now + f.lifetime_days * DAY_S
        self.expires[c] = exp
        self.status[c] = _ACTIVE
        self.cycle[c] += 1
        for target in range(f.deployment_targets):
            self.add_job(_Job(_DEPLOYMENT, c, self.cycle[c], target))
        message = f"The certificate for {cn} has been successfully renewed.\n\nNew expiry: {self.expiry_date(c)}"
        self.push(c, exp - LISTING_WINDOW_S)
        yield from sim.create_and_send(deadline, type="RenewalSuccess", channel="Email", recipient=self.recipient(c), message=message, certificate_id=self.ids[c])

    def deploy(self, job: _Job, deadline: float):
        env, f, c = self.env, self.f, job.cert
        attempt = job.attempts
        job.attempts += 1
        if f.deployment_latency > 0:
            yield env.timeout(f.deployment_latency)
        cn, target = self.common_name(c), f"target-{job.target + 1}"
        if self._deployment_u(self._key(c, job.cycle, job.target, attempt)) < f.deployment_failure_rate:
            self.stats["deployment_failures"] += 1
            message = f"The certificate for {cn} failed to deploy to {target}.\n\nError: deployment failed: connection refused\n\nPlease investigate."
            yield from self.sim.create_and_send(deadline, type="DeploymentFailure", channel="Email", recipient=self.recipient(c), message=message, certificate_id=self.ids[c])
            if job.attempts < f.renewal_attempts:
                self.retry_later(job)
            return
        self.stats["deployments"] += 1
        message = self._deployed.get((c, job.target))
        if message is None:  # the same body every cycle: keep one copy per (certificate, target)
            message = self._deployed[(c, job.target)] = f"The certificate for {cn} has been successfully deployed to {target}."
        yield from self.sim.create_and_send(deadline, type="DeploymentSuccess", channel="Email", recipient=self.recipient(c), message=message, certificate_id=self.ids[c])

    # -- revocations -------------------------------------------------------------

    def revocations(self, rate_s: float):
        """Revocations as a Poisson process; each fans out to a Webhook row then an Email row (spec §2.2)."""
        env, sim, horizon = self.env, self.sim, self.sim.horizon_s
        rng = sim.streams.generator("fleet", "revocation")
        expected = rate_s * horizon
        size = int(expected + 10 * math.sqrt(expected) + 20)
        times = np.cumsum(rng.exponential(1.0 / rate_s, size=size))
        times = times[times < horizon].tolist()
        picks = rng.integers(0, self.n, size=len(times)).tolist()
        for at, c in zip(times, picks):
            if at > env.now:
                yield env.timeout(at - env.now)
            if self.status[c] == _REVOKED or not sim.db.available(env.now):  # refused or failed: no notification
                continue
            self.status[c] = _REVOKED
            self.version[c] += 1
            self.stats["revocations"] += 1
            cid, cn, recipient = self.ids[c], self.common_name(c), self.recipient(c)
            message = f"The certificate for {cn} has been revoked.\n\nReason: unspecified"
            specs = [dict(type="Revocation", channel=ch, recipient=recipient, message=message, certificate_id=cid) for ch in ("Webhook", "Email")]
            sim.create_batch(specs, self.f.revocation_deadline)


_EPOCH_DATE = dt.date(1970, 1, 1)

WORKLOADS: dict[str, type[Workload]] = {"Poisson": Poisson, "Diurnal": Diurnal, "Fleet": Fleet, "Burst": Burst}


# -- initial rows -------------------------------------------------------------

_ROW_DEFAULTS: dict[str, Any] = {
    "type": "ExpirationWarning",
    "certificate_id": None,
    "channel": "Email",
    "recipient": "",
    "message": "",
    "status": "pending",
    "retry_count": 0,
    "next_retry_at": None,
    "last_error": None,
    "error": None,
    "sent_at": None,
}
_TIME_COLUMNS = ("next_retry_at", "created_at", "sent_at")


def _none(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    try:
        if pd.isna(value) is True:
            return None
    except (TypeError, ValueError):
        pass
    return value


def load_initial_rows(source: Any, start) -> list[dict[str, Any]]:
    """Rows with certctl's columns from dicts, a DataFrame, or a path to certctl's list-API JSON.

    Time fields may be UTC datetimes, ISO strings or seconds relative to the
    start (negative allowed); ``0001-01-01`` is Go's zero time.  Missing
    fields default as certctl's ``Create`` does (``created_at`` = start,
    ``status`` pending, ``retry_count`` 0, the rest NULL; ids are made up
    deterministically when absent).
    """
    if source is None:
        return []
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            data = json.loads(path.read_text())
        except OSError as exc:
            raise ConfigError("initial_rows", f"cannot read {str(path)!r}: {exc.strerror or exc}") from exc
        except json.JSONDecodeError as exc:
            raise ConfigError("initial_rows", f"{str(path)!r} is not JSON: {exc}") from exc
        if isinstance(data, dict):
            if "data" not in data:
                raise ConfigError("initial_rows", "a JSON object must hold the list in 'data' (certctl's GET /api/v1/notifications response)")
            data = data["data"]
        source = data
    if isinstance(source, pd.DataFrame):
        records = source.to_dict(orient="records")
    elif isinstance(source, (list, tuple)):
        records = list(source)
    else:
        raise ConfigError("initial_rows", f"expected a list of dicts, a DataFrame or a JSON file path; got {type(source).__name__}")
    rows = []
    seen: set[str] = set()
    for i, record in enumerate(records):
        field = f"initial_rows[{i}]"
        if not isinstance(record, Mapping):
            raise ConfigError(field, f"must be a mapping of column to value; got {type(record).__name__}")
        extra = set(record) - set(COLUMNS)
        if extra:
            raise unknown_name(f"{field} column", sorted(extra)[0], COLUMNS)
        row = dict(_ROW_DEFAULTS)
        row.update({k: _none(v) for k, v in record.items()})
        if row.get("id") in (None, ""):
            row["id"] = str(uuid.UUID(int=(0x5EED << 96) | i))
        row["id"] = str(row["id"])
        if row["id"] in seen:
            raise ConfigError(f"{field}.id", f"duplicate id {row['id']!r}")
        seen.add(row["id"])
        for name in _TIME_COLUMNS:
            row[name] = parse_instant(row.get(name), start, f"{field}.{name}")
        if row["created_at"] is None:
            row["created_at"] = 0.0
        rc = row["retry_count"]
        if isinstance(rc, float) and rc.is_integer():
            rc = int(rc)
        if isinstance(rc, bool) or not isinstance(rc, (int, np.integer)) or rc < 0:
            raise ConfigError(f"{field}.retry_count", f"must be an integer >= 0; got {rc!r}")
        row["retry_count"] = int(rc)
        if not isinstance(row["status"], str):
            raise ConfigError(f"{field}.status", f"must be a string, one of {', '.join(STATUSES)}")
        for name in ("type", "channel", "recipient", "message"):
            if not isinstance(row[name], str):
                raise ConfigError(f"{field}.{name}", f"must be a string; got {row[name]!r}")
        rows.append(row)
    return rows
