"""What a run may ask for: hard upper bounds on its numbers, and an estimate of the memory it needs.

The bounds (:data:`MAX_HORIZON_S`, :data:`MAX_SEED`, ...) keep every number
inside what the engine, NumPy and DuckDB can hold; values beyond them raise
:class:`~notifsim.errors.ConfigError` at once.  :func:`check_memory`
estimates the rows a run creates from its workload, horizon and policy,
prices them with bytes per row measured on real runs, and refuses a run
that would not fit in this machine's memory unless ``force`` is given.

Standard library only.  :data:`MAX_DURATION_S` bounds every duration (in :mod:`notifsim.timeutil`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError
from .timeutil import MAX_DURATION_S

__all__ = ["MAX_DURATION_S", "MAX_HORIZON_S", "MAX_SEED", "Estimate", "check_horizon", "check_memory", "check_seed", "estimate"]

#: The longest horizon a run may have: ten years (seconds).
MAX_HORIZON_S = 3650 * 86400.0
#: Seeds are stored as DuckDB BIGINT: 0 ≤ seed ≤ 2**63 − 1.
MAX_SEED = 2**63 - 1
#: The highest arrival rate of a workload (notifications per hour; 10 million/h ≈ 2,800 per second).
MAX_RATE_PER_HOUR = 1e7
#: The most recipients (an arrival workload's) or owners (a fleet's) a run builds an address for, up front.
MAX_RECIPIENTS = 1_000_000
#: The largest backoff multiplier (1000**64 still fits in a float).
MAX_MULTIPLIER = 1000.0
#: The largest retry budget, batch size or retry count (certctl stores them as 32-bit integers).
MAX_COUNT = 2**31 - 1

# Bytes a run holds per row, measured by scripts/measure_memory.py on this project's 2-core, 24 GiB machine:
# tracemalloc's peak over simulate() + prepare_run() on eight runs of the shipped scenarios (2,855-21,361
# notifications) fits 936 B per notification, ~0 B per Send call and 80 B per tick (Python and NumPy memory);
# the growth of the process's peak RSS (which also sees Arrow's and DuckDB's native buffers) on the default
# scenario at 200,000/h × 4 h, 500,000/h × 4 h and 100,000/h × 24 h (0.84-2.5 million notifications,
# 1.02-1.11 Send calls each) was 1,153-1,275 B per notification with its Send calls.  The constants below
# price a notification with two Send calls at 1.6 KB: above every measurement, so the estimate errs high.
#: Peak bytes per notification (its state-table row, its final-state row, its share of the samples).
BYTES_PER_NOTIFICATION = 1_000
#: Peak bytes per Send call (its attempt row and events).
BYTES_PER_ATTEMPT = 300
#: Peak bytes per scheduler tick (process and retry loops).
BYTES_PER_TICK = 100
#: Fixed allowance per run whatever its size (bytes): channel models, streams, pandas frames.
BYTES_FIXED = 64 * 2**20
#: Send calls assumed per notification (measured 1.0-1.3 on the shipped scenarios; a failing channel under a long
#: retry budget sends more, and the memory estimate only has to be right in order of magnitude).
ATTEMPTS_PER_NOTIFICATION = 2
#: The share of available memory a run may take without ``force``.
MEMORY_SHARE = 0.5


@dataclass(frozen=True)
class Estimate:
    """The rows a run is expected to create and the bytes they take at the peak."""

    notifications: float
    attempts: float
    ticks: float
    samples: float = 0.0

    @property
    def bytes(self) -> float:
        return BYTES_FIXED + self.notifications * BYTES_PER_NOTIFICATION + self.attempts * BYTES_PER_ATTEMPT + (self.ticks + self.samples) * BYTES_PER_TICK


def check_horizon(seconds: float, field: str = "horizon") -> float:
    """``seconds`` if it is at most :data:`MAX_HORIZON_S`, else a :class:`ConfigError`."""
    if seconds > MAX_HORIZON_S:
        raise ConfigError(field, f"must be at most {MAX_HORIZON_S / 86400:g} days (ten years); got {seconds / 86400:g} days")
    return seconds


def check_seed(seed: object, field: str = "seed", bits: int = 63) -> int:
    """An integer in ``[0, 2**bits - 1]`` (by default DuckDB's BIGINT), else a :class:`ConfigError` naming ``field``."""
    is_int = isinstance(seed, int) or type(seed).__name__ in ("int64", "int32", "uint64", "uint32")
    top = 2**bits - 1
    if isinstance(seed, bool) or not is_int or not 0 <= int(seed) <= top:  # type: ignore[call-overload]
        raise ConfigError(field, f"must be an integer >= 0 and at most 2**{bits} - 1 = {top}; got {seed!r}")
    return int(seed)  # type: ignore[call-overload]


def available_memory() -> int:
    """Bytes this process may still use: MemAvailable of /proc/meminfo, else the physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, AttributeError):
        return 8 * 2**30


def expected_creations(workload: Any, horizon_s: float) -> float:
    """Notifications a workload creates over ``horizon_s`` seconds, roughly (an upper-side estimate)."""
    if workload is None:
        return 0.0
    rate = getattr(workload, "rate_per_hour", None)
    if rate is not None:
        return float(rate) * horizon_s / 3600.0
    certificates = float(getattr(workload, "certificates", 0) or 0) + float(getattr(workload, "burst_certificates", 0) or 0)
    thresholds = len(getattr(workload, "thresholds", ()) or ()) + 4  # threshold alerts + renewal, deployment, revocation
    lifetime_s = float(getattr(workload, "lifetime_days", 90.0) or 90.0) * 86400.0
    targets = float(getattr(workload, "deployment_targets", 1) or 1)
    return certificates * (thresholds + targets) * max(1.0, horizon_s / lifetime_s)


def estimate(scenario: Any, policy: Any, horizon_s: float, initial_rows: int = 0, sample_interval_s: float = 900.0) -> Estimate:
    """The rows a run of ``scenario`` under ``policy`` for ``horizon_s`` seconds is expected to create
    (a sample row every ``sample_interval_s`` seconds)."""
    notifications = expected_creations(scenario.workload, horizon_s) + initial_rows
    attempts = notifications * min(float(policy.max_attempts), ATTEMPTS_PER_NOTIFICATION)
    ticks = horizon_s / float(policy.process_interval) + horizon_s / float(policy.retry_interval)
    return Estimate(notifications, attempts, ticks, horizon_s / sample_interval_s)


def check_memory(
    scenario: Any, policy: Any, horizon_s: float, initial_rows: int = 0, *, sample_interval_s: float = 900.0, force: bool = False, runs: int = 1
) -> Estimate:
    """Refuse (:class:`ConfigError`) a run whose estimated peak memory exceeds :data:`MEMORY_SHARE` of the
    available memory, naming the estimate and the knobs that set it; ``force`` lets it run anyway."""
    guess = estimate(scenario, policy, horizon_s, initial_rows, sample_interval_s)
    need = guess.bytes * runs
    have = available_memory() * MEMORY_SHARE
    if force or need <= have:
        return guess
    if guess.samples * BYTES_PER_TICK > guess.bytes / 2:
        raise ConfigError(
            "sample_interval",
            f"a sample every {sample_interval_s:g} s for {horizon_s / 86400:g} days is {_count(guess.samples)} sample rows "
            f"≈ {_gib(guess.bytes)} of memory{_times(runs)}, "
            f"more than the {_gib(have)} this machine can spare; sample less often (such as '15m'), or pass --force (force=True) to run anyway",
        )
    raise ConfigError(
        "horizon",
        f"the run would create about {_count(guess.notifications)} notifications, {_count(guess.attempts)} Send calls and "
        f"{_count(guess.ticks + guess.samples)} ticks and samples ≈ {_gib(guess.bytes)} of memory{_times(runs)}, "
        f"more than the {_gib(have)} this machine can spare; "
        "shorten the horizon, lower the workload's rate or certificates, or pass --force (force=True) to run anyway",
    )


def _times(runs: int) -> str:
    """`` per run, N runs at once`` when several runs share the machine's memory."""
    return "" if runs == 1 else f" per run, {runs} runs at once"


def _count(value: float) -> str:
    if value >= 1e9:
        return f"{value / 1e9:.3g} billion"
    if value >= 1e6:
        return f"{value / 1e6:.3g} million"
    return f"{math.ceil(value):,}"


def _gib(value: float) -> str:
    return f"{value / 2**30:.1f} GiB"
