"""Rows a run starts from: a snapshot of certctl's table, as dicts, a DataFrame or the list API's JSON.

Use it to start from your real backlog: save ``GET /api/v1/notifications``
from certctl and pass the file as ``initial_rows``.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..certctl import COLUMNS, STATUSES
from ..errors import ConfigError, unknown_name
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
    if type(source).__name__ == "DataFrame" and hasattr(source, "to_dict"):
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
