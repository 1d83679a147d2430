"""Retry policy: every knob of certctl's notification pipeline, its quirks as named switches, and presets.

A :class:`Policy` holds numbers and switches only; the state machine
(:mod:`notifsim.machine`) decides transitions with them and the engine
(:mod:`notifsim.engine`) moves time.  Durations are in seconds.

The two certctl profiles differ only in the switches listed in
:data:`SWITCHES`, so flipping one switch on ``certctl-asbuilt`` answers
"what does fixing only this change?".
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError, unknown_name
from .timeutil import parse_duration

#: The switches that separate certctl as built from certctl as designed (DESIGN §1).
SWITCHES = (
    "arm_first_failure",
    "pending_batch",
    "webhook_notifier",
    "dedup_any_status",
    "email_quit_defect",
    "requeue_any_status",
    "success_clears_retry_fields",
)

_DURATIONS = ("process_interval", "retry_interval", "process_deadline", "retry_deadline", "backoff_base", "backoff_cap")
_BOOLEANS = (
    "arm_first_failure",
    "webhook_notifier",
    "dedup_any_status",
    "email_quit_defect",
    "requeue_any_status",
    "success_clears_retry_fields",
)


@dataclass(frozen=True)
class Policy:
    """certctl's retry policy and its behavioural switches (spec §11.2, DESIGN §1).

    Scheduling: the process loop runs every ``process_interval`` s and may use
    ``process_deadline`` s per tick; the retry loop every ``retry_interval`` s
    with ``retry_deadline`` s per tick.  Both run once at the start.

    Retry arithmetic: a failure of a row whose ``retry_count`` was ``n`` before
    the send waits ``min(backoff_base * backoff_multiplier**n, backoff_cap)`` s
    after the send returned; a failure at ``n >= max_attempts - 1`` goes to
    ``dead`` instead.  A retry tick sends at most ``sweep_limit`` rows; a
    process tick at most ``pending_batch`` rows.
    """

    name: str = "custom"
    process_interval: float = 60.0
    retry_interval: float = 120.0
    process_deadline: float = 60.0
    retry_deadline: float = 120.0
    pending_batch: int = 50
    sweep_limit: int = 1000
    max_attempts: int = 5
    backoff_base: float = 60.0
    backoff_multiplier: float = 2.0
    backoff_cap: float = 3600.0
    # -- switches (True = certctl as built, except where noted) --
    arm_first_failure: bool = False
    webhook_notifier: bool = False
    dedup_any_status: bool = True
    email_quit_defect: bool = True
    requeue_any_status: bool = True
    success_clears_retry_fields: bool = False
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError("policy.name", "must be a non-empty string")
        for name in _DURATIONS:
            object.__setattr__(self, name, parse_duration(getattr(self, name), f"policy.{name}"))
        for name in ("process_interval", "retry_interval"):
            if getattr(self, name) < 1.0:
                raise ConfigError(f"policy.{name}", f"must be at least 1 second (certctl rejects smaller); got {getattr(self, name)}")
        for name in ("pending_batch", "sweep_limit", "max_attempts"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"policy.{name}", f"must be an integer >= 1; got {value!r}")
        mult = self.backoff_multiplier
        if isinstance(mult, bool) or not isinstance(mult, (int, float)) or not math.isfinite(mult) or mult < 1:
            raise ConfigError("policy.backoff_multiplier", f"must be a number >= 1; got {mult!r}")
        object.__setattr__(self, "backoff_multiplier", float(mult))
        if self.backoff_cap < self.backoff_base:
            raise ConfigError("policy.backoff_cap", f"must be >= backoff_base ({self.backoff_base} s); got {self.backoff_cap}")
        for name in _BOOLEANS:
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"policy.{name}", f"must be true or false; got {getattr(self, name)!r}")

    # -- retry arithmetic -------------------------------------------------

    def backoff(self, retry_count_before: int) -> float:
        """Seconds to wait after a failed send of a row whose ``retry_count`` was ``retry_count_before``."""
        exponent = min(retry_count_before, 64)  # the cap is reached long before; avoid float overflow
        return min(self.backoff_base * self.backoff_multiplier**exponent, self.backoff_cap)

    def exhausted(self, retry_count_before: int) -> bool:
        """True when a failure at this ``retry_count`` goes to ``dead`` (certctl: ``rc >= max-1``)."""
        return retry_count_before >= self.max_attempts - 1

    # -- construction -----------------------------------------------------

    def replace(self, **changes: Any) -> "Policy":
        """A copy with some fields changed; unknown fields are rejected with the closest name."""
        names = {f.name for f in dataclasses.fields(self)}
        for key in changes:
            if key not in names:
                raise unknown_name("policy field", key, names)
        if "name" not in changes:
            differs = {k for k, v in changes.items() if getattr(self, k) != v}
            if differs:
                changes["name"] = self.name + "+" + ",".join(f"{k}={changes[k]}" for k in sorted(differs))
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain values, suitable for JSON or TOML."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "description"}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Policy":
        """A policy from a mapping; a ``preset`` key starts from that preset."""
        data = dict(data)
        base = cls.preset(data.pop("preset")) if "preset" in data else cls()
        return base.replace(**data)

    @classmethod
    def preset(cls, name: str) -> "Policy":
        """A named preset; see :meth:`presets`."""
        if isinstance(name, Policy):
            return name
        if name not in PRESETS:
            raise unknown_name("policy", name, PRESETS)
        return PRESETS[name]

    @staticmethod
    def presets() -> list[str]:
        """Names of the built-in presets."""
        return list(PRESETS)

    def switches(self) -> dict[str, Any]:
        """The values of the certctl switches (DESIGN §1)."""
        return {name: getattr(self, name) for name in SWITCHES}


CERTCTL_ASBUILT = Policy(
    name="certctl-asbuilt",
    description=(
        "certctl at HEAD: a first-send failure strands the row (failed, next_retry_at NULL); "
        "pending batch 50; no Webhook notifier; dedup matches any status; requeue from any status; "
        "success keeps stale retry fields; Email delivered but reported failed."
    ),
)

CERTCTL_I005 = dataclasses.replace(
    CERTCTL_ASBUILT,
    name="certctl-i005",
    pending_batch=1000,
    arm_first_failure=True,
    webhook_notifier=True,
    dedup_any_status=False,
    email_quit_defect=False,
    requeue_any_status=False,
    success_clears_retry_fields=True,
    description=(
        "certctl as I-005 designed it: a first failure arms the retry path (rc 1, next try after 1 min); "
        "5 sends then dead; pending batch 1000; working Webhook notifier; dedup ignores failed rows; "
        "no Email quit defect; requeue refused for sent/read; success clears retry fields."
    ),
)

PRESETS: dict[str, Policy] = {p.name: p for p in (CERTCTL_ASBUILT, CERTCTL_I005)}
