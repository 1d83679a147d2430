"""Rows a run starts from: a snapshot of certctl's table, as dicts, a DataFrame or the list API's JSON.

Use it to start from your real backlog: save ``GET /api/v1/notifications``
from certctl and pass the file as ``initial_rows``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import uuid
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..budget import MAX_COUNT
from ..certctl import CHANNELS, COLUMNS, STATUSES, TYPES
from ..errors import ConfigError, NotifsimWarning, unknown_name
from ..timeutil import parse_instant

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
    """None for every NULL spelling (None, NaN, pandas' NA and NaT, numpy's NaT), else the value."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    if type(value).__name__ == "datetime64" and str(value) == "NaT":
        return None
    return value


def _read_json(path: Path) -> Any:
    """The JSON value in the file at ``path`` (UTF-8 text); :class:`ConfigError` naming the problem otherwise."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError("initial_rows", f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError("initial_rows", f"{str(path)!r} is not UTF-8 text (byte {exc.start} is 0x{raw[exc.start]:02x})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError("initial_rows", f"{str(path)!r} is not JSON: {exc}") from None
    except RecursionError:
        raise ConfigError("initial_rows", f"{str(path)!r} nests arrays or objects too deeply") from None


def _is_naive(value: Any) -> bool:
    """Whether a timestamp value is an instant written without a time zone (numbers and NULLs are not)."""
    if isinstance(value, str):
        text = value.strip()
        if not text or text.startswith("0001-01-01"):
            return False
        try:
            return dt.datetime.fromisoformat(text).tzinfo is None
        except ValueError:
            return False
    if isinstance(value, dt.datetime):
        return value.tzinfo is None
    return type(value).__name__ == "datetime64"


def _written_otherwise(value: str, names: Sequence[str]) -> str | None:
    """The name of ``names`` that ``value`` spells another way (case, snake_case), if any."""
    folded = value.replace("_", "").lower()
    return next((name for name in names if name.lower() == folded), None)


def _check_names(row: dict[str, Any], field: str) -> list[str]:
    """Refuse a status, type or channel certctl does not have; return warnings for one it has, spelt another way.

    certctl's columns have no CHECK constraint and its queries compare texts
    exactly, so an old snapshot's ``Pending`` or a demo seed's
    ``expiration_warning`` is kept as written (a status no loop lists, a type
    no dedup check matches); anything else is a mistake and refused.
    """
    notes = []
    for name, plural, known, effect in (
        ("status", "statuses", STATUSES, "the loops never list it and no status count includes it"),
        ("type", "types", TYPES, "no query for that type matches it (an expiry alert so written suppresses nothing)"),
        ("channel", "channels", CHANNELS, "this row has no notifier (marked sent, never delivered)"),
    ):
        value = row[name]
        if value in known:
            continue
        same = _written_otherwise(value, known)
        if same is None:
            raise unknown_name(f"{field}.{name}", value, known)
        notes.append(f"{field}.{name}: {value!r} is not {same!r}: certctl matches {plural} exactly, so {effect}")
    return notes


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
        data = _read_json(path)
        if isinstance(data, dict):
            if "data" not in data:
                raise ConfigError("initial_rows", "a JSON object must hold the list in 'data' (certctl's GET /api/v1/notifications response)")
            data = data["data"]
        source = data
    if type(source).__name__ == "DataFrame" and hasattr(source, "to_dict"):
        records = source.to_dict(orient="records")
    elif isinstance(source, (list, tuple)):
        records = list(source)
    else:
        raise ConfigError("initial_rows", f"expected a list of dicts, a DataFrame or a JSON file path; got {type(source).__name__}")
    rows = []
    seen: set[str] = set()
    notes: list[str] = []
    naive: list[str] = []
    for i, record in enumerate(records):
        field = f"initial_rows[{i}]"
        if not isinstance(record, Mapping):
            raise ConfigError(field, f"must be a mapping of column to value; got {type(record).__name__}")
        extra = sorted(str(k) for k in set(record) - set(COLUMNS))
        if extra:
            raise unknown_name(f"{field} column" + (f" (unknown: {', '.join(map(repr, extra))})" if len(extra) > 1 else ""), extra[0], COLUMNS)
        row = dict(_ROW_DEFAULTS)
        row.update({k: _none(v) for k, v in record.items()})
        if row.get("id") in (None, ""):
            row["id"] = str(uuid.UUID(int=(0x5EED << 96) | i))
        row["id"] = str(row["id"])
        if row["id"] in seen:
            raise ConfigError(f"{field}.id", f"duplicate id {row['id']!r}")
        seen.add(row["id"])
        for name in _TIME_COLUMNS:
            if _is_naive(row.get(name)):
                naive.append(f"{field}.{name}")
            row[name] = parse_instant(row.get(name), start, f"{field}.{name}")
        if row["created_at"] is None:
            row["created_at"] = 0.0
        rc = row["retry_count"]
        if isinstance(rc, float) and rc.is_integer():
            rc = int(rc)
        if isinstance(rc, bool) or not isinstance(rc, (int, np.integer)) or not 0 <= rc <= MAX_COUNT:
            raise ConfigError(f"{field}.retry_count", f"must be an integer >= 0 and at most {MAX_COUNT}; got {rc!r}")
        row["retry_count"] = int(rc)
        if not isinstance(row["status"], str):
            raise ConfigError(f"{field}.status", f"must be a string, one of {', '.join(STATUSES)}")
        for name in ("type", "channel", "recipient", "message"):
            if not isinstance(row[name], str):
                raise ConfigError(f"{field}.{name}", f"must be a string; got {row[name]!r}")
        notes += _check_names(row, field)
        rows.append(row)
    if notes:
        more = f" (and {len(notes) - 1} more)" if len(notes) > 1 else ""
        warnings.warn(notes[0] + more, NotifsimWarning, stacklevel=2)
    if naive:
        more = f" and {len(naive) - 1} more" if len(naive) > 1 else ""
        warnings.warn(f"{naive[0]}{more}: timestamps without a time zone are read as UTC; write them with 'Z' or an offset", NotifsimWarning, stacklevel=2)
    return rows
