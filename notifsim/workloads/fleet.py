"""A certificate fleet under certctl's renewal loop: the settings of :class:`Fleet` and :class:`Burst`.

The per-run state (certificates, the wake-up calendar, jobs) lives in
:mod:`notifsim.workloads.fleet_run`; this module validates the settings and
derives what certctl's configuration would (tiers, channel matrix).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..budget import MAX_RECIPIENTS
from ..certctl import CHANNELS, DAY_S, DEFAULT_MATRIX, DEFAULT_SEVERITY, DEFAULT_THRESHOLDS, JOB_CONCURRENCY, TIERS
from ..errors import ConfigError, NotifsimWarning, did_you_mean, unknown_name
from ..hooks import Run, WorkloadHooks
from ..timeutil import parse_duration
from .base import Workload, integer, number


class Fleet(Workload):
    """A fleet of managed certificates and the notifications certctl creates for it (service/notification.go creators).

    **Expiry alerts** (``CheckExpiringCertificates``, renewal.go sendThresholdAlerts).  The
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
    ``HasThresholdNotificationOnChannel`` — an existing row suppresses the
    alert when its status is one of the policy's ``dedup_statuses`` (every
    status as built) — and otherwise created and sent at once, one after
    the other, on the tick's context.  From the deadline on every database call fails: no
    more rows, no status changes, no renewal jobs; the certificates left
    are handled by the next tick.

    **Renewal** (certificates with an issuer: a fraction ``auto_renew``).
    After its alerts a certificate gets a renewal job and becomes
    RenewalInProgress, so it is skipped until the job completes.  The job
    processor runs on a ``job_processor_interval`` grid, one run at a time,
    and claims the jobs pending at its start; it runs up to
    ``job_concurrency`` of them at once, starting them in claim order as
    slots free, each on its own ``job_processor_deadline`` context from its
    start, and ends when the last one does.  A renewal job is an issuer
    call of ``renewal_latency`` s that fails with probability
    ``renewal_failure_rate``.  Success: the certificate expires
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
    later alert at those thresholds on those channels as soon as one of
    them has a suppressing status: as built, a certificate is alerted at
    most once per (threshold, channel) in its whole life.

    **Revocations** arrive as a Poisson process (``revocations_per_cert_year``
    per certificate plus ``revocations_per_day`` in all) on uniformly chosen
    certificates; each creates a Webhook row then an Email row sent in the
    HTTP request's context, which has no deadline, and the certificate is
    Revoked (skipped from then on; its pending jobs are dropped).

    **Expiries.**  ``expires_in_days`` gives each certificate's days to
    expiry at the start exactly; otherwise ``certificates`` expire uniformly
    over ``remaining_days`` (default ``[0, lifetime_days]``: issued
    uniformly over the past lifetime) and ``burst_certificates`` more
    uniformly over ``[burst_at, burst_at + burst_spread)``.  The table
    starts empty: certctl begins tracking the fleet at the start.

    It is event-driven: the instant each certificate next needs the renewal
    check (listing, a threshold crossing, its expiry) is precomputed, and a
    tick touches only the certificates due by its deadline, plus those with
    an alert row that has taken a status outside ``dedup_statuses`` since
    the last tick (none as built).  Draws (expiries, owners, issuers, renewal and deployment
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
        job_concurrency: int = JOB_CONCURRENCY,
    ):
        name = type(self).__name__
        self.lifetime_days = number(lifetime_days, f"{name}.lifetime_days", 0.0, 3650.0, lo_open=True)
        if expires_in_days is not None:
            if isinstance(expires_in_days, (str, bytes)) or not isinstance(expires_in_days, Sequence):
                raise ConfigError(f"{name}.expires_in_days", f"must be a list of days to expiry (numbers); got {expires_in_days!r}")
            expires_in_days = [number(v, f"{name}.expires_in_days[{i}]", -3650.0, 3650.0) for i, v in enumerate(expires_in_days)]
            if certificates is not None and integer(certificates, f"{name}.certificates", 0) != len(expires_in_days):
                raise ConfigError(f"{name}.certificates", f"must equal len(expires_in_days) = {len(expires_in_days)} when both are given; got {certificates!r}")
            certificates = len(expires_in_days)
        self.certificates = integer(1000 if certificates is None else certificates, f"{name}.certificates", 0, 10_000_000)
        self.expires_in_days = expires_in_days
        if remaining_days is None:
            remaining_days = [0.0, self.lifetime_days]
        if isinstance(remaining_days, (str, bytes)) or not isinstance(remaining_days, Sequence) or len(remaining_days) != 2:
            raise ConfigError(f"{name}.remaining_days", f"must be [low, high] days to expiry at the start; got {remaining_days!r}")
        lo = number(remaining_days[0], f"{name}.remaining_days[0]", -3650.0, 3650.0)
        hi = number(remaining_days[1], f"{name}.remaining_days[1]", lo, 3650.0)
        self.remaining_days = [lo, hi]
        self.burst_certificates = integer(burst_certificates, f"{name}.burst_certificates", 0, 10_000_000)
        self.burst_at = parse_duration(burst_at, f"{name}.burst_at", allow_zero=True)
        self.burst_spread = parse_duration(burst_spread, f"{name}.burst_spread", allow_zero=True)
        if self.certificates + self.burst_certificates < 1:
            raise ConfigError(f"{name}.certificates", "the fleet needs at least one certificate (certificates + burst_certificates >= 1)")
        self.owners = integer(owners, f"{name}.owners", 1, MAX_RECIPIENTS)
        self.thresholds = self._thresholds(thresholds, f"{name}.thresholds")
        self.severity = self._severity(severity, f"{name}.severity")
        self.channels = self._matrix(channels, f"{name}.channels")
        self.auto_renew = number(auto_renew, f"{name}.auto_renew", 0.0, 1.0)
        self.renewal_failure_rate = number(renewal_failure_rate, f"{name}.renewal_failure_rate", 0.0, 1.0)
        self.renewal_attempts = integer(renewal_attempts, f"{name}.renewal_attempts", 1, 100)
        self.renewal_latency = number(renewal_latency, f"{name}.renewal_latency", 0.0, 3600.0)
        self.deployment_targets = integer(deployment_targets, f"{name}.deployment_targets", 0, 100)
        self.deployment_failure_rate = number(deployment_failure_rate, f"{name}.deployment_failure_rate", 0.0, 1.0)
        self.deployment_latency = number(deployment_latency, f"{name}.deployment_latency", 0.0, 3600.0)
        self.revocations_per_cert_year = number(revocations_per_cert_year, f"{name}.revocations_per_cert_year", 0.0, 365.0)
        self.revocations_per_day = number(revocations_per_day, f"{name}.revocations_per_day", 0.0, 1e6)
        self.renewal_check_interval = parse_duration(renewal_check_interval, f"{name}.renewal_check_interval")
        if self.renewal_check_interval < 60.0:
            raise ConfigError(f"{name}.renewal_check_interval", f"must be at least 1 minute (certctl rejects smaller); got {renewal_check_interval!r}")
        self.renewal_check_deadline = parse_duration(renewal_check_deadline, f"{name}.renewal_check_deadline")
        self.job_processor_interval = parse_duration(job_processor_interval, f"{name}.job_processor_interval")
        self.job_processor_deadline = parse_duration(job_processor_deadline, f"{name}.job_processor_deadline")
        self.job_retry_interval = parse_duration(job_retry_interval, f"{name}.job_retry_interval")
        self.job_concurrency = integer(job_concurrency, f"{name}.job_concurrency", 1, 100_000)

    # -- validation --------------------------------------------------------

    @staticmethod
    def _thresholds(values: object, field: str) -> list[int]:
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ConfigError(field, f"must be a non-empty list of whole days in [0, 3650], e.g. [30, 14, 7, 0]; got {values!r}")
        out = [integer(v, f"{field}[{i}]", 0, 3650) for i, v in enumerate(values)]
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
            if (isinstance(key, str) and key.strip().lstrip("-").isdigit()) or (isinstance(key, (int, np.integer)) and not isinstance(key, bool)):
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
        unknown: list[tuple[str, str]] = []  # (where, name)
        for tier, channels in mapping.items():
            if tier not in TIERS:
                raise unknown_name(f"{field} key", tier, TIERS)
            if isinstance(channels, str):
                channels = [channels]
            if not isinstance(channels, Sequence) or not all(isinstance(c, str) and c for c in channels):
                raise ConfigError(f"{field}.{tier}", f"must be a list of channel names ({', '.join(CHANNELS)}); got {channels!r}")
            # names outside certctl's six are kept: certctl skips them at dispatch (renewal.go sendThresholdAlerts step 4)
            out[tier] = list(channels)
            unknown += [(f"{field}.{tier}", c) for c in channels if c not in CHANNELS]
        if unknown:  # as certctl does, but most likely a typo: say so
            where, name = unknown[0]
            warnings.warn(
                f"{where}: {name!r}{did_you_mean(name, CHANNELS)} is not one of certctl's channels "
                f"({', '.join(CHANNELS)}): certctl skips it and sends nothing" + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""),
                NotifsimWarning,
                stacklevel=4,
            )
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

    def bind(self, hooks: WorkloadHooks) -> Run:
        """The fleet's state in one run (:class:`~notifsim.workloads.fleet_run.FleetRun`); its counters are
        renewal ticks, certificate visits, alerts created / deduped / skipped, renewal and deployment jobs and
        failures, and revocations."""
        from .fleet_run import FleetRun

        return FleetRun(self, hooks)

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
        integer(certificates, "Burst.certificates", 1, 10_000_000)  # the batch that expires together
        integer(background_certificates, "Burst.background_certificates", 0, 10_000_000)
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


Burst.__init__.__signature__ = _burst_signature()  # type: ignore[attr-defined]
