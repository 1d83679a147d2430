"""Retry policy: every knob of certctl's notification pipeline, its quirks as named switches, and presets.

A :class:`Policy` holds numbers and switches only; the state machine
(:mod:`notifsim.machine`) decides transitions with them and the engine
(:mod:`notifsim.engine`) moves time.  Durations are in seconds.

The two certctl profiles differ only in the switches listed in
:data:`SWITCHES`, so flipping one switch on ``certctl-asbuilt`` answers
"what does fixing only this change?".

Beyond certctl, a policy can describe what the industry does (each
preset's ``source`` names the system and document): a backoff schedule (:data:`SCHEDULES`: certctl's capped
exponential, an explicit table, Sidekiq's ``c⁴ + 15``, a fixed delay),
jitter (:data:`JITTERS`), budgets (``max_attempts``, an AWS-SDK-style retry
quota, ``Retry-After`` honoured up to a ceiling), opt-in classification of
permanent errors, and the requeue semantics (:data:`REQUEUE_MODES`).  The
industry presets (:data:`INDUSTRY_PRESETS`, one row of data each) set
those fields on top of ``certctl-i005``.  The arithmetic lives here as pure
functions of the retry count and a uniform draw; the machine decides, the
engine supplies the draws.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import certctl
from .budget import MAX_COUNT, MAX_MULTIPLIER
from .errors import ConfigError, check_text, unknown_name
from .timeutil import parse_duration
from .tomlfile import read_toml, table

#: The switches that separate certctl as built from certctl as designed (docs/policies.md).
SWITCHES = (
    "arm_first_failure",
    "pending_batch",
    "webhook_notifier",
    "dedup_statuses",
    "email_quit_defect",
    "requeue_any_status",
    "success_clears_retry_fields",
)

#: What-if switches, off in both certctl profiles: behaviours certctl's comments describe but its code does not do.
WHAT_IFS = ("retry_via_pending",)

#: Named readings of ``dedup_statuses``: the statuses of an existing expiry-alert row (same certificate,
#: threshold and channel) that suppress a new alert.
DEDUP_READINGS: dict[str, tuple[str, ...]] = {
    "any": certctl.STATUSES,  # certctl as built: HasThresholdNotificationOnChannel has no status filter
    "not-failed": ("pending", "sent", "dead", "read"),  # certctl-i005: a failed row is retried, not suppressing
    "delivered": ("sent", "read"),  # the renewal comments' intent: only a delivered alert suppresses
}

#: Backoff schedules: the nominal wait after a failure at ``retry_count`` *n* (before jitter).
SCHEDULES = {
    "exponential": "min(backoff_base × backoff_multiplier^n, backoff_cap) (certctl, gRPC, k8s, Celery, AWS SDK)",
    "table": "backoff_table[n], the last entry repeating (Svix-style webhook schedules)",
    "sidekiq": "n⁴ + 15 s (Sidekiq's default retry delay)",
    "fixed": "backoff_base, whatever n (SQS visibility timeout)",
}

#: Jitter applied to the nominal wait *v* with a uniform draw *u* in [0, 1).
JITTERS = {
    "none": "v",
    "full": "u·v, i.e. U(0, v)",
    "equal": "v/2 + u·v/2, i.e. U(v/2, v)",
    "decorrelated": "min(backoff_cap, U(backoff_base, 3·previous)), previous = the row's last wait (backoff_base at first)",
    "proportional": "v·(1 + jitter_fraction·(2u − 1)), i.e. U(v(1−f), v(1+f))",
    "sidekiq": "v + floor(u·10·(n+1)), Ruby's rand(10·(n+1)) whole seconds",
}

#: What a requeue writes to ``retry_count``.
REQUEUE_MODES = {
    "reset": "retry_count = 0 (certctl's Requeue): a fresh budget once the row is armed again",
    "one_more": "retry_count = max_attempts − 1 (Sidekiq's 'Retry' from the dead set): the next failure is exhausted",
}

#: Where a failure goes when the retry quota cannot pay for its retry.
QUOTA_EMPTY = ("dead", "stranded")

#: A ready-made permanent class for ``permanent_errors``: HTTP 4xx except 408 and 429, SMTP 5yz replies with an
#: enhanced status code (RFC 5321: 5yz is permanent) and the Email adapter's empty-recipient refusal.
PERMANENT_ERRORS: tuple[str, ...] = (
    r"HTTP 4(?!08|29)\d\d\b",
    r"\b5\d\d[ -]5\.\d{1,3}\.\d{1,3}\b",
    r"recipient address is required",
)

#: Error texts that count as timeouts for ``retry_quota_timeout_cost`` (client timeouts and expired contexts).
TIMEOUT_ERROR = re.compile(r"(?i)timeout|timed out|deadline exceeded")

_DURATIONS = ("process_interval", "retry_interval", "process_deadline", "retry_deadline", "backoff_base", "backoff_cap", "retry_after_cap")
_BOOLEANS = (
    "arm_first_failure",
    "webhook_notifier",
    "email_quit_defect",
    "requeue_any_status",
    "success_clears_retry_fields",
    "honor_retry_after",
    "retry_via_pending",
)
_CHOICES = {"backoff_schedule": SCHEDULES, "jitter": JITTERS, "requeue_mode": REQUEUE_MODES, "retry_quota_empty": QUOTA_EMPTY}


def as_dedup_statuses(value: Any, field: str = "policy.dedup_statuses") -> tuple[str, ...]:
    """``value`` as a set of suppressing statuses, in certctl's status order.

    ``value`` is a reading name (:data:`DEDUP_READINGS`) or a collection of
    status names (duplicates ignored; empty: no row suppresses, so a crossed
    threshold is alerted at every renewal check).  Anything else is a
    :class:`ConfigError` naming ``field`` and the allowed values.
    """
    allowed = f"a reading ({', '.join(DEDUP_READINGS)}) or a list of statuses ({', '.join(certctl.STATUSES)})"
    if isinstance(value, str):
        if value in DEDUP_READINGS:
            return DEDUP_READINGS[value]
        close = difflib.get_close_matches(value, [*DEDUP_READINGS, *certctl.STATUSES], n=1)
        if close and close[0] in certctl.STATUSES:
            hint = f" (did you mean [{close[0]!r}]?)"
        else:
            hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(field, f"unknown reading {value!r}{hint}; allowed: {allowed}")
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise ConfigError(field, f"must be {allowed}; got {value!r}")
    for status in value:
        if status not in certctl.STATUSES:
            close = difflib.get_close_matches(str(status), certctl.STATUSES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(field, f"unknown status {status!r}{hint}; allowed: {allowed}")
    return tuple(s for s in certctl.STATUSES if s in value)


def dedup_reading(statuses: tuple[str, ...]) -> str:
    """The name of a reading (``any``, ``not-failed``, ``delivered``), or the statuses as ``a|b`` (``none`` when empty)."""
    for name, reading in DEDUP_READINGS.items():
        if reading == statuses:
            return name
    return "|".join(statuses) or "none"


def _short(value: Any) -> str:
    """A value as it appears in a derived policy name: lists as ``a|b|c`` when short, else their length."""
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
        if len(items) <= 8 and all(len(i) <= 10 and "," not in i for i in items):
            return "|".join(items)
        return f"{len(items)} items"
    return str(value)


@dataclass(frozen=True)
class Policy:
    """certctl's retry policy and its behavioural switches (docs/certctl.md, knobs, docs/policies.md).

    Scheduling: the process loop runs every ``process_interval`` s and may use
    ``process_deadline`` s per tick; the retry loop every ``retry_interval`` s
    with ``retry_deadline`` s per tick.  Both run once at the start.

    Retry arithmetic: a failure of a row whose ``retry_count`` was ``n`` before
    the send waits ``min(backoff_base * backoff_multiplier**n, backoff_cap)`` s
    after the send returned; a failure at ``n >= max_attempts - 1`` goes to
    ``dead`` instead.  A retry tick sends at most ``sweep_limit`` rows; a
    process tick at most ``pending_batch`` rows.

    What-if (:data:`WHAT_IFS`, off in both profiles): ``retry_via_pending``
    makes the retry sweep move each due row back to ``pending`` (one status
    write, no Send) for the process loop to send, as the comment above the
    sweep in certctl's ``internal/scheduler/scheduler.go`` describes; certctl's
    code sends from the sweep.

    Beyond certctl (every default below is certctl's behaviour):

    * ``backoff_schedule`` picks the nominal wait (:data:`SCHEDULES`;
      ``backoff_table`` holds the waits of ``"table"``) and ``jitter`` how it
      is randomised (:data:`JITTERS`, ``jitter_fraction`` for
      ``"proportional"``); see :meth:`delay`.
    * ``honor_retry_after``: a failure that carried a ``Retry-After`` of *r*
      seconds waits at least ``min(r, retry_after_cap)``.
    * ``retry_quota`` > 0 gives every channel (one notifier = one client) an
      AWS-SDK-standard token bucket of that many tokens, full at the start: a
      retry costs ``retry_quota_cost`` (``retry_quota_timeout_cost`` for
      timeouts, :data:`TIMEOUT_ERROR`); a send that succeeds refunds what its
      row's last retry cost, or ``retry_quota_refund`` when the row had not
      retried; when the bucket cannot pay, the failure is not retried and the
      row goes ``retry_quota_empty`` (``dead`` or ``stranded``).
    * ``permanent_errors``: regular expressions; a failure whose error text
      matches one (``re.search``) goes straight to ``dead``, whatever the
      retry count, armed or not (certctl has no classification: empty).
    * ``requeue_mode`` (:data:`REQUEUE_MODES`): what a requeue writes to
      ``retry_count``.

    ``dedup_statuses`` is a switch of its own kind: the statuses of an
    existing expiry-alert row that suppress a new alert for the same
    certificate, threshold and channel.  Give a reading of
    :data:`DEDUP_READINGS` (``"any"``, certctl as built; ``"not-failed"``,
    certctl-i005; ``"delivered"``) or a list of statuses; it is kept as a
    tuple in certctl's status order.
    """

    name: str = "custom"
    process_interval: float = certctl.PROCESS_INTERVAL_S
    retry_interval: float = certctl.RETRY_INTERVAL_S
    process_deadline: float = certctl.PROCESS_DEADLINE_S
    retry_deadline: float = certctl.RETRY_DEADLINE_S
    pending_batch: int = certctl.PENDING_BATCH
    sweep_limit: int = certctl.SWEEP_LIMIT
    max_attempts: int = certctl.MAX_ATTEMPTS
    backoff_base: float = certctl.BACKOFF_BASE_S
    backoff_multiplier: float = 2.0
    backoff_cap: float = certctl.BACKOFF_CAP_S
    # -- switches (the defaults are certctl as built) --
    arm_first_failure: bool = False
    webhook_notifier: bool = False
    dedup_statuses: tuple[str, ...] = certctl.STATUSES
    email_quit_defect: bool = True
    requeue_any_status: bool = True
    success_clears_retry_fields: bool = False
    # -- what-ifs (off in both profiles) --
    retry_via_pending: bool = False
    # -- industry policy space (defaults = certctl) --
    backoff_schedule: str = "exponential"
    backoff_table: tuple[float, ...] = ()
    jitter: str = "none"
    jitter_fraction: float = 0.0
    honor_retry_after: bool = False
    retry_after_cap: float = 3600.0
    retry_quota: int = 0
    retry_quota_cost: int = 5
    retry_quota_timeout_cost: int = 10
    retry_quota_refund: int = 1
    retry_quota_empty: str = "dead"
    permanent_errors: tuple[str, ...] = ()
    requeue_mode: str = "reset"
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError("policy.name", "must be a non-empty string")
        check_text(self.name, "policy.name")
        for name in _DURATIONS:
            object.__setattr__(self, name, parse_duration(getattr(self, name), f"policy.{name}"))
        for name in ("process_interval", "retry_interval"):
            if getattr(self, name) < certctl.MIN_INTERVAL_S:
                raise ConfigError(f"policy.{name}", f"must be at least 1 second (certctl rejects smaller); got {getattr(self, name)}")
        for name in ("pending_batch", "sweep_limit", "max_attempts"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COUNT:
                raise ConfigError(f"policy.{name}", f"must be an integer >= 1 and at most {MAX_COUNT}; got {value!r}")
        mult = self.backoff_multiplier
        if isinstance(mult, bool) or not isinstance(mult, (int, float)) or not math.isfinite(mult) or not 1 <= mult <= MAX_MULTIPLIER:
            raise ConfigError("policy.backoff_multiplier", f"must be a number >= 1 and at most {MAX_MULTIPLIER:g}; got {mult!r}")
        object.__setattr__(self, "backoff_multiplier", float(mult))
        if self.backoff_cap < self.backoff_base:
            raise ConfigError("policy.backoff_cap", f"must be >= backoff_base ({self.backoff_base} s); got {self.backoff_cap}")
        object.__setattr__(self, "dedup_statuses", as_dedup_statuses(self.dedup_statuses))
        for name in _BOOLEANS:
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"policy.{name}", f"must be true or false; got {getattr(self, name)!r}")
        for name, allowed in _CHOICES.items():
            if not isinstance(getattr(self, name), str) or getattr(self, name) not in allowed:
                raise unknown_name(f"policy.{name}", getattr(self, name), allowed)
        table = self.backoff_table
        if isinstance(table, (str, bytes)) or not isinstance(table, (list, tuple)):
            raise ConfigError("policy.backoff_table", f"must be a list of waits (seconds or '5m', ...); got {table!r}")
        table = tuple(parse_duration(v, f"policy.backoff_table[{i}]", allow_zero=True) for i, v in enumerate(table))
        object.__setattr__(self, "backoff_table", table)
        if self.backoff_schedule == "table" and not table:
            raise ConfigError("policy.backoff_table", "must list at least one wait when backoff_schedule is 'table'")
        frac = self.jitter_fraction
        if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0.0 <= frac <= 1.0:
            raise ConfigError("policy.jitter_fraction", f"must be a number in [0, 1]; got {frac!r}")
        object.__setattr__(self, "jitter_fraction", float(frac))
        for name, lo in (("retry_quota", 0), ("retry_quota_cost", 0), ("retry_quota_timeout_cost", 0), ("retry_quota_refund", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= MAX_COUNT:
                raise ConfigError(f"policy.{name}", f"must be an integer >= {lo} and at most {MAX_COUNT}; got {value!r}")
        patterns = self.permanent_errors
        if isinstance(patterns, (str, bytes)) or not isinstance(patterns, (list, tuple)):
            raise ConfigError("policy.permanent_errors", f"must be a list of regular expressions; got {patterns!r}")
        compiled = []
        for i, pattern in enumerate(patterns):
            if not isinstance(pattern, str) or not pattern:
                raise ConfigError(f"policy.permanent_errors[{i}]", f"must be a non-empty regular expression; got {pattern!r}")
            try:
                compiled.append(re.compile(pattern))
            except re.error as exc:
                raise ConfigError(f"policy.permanent_errors[{i}]", f"is not a valid regular expression ({exc}); got {pattern!r}") from None
        object.__setattr__(self, "permanent_errors", tuple(patterns))
        object.__setattr__(self, "_permanent", re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None)

    # -- retry arithmetic -------------------------------------------------

    def backoff(self, retry_count_before: int) -> float:
        """Seconds to wait after a failed send of a row whose ``retry_count`` was ``retry_count_before``.

        The nominal wait of :attr:`backoff_schedule`, before jitter and ``Retry-After``
        (certctl: ``min(backoff_base * backoff_multiplier**n, backoff_cap)``).
        """
        schedule = self.backoff_schedule
        n = retry_count_before
        if schedule == "exponential":
            exponent = min(n, 64)  # the cap is reached long before; avoid float overflow
            return min(self.backoff_base * self.backoff_multiplier**exponent, self.backoff_cap)
        if schedule == "table":
            table = self.backoff_table
            return table[min(n, len(table) - 1)]
        if schedule == "sidekiq":
            return float(n**4 + 15)
        return self.backoff_base  # fixed

    def jittered(self, retry_count_before: int, u: float | None = None, previous: float | None = None) -> float:
        """The wait after jitter (:data:`JITTERS`) for a uniform draw ``u`` in [0, 1).

        ``previous`` is the row's previous wait, used by ``"decorrelated"``
        only (``None``: the row's first retry, ``backoff_base``).  ``u`` is
        required unless ``jitter`` is ``"none"``.
        """
        jitter = self.jitter
        if jitter == "none":
            return self.backoff(retry_count_before)
        if u is None:
            raise ValueError(f"jitter {jitter!r} needs a uniform draw u in [0, 1)")
        if jitter == "decorrelated":
            base = self.backoff_base
            prev = base if previous is None else previous
            return min(self.backoff_cap, base + u * (3.0 * prev - base))
        v = self.backoff(retry_count_before)
        if jitter == "full":
            return u * v
        if jitter == "equal":
            return v / 2.0 + u * v / 2.0
        if jitter == "proportional":
            return v * (1.0 + self.jitter_fraction * (2.0 * u - 1.0))
        return v + math.floor(u * 10 * (retry_count_before + 1))  # sidekiq: rand(10 * (count + 1))

    def jitter_bounds(self, retry_count_before: int, previous: float | None = None) -> tuple[float, float]:
        """The smallest and largest wait :meth:`jittered` can return (the largest is not reached for u < 1, except none)."""
        if self.jitter == "none":
            v = self.backoff(retry_count_before)
            return (v, v)
        if self.jitter == "decorrelated":
            prev = self.backoff_base if previous is None else previous
            return (min(self.backoff_cap, self.backoff_base), min(self.backoff_cap, 3.0 * prev))
        if self.jitter == "sidekiq":
            v = self.backoff(retry_count_before)
            return (v, v + 10 * (retry_count_before + 1) - 1)
        return (self.jittered(retry_count_before, 0.0), self.jittered(retry_count_before, 1.0))

    def delay(self, retry_count_before: int, u: float | None = None, previous: float | None = None, retry_after: float | None = None) -> float:
        """Seconds from a failed send's return to the row's ``next_retry_at``.

        :meth:`jittered`, then, with ``honor_retry_after``, at least
        ``min(retry_after, retry_after_cap)`` when the failure carried a
        ``Retry-After`` of ``retry_after`` seconds.
        """
        wait = self.jittered(retry_count_before, u, previous)
        if retry_after is not None and self.honor_retry_after:
            wait = max(wait, min(retry_after, self.retry_after_cap))
        return wait

    def delays(self, retry_count_before: Any, u: Any = None, previous: Any = None, retry_after: Any = None) -> Any:
        """:meth:`delay` for numpy arrays of the same length (``u``, ``previous``, ``retry_after``: NaN for None).

        Gives exactly the floats :meth:`delay` gives, element by element.
        """
        import numpy as np

        n = np.asarray(retry_count_before, dtype=np.int64)
        schedule = self.backoff_schedule
        if schedule == "exponential":
            table = self.__dict__.get("_nominal")
            if table is None:
                table = np.array([self.backoff(k) for k in range(65)])
                object.__setattr__(self, "_nominal", table)
            nominal = table[np.minimum(n, 64)]
        elif schedule == "table":
            nominal = np.array(self.backoff_table)[np.minimum(n, len(self.backoff_table) - 1)]
        elif schedule == "sidekiq":
            nominal = (n**4 + 15).astype(np.float64)
        else:
            nominal = np.full(len(n), self.backoff_base)
        jitter = self.jitter
        if jitter == "none":
            wait = nominal
        else:
            if u is None:
                raise ValueError(f"jitter {jitter!r} needs uniform draws u in [0, 1)")
            u = np.asarray(u, dtype=np.float64)
            if jitter == "decorrelated":
                base = self.backoff_base
                prev = np.full(len(n), base) if previous is None else np.where(np.isnan(previous), base, previous)
                wait = np.minimum(self.backoff_cap, base + u * (3.0 * prev - base))
            elif jitter == "full":
                wait = u * nominal
            elif jitter == "equal":
                wait = nominal / 2.0 + u * nominal / 2.0
            elif jitter == "proportional":
                wait = nominal * (1.0 + self.jitter_fraction * (2.0 * u - 1.0))
            else:  # sidekiq
                wait = nominal + np.floor(u * 10 * (n + 1))
        if retry_after is not None and self.honor_retry_after:
            ra = np.asarray(retry_after, dtype=np.float64)
            has = ~np.isnan(ra)
            wait = np.where(has, np.maximum(wait, np.minimum(np.where(has, ra, 0.0), self.retry_after_cap)), wait)
        return wait

    def waits(self, n: int | None = None) -> list[float]:
        """The nominal waits (no jitter) after failures at retry counts ``0 .. n-1`` (default: every retry the budget allows, at most 50)."""
        if n is None:
            n = min(self.max_attempts - 1, 50)
        return [self.backoff(rc) for rc in range(n)]

    def exhausted(self, retry_count_before: int) -> bool:
        """True when a failure at this ``retry_count`` goes to ``dead`` (certctl: ``rc >= max-1``)."""
        return retry_count_before >= self.max_attempts - 1

    def is_permanent(self, error: str) -> bool:
        """True when ``error`` matches one of ``permanent_errors`` (never, with certctl's empty list)."""
        pattern: re.Pattern[str] | None = self.__dict__["_permanent"]
        return pattern is not None and pattern.search(error) is not None

    def retry_cost(self, error: str) -> int:
        """Tokens a retry of this failure takes from the retry quota (timeouts cost more)."""
        return self.retry_quota_timeout_cost if TIMEOUT_ERROR.search(error) else self.retry_quota_cost

    @property
    def needs_jitter_draw(self) -> bool:
        """Whether :meth:`delay` needs a uniform draw."""
        return self.jitter != "none"

    # -- construction -----------------------------------------------------

    def replace(self, **changes: Any) -> Policy:
        """A copy with some fields changed; unknown fields are rejected with the closest name."""
        names = {f.name for f in dataclasses.fields(self)}
        for key in changes:
            if key not in names:
                raise unknown_name("policy field", key, names)
        if "dedup_statuses" in changes:
            changes["dedup_statuses"] = as_dedup_statuses(changes["dedup_statuses"])
        if "name" not in changes:
            differs = {k for k, v in changes.items() if getattr(self, k) != v}
            if differs:
                label = {k: dedup_reading(changes[k]) if k == "dedup_statuses" else _short(changes[k]) for k in differs}
                changes["name"] = self.name + "+" + ",".join(f"{k}={label[k]}" for k in sorted(differs))
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain values, suitable for JSON or TOML."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "description"}
        out["backoff_table"] = list(self.backoff_table)
        out["permanent_errors"] = list(self.permanent_errors)
        out["dedup_statuses"] = list(self.dedup_statuses)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Policy:
        """A policy from a mapping; a ``preset`` key starts from that preset (without one: from
        :data:`DEFAULT_BASE`, certctl as built)."""
        data = dict(table(data, "policy", "a table of policy fields"))
        base = cls.preset(data.pop("preset")) if "preset" in data else cls()  # cls() has DEFAULT_BASE's values
        return base.replace(**data)

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> Policy:
        """A policy from a TOML file of policy fields (``preset = "certctl-i005"`` starts from that preset)."""
        return cls.from_dict(read_toml(path, "policy"))

    @classmethod
    def preset(cls, name: str) -> Policy:
        """A named preset; see :meth:`presets`."""
        from .presets import PRESETS

        if isinstance(name, Policy):
            return name
        if not isinstance(name, str) or name not in PRESETS:
            raise unknown_name("policy", name, PRESETS)
        return PRESETS[name]

    @staticmethod
    def presets() -> list[str]:
        """Names of the built-in presets."""
        from .presets import PRESETS

        return list(PRESETS)

    def switches(self) -> dict[str, Any]:
        """The values of the certctl switches (docs/policies.md)."""
        return {name: getattr(self, name) for name in SWITCHES}


#: The preset a policy file or mapping without ``preset =`` starts from.
DEFAULT_BASE = "certctl-asbuilt"

_FROM_PRESETS = ("CERTCTL_ASBUILT", "CERTCTL_I005", "FOREVER_ATTEMPTS", "INDUSTRY_PRESETS", "PRESETS")

if TYPE_CHECKING:
    from .presets import CERTCTL_ASBUILT, CERTCTL_I005, FOREVER_ATTEMPTS, INDUSTRY_PRESETS, PRESETS


def __getattr__(name: str) -> Any:
    """The presets, also importable from here: looked up in :mod:`.presets` when asked for (it builds Policy objects,
    so it imports this module first; either module may be imported first)."""
    if name in _FROM_PRESETS:
        from . import presets

        return getattr(presets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_FROM_PRESETS})


__all__ = [
    "CERTCTL_ASBUILT",
    "CERTCTL_I005",
    "DEDUP_READINGS",
    "DEFAULT_BASE",
    "FOREVER_ATTEMPTS",
    "INDUSTRY_PRESETS",
    "JITTERS",
    "PERMANENT_ERRORS",
    "PRESETS",
    "QUOTA_EMPTY",
    "REQUEUE_MODES",
    "SCHEDULES",
    "SWITCHES",
    "TIMEOUT_ERROR",
    "WHAT_IFS",
    "Policy",
    "as_dedup_statuses",
    "dedup_reading",
]
