"""Durations and instants: the simulation clock is float seconds since ``scenario.start``.

Users give durations as seconds or as strings such as ``"90s"``, ``"15m"``,
``"2h"``, ``"7d"``; instants as timezone-aware datetimes, ISO 8601 strings,
or seconds relative to the start (negative allowed).  Standard library only:
the state machine imports this module and must stay free of pandas.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re

from .errors import ConfigError

UTC = dt.UTC
DEFAULT_START = dt.datetime(2026, 1, 1, tzinfo=UTC)

#: Go's zero ``time.Time`` (0001-01-01 00:00:00 UTC), which certctl writes as
#: ``sent_at`` of a failed send.  On the simulation clock it is ``-inf``, so it
#: sorts below every real instant.
ZERO_TIME = float("-inf")
ZERO_TIME_DATETIME = dt.datetime(1, 1, 1, tzinfo=UTC)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
ZERO_TIME_US = (ZERO_TIME_DATETIME - _EPOCH) // dt.timedelta(microseconds=1)

#: The longest duration any setting may take: one hundred years (seconds); longer ones cannot be instants.
MAX_DURATION_S = 36500 * 86400.0

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ms|s|min|m|h|d|w)?\s*$")
_DURATION_HINT = "expected a duration such as 90, '90s', '15m', '2h', '7d'"
_INSTANT_HINT = "expected an ISO 8601 UTC instant such as '2026-01-01T00:00:00Z'"


def parse_duration(value: object, field: str, *, allow_zero: bool = False) -> float:
    """Seconds from a number or a string like ``"90s"``, ``"15m"``, ``"2h"``, ``"7d"``."""
    if isinstance(value, bool):
        raise ConfigError(field, f"{_DURATION_HINT}; got {value!r}")
    if isinstance(value, numbers.Real):  # Python's numbers and numpy's
        seconds = float(value)
    elif isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, str):
        match = _DURATION.match(value)
        negative = _DURATION.match(value.strip()[1:]) if value.strip().startswith("-") else None
        if not match and negative and float(negative.group(1)) > 0:  # "-1h": a duration, but negative
            bound = ">= 0" if allow_zero else "> 0"
            raise ConfigError(field, f"must be a finite duration {bound} seconds; got {value!r}")
        if not match:
            raise ConfigError(field, f"{_DURATION_HINT}; got {value!r}")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    else:
        raise ConfigError(field, f"{_DURATION_HINT}; got {value!r}")
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(field, f"must be a finite duration {bound} seconds; got {value!r}")
    if seconds > MAX_DURATION_S:
        raise ConfigError(field, f"must be at most {MAX_DURATION_S / 86400:g} days (one hundred years); got {value!r}")
    return seconds


def _as_datetime(value: object) -> dt.datetime | None:
    """A datetime from a datetime, a date, an ISO string or a numpy/pandas instant; None for NULL-like values."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value.strip())
    to_pydatetime = getattr(value, "to_pydatetime", None)
    if callable(to_pydatetime):
        return to_pydatetime()
    if type(value).__name__ == "datetime64":  # numpy.datetime64, without importing numpy here
        item = value.astype("datetime64[us]").item()  # type: ignore[attr-defined]
        return item if isinstance(item, dt.datetime) else None
    raise TypeError(type(value).__name__)


def _is_nat(value: object) -> bool:
    return type(value).__name__ in ("NaTType",) or (type(value).__name__ == "datetime64" and str(value) == "NaT")


_EARLIEST_START = dt.datetime(1970, 1, 1, tzinfo=UTC)
_LATEST_START = dt.datetime(2200, 1, 1, tzinfo=UTC)


def parse_start(value: object, field: str = "start") -> dt.datetime:
    """A timezone-aware UTC datetime from a datetime or ISO string (naive means UTC)."""
    if value is None:
        return DEFAULT_START
    if _is_nat(value) or (isinstance(value, str) and not value.strip()):
        raise ConfigError(field, "must be an instant, not empty")
    try:
        when = _as_datetime(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ConfigError(field, f"{_INSTANT_HINT}; got {value!r}") from exc
    if when is None:
        raise ConfigError(field, "must be an instant, not empty")
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if not _EARLIEST_START <= when < _LATEST_START:  # ids count nanoseconds since 1970 in 64 bits
        raise ConfigError(field, f"must be from 1970-01-01 to before 2200-01-01 (UTC); got {value!r}")
    return when


def parse_instant(value: object, start: dt.datetime, field: str) -> float | None:
    """Simulation-clock seconds from seconds-relative-to-start, a datetime or an ISO string.

    ``None``/NaN/NaT mean NULL; Go's zero time (year 1) maps to :data:`ZERO_TIME`.
    A datetime or string without a zone is read as UTC.
    """
    if value is None or _is_nat(value):
        return None
    if isinstance(value, bool):
        raise ConfigError(field, f"expected seconds relative to start or a UTC timestamp; got {value!r}")
    if isinstance(value, (int, float)) or type(value).__name__ in ("float64", "float32", "int64", "int32"):
        number = float(value)  # type: ignore[arg-type]
        if math.isnan(number):
            return None
        if not abs(number) <= MAX_DURATION_S:
            raise ConfigError(field, f"seconds relative to start must be within ±{MAX_DURATION_S / 86400:g} days; got {value!r}")
        return number
    if isinstance(value, str) and value.strip() == "":
        return None
    if isinstance(value, str) and value.strip().startswith("0001-01-01"):
        return ZERO_TIME
    try:
        when = _as_datetime(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ConfigError(field, f"expected seconds relative to start or a UTC timestamp; got {value!r}") from exc
    if when is None:
        return None
    if when.year == 1:
        return ZERO_TIME
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return (when - start).total_seconds()


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
