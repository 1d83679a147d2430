"""Durations and instants: the simulation clock is float seconds since ``scenario.start``.

Users may give durations as seconds or as strings such as ``"90s"``, ``"15m"``,
``"2h"``, ``"7d"``; instants as timezone-aware datetimes, ISO strings, or
seconds relative to the start (negative allowed).
"""

from __future__ import annotations

import datetime as dt
import math
import re

import pandas as pd

from .errors import ConfigError

UTC = dt.timezone.utc
DEFAULT_START = dt.datetime(2026, 1, 1, tzinfo=UTC)

#: Go's zero ``time.Time`` (0001-01-01 00:00:00 UTC), which certctl writes as
#: ``sent_at`` of a failed send.  On the simulation clock it is ``-inf``, so it
#: sorts below every real instant.
ZERO_TIME = float("-inf")
ZERO_TIME_DATETIME = dt.datetime(1, 1, 1, tzinfo=UTC)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
ZERO_TIME_US = (ZERO_TIME_DATETIME - _EPOCH) // dt.timedelta(microseconds=1)

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ms|s|min|m|h|d|w)?\s*$")


def parse_duration(value: object, field: str, *, allow_zero: bool = False) -> float:
    """Seconds from a number or a string like ``"90s"``, ``"15m"``, ``"2h"``, ``"7d"``."""
    if isinstance(value, bool):
        raise ConfigError(field, f"expected a duration such as 90, '90s', '15m', '2h', '7d'; got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ConfigError(field, f"expected a duration such as 90, '90s', '15m', '2h', '7d'; got {value!r}")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    else:
        raise ConfigError(field, f"expected a duration such as 90, '90s', '15m', '2h', '7d'; got {value!r}")
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(field, f"must be a finite duration {bound} seconds; got {value!r}")
    return seconds


def parse_start(value: object, field: str = "start") -> dt.datetime:
    """A timezone-aware UTC datetime from a datetime or ISO string (naive means UTC)."""
    if value is None:
        return DEFAULT_START
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(field, f"expected an ISO 8601 UTC instant such as '2026-01-01T00:00:00Z'; got {value!r}") from exc
    if ts is pd.NaT:
        raise ConfigError(field, "must be an instant, not empty")
    ts = ts.tz_localize(UTC) if ts.tzinfo is None else ts.tz_convert(UTC)
    return ts.to_pydatetime()


def parse_instant(value: object, start: dt.datetime, field: str) -> float | None:
    """Simulation-clock seconds from seconds-relative-to-start, a datetime or an ISO string.

    ``None``/NaN/NaT mean NULL; Go's zero time (year 1) maps to :data:`ZERO_TIME`.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ConfigError(field, f"expected seconds relative to start or a UTC timestamp; got {value!r}")
    if isinstance(value, (int, float)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, str) and value.strip() == "":
        return None
    if isinstance(value, str) and value.startswith("0001-01-01"):
        return ZERO_TIME
    if isinstance(value, dt.datetime) and value.year == 1:
        return ZERO_TIME
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ConfigError(field, f"expected seconds relative to start or a UTC timestamp; got {value!r}") from exc
    if ts is pd.NaT:
        return None
    if ts.year == 1:
        return ZERO_TIME
    ts = ts.tz_localize(UTC) if ts.tzinfo is None else ts.tz_convert(UTC)
    return (ts.to_pydatetime() - start).total_seconds()


def to_utc_us(seconds: float | None, start_us: int) -> int | None:
    """Microseconds since the Unix epoch for a simulation instant (None stays None)."""
    if seconds is None:
        return None
    if seconds == ZERO_TIME:
        return ZERO_TIME_US
    return start_us + round(seconds * 1_000_000)


def datetime_to_us(value: dt.datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime."""
    return (value - _EPOCH) // dt.timedelta(microseconds=1)
