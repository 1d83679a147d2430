"""What creates notifications, and the snapshot of rows a run starts from.

A workload is a recipe; during a run the engine calls
:meth:`Workload.process`, a SimPy process that calls ``sim.create(...)`` for
each new notification.  certctl's creators insert a ``pending`` row and send
it at once in their own context (spec §2), so every creation is followed by
an immediate send with the creator's deadline.

:func:`load_initial_rows` turns a snapshot (dicts, a DataFrame, or the JSON
of certctl's ``GET /api/v1/notifications``) into rows with certctl's columns.
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
import pandas as pd

from .errors import ConfigError, unknown_name
from .machine import CHANNELS, COLUMNS, STATUSES, TYPES
from .timeutil import parse_duration, parse_instant


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
        if isinstance(rate_per_hour, bool) or not isinstance(rate_per_hour, (int, float)) or not math.isfinite(rate_per_hour) or rate_per_hour < 0:
            raise ConfigError("Poisson.rate_per_hour", f"must be a rate >= 0 per hour; got {rate_per_hour!r}")
        if isinstance(recipients, bool) or not isinstance(recipients, int) or recipients < 1:
            raise ConfigError("Poisson.recipients", f"must be an integer >= 1; got {recipients!r}")
        self.rate_per_hour = float(rate_per_hour)
        self.channels = _weights(channels, "Poisson.channels", CHANNELS)
        self.types = _weights(types, "Poisson.types", TYPES)
        self.recipients = recipients
        self.deadline = parse_duration(deadline, "Poisson.deadline")

    def arrivals(self, rng: np.random.Generator, horizon_s: float) -> pd.DataFrame:
        """Arrival times (s) in ``[0, horizon_s)`` with channel, type and recipient, as columns."""
        rate_s = self.rate_per_hour / 3600.0
        if rate_s == 0:
            return pd.DataFrame({"at": np.empty(0), "channel": [], "type": [], "recipient": []})
        expected = rate_s * horizon_s
        n = int(expected + 10 * math.sqrt(expected) + 20)
        times = np.cumsum(rng.exponential(1.0 / rate_s, size=n))
        while times[-1] < horizon_s:  # astronomically rare: extend
            more = times[-1] + np.cumsum(rng.exponential(1.0 / rate_s, size=n))
            times = np.concatenate([times, more])
        times = times[times < horizon_s]
        k = len(times)
        ch_names, ch_w = list(self.channels), np.array(list(self.channels.values()))
        ty_names, ty_w = list(self.types), np.array(list(self.types.values()))
        channel = np.array(ch_names, dtype=object)[rng.choice(len(ch_names), size=k, p=ch_w / ch_w.sum())]
        type_ = np.array(ty_names, dtype=object)[rng.choice(len(ty_names), size=k, p=ty_w / ty_w.sum())]
        owner = rng.integers(1, self.recipients + 1, size=k)
        return pd.DataFrame({"at": times, "channel": channel, "type": type_, "owner": owner})

    def process(self, sim):
        table = self.arrivals(sim.streams.generator("arrivals"), sim.horizon_s)
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


WORKLOADS: dict[str, type[Workload]] = {"Poisson": Poisson}


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
