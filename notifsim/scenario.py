"""A scenario is the world a policy runs in: which notifiers exist and how they fail,
what creates notifications, which rows already exist, and what the operator does.

Scenarios are built in Python or loaded from TOML (:meth:`Scenario.from_toml`);
the presets are the TOML files shipped in ``notifsim/scenarios/``.  A
channel missing from ``channels`` has no notifier: its rows are marked
``sent`` without any delivery (spec T3/T6).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from . import channels as channels_mod
from . import operators as operator_mod
from . import workloads as workload_mod
from .certctl import CHANNELS
from .database import HEALTHY, Database
from .deployment import SINGLE, Deployment
from .errors import ConfigError, build_from_spec, check_text, unknown_name
from .timeutil import parse_start
from .tomlfile import parse_toml, read_toml, short, table, type_name

_PRESET_DIR = "scenarios"


class Scenario:
    """Channels (``{"Slack": model, ...}``), a workload (or ``None``), a start instant (UTC),
    optional initial rows, an optional operator, the database's faults (default: none) and how
    certctl is deployed (:class:`~notifsim.deployment.Deployment`; default: one replica, never restarted)."""

    def __init__(
        self,
        name: str = "custom",
        channels: Mapping[str, channels_mod.ChannelModel] | None = None,
        workload: workload_mod.Workload | None = None,
        start: dt.datetime | str | None = None,
        initial_rows: Any = None,
        operator: operator_mod.Operator | None = None,
        description: str = "",
        database: Database | None = None,
        deployment: Deployment | None = None,
    ):
        if not isinstance(name, str) or not name:
            raise ConfigError("scenario.name", "must be a non-empty string")
        check_text(name, "scenario.name")
        channels = dict(channels or {})
        for channel, model in channels.items():
            if channel not in CHANNELS:
                raise unknown_name("scenario.channels key", channel, CHANNELS)
            if isinstance(model, (list, tuple)):  # several models on one channel
                model = channels[channel] = channels_mod.Compose(model)
            if not isinstance(model, channels_mod.ChannelModel):
                raise ConfigError(f"scenario.channels.{channel}", f"must be a channel model such as Bernoulli(0.1), or a list of them; got {model!r}")
            if channel == "Email" and model.accept_status != 200:
                raise ConfigError("scenario.channels.Email.accept_status", "applies to HTTP channels only (Email is SMTP); leave it at 200")
        if workload is not None and not isinstance(workload, workload_mod.Workload):
            raise ConfigError("scenario.workload", f"must be a workload such as Poisson(60) or None; got {workload!r}")
        if database is not None and not isinstance(database, Database):
            raise ConfigError("scenario.database", f"must be a notifsim.database.Database or None; got {database!r}")
        if deployment is not None and not isinstance(deployment, Deployment):
            raise ConfigError("scenario.deployment", f"must be a notifsim.Deployment or None; got {deployment!r}")
        if operator is not None and not isinstance(operator, operator_mod.Operator):
            raise ConfigError("scenario.operator", f"must be an operator or None; got {operator!r}")
        self.name = name
        self.channels = channels
        self.workload = workload
        self.start = parse_start(start, "scenario.start")
        self.initial_rows = initial_rows
        self.database = database or HEALTHY
        self.deployment = deployment or SINGLE
        self.operator = operator
        self.description = description

    def __repr__(self) -> str:
        return f"Scenario({self.name!r}, channels={sorted(self.channels)}, workload={type(self.workload).__name__ if self.workload else None})"

    def describe(self) -> dict[str, Any]:
        """Plain values for the run's config JSON."""
        return {
            "name": self.name,
            "start": self.start.isoformat(),
            "channels": {ch: model.describe() for ch, model in self.channels.items()},
            "workload": self.workload.describe() if self.workload else None,
            "operator": self.operator.describe() if self.operator else None,
            "database": self.database.describe(),
            "deployment": self.deployment.describe(),
            "initial_rows": None if self.initial_rows is None else (str(self.initial_rows) if isinstance(self.initial_rows, (str, Path)) else "inline"),
        }

    # -- presets and files ---------------------------------------------------

    @staticmethod
    def presets() -> list[str]:
        """Names of the shipped scenarios."""
        folder = resources.files("notifsim").joinpath(_PRESET_DIR)
        return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))

    @classmethod
    def preset(cls, name: str) -> Scenario:
        """A shipped scenario by name (see :meth:`presets`)."""
        if isinstance(name, Scenario):
            return name
        names = cls.presets()
        if name not in names:
            raise unknown_name("scenario", name, names)
        return cls.from_dict(cls._preset_data(name), source=f"scenario preset {name!r}")

    @classmethod
    def _preset_data(cls, name: object) -> dict[str, Any]:
        """The plain values of a shipped scenario (what ``preset = name`` in a file starts from)."""
        names = cls.presets()
        if not isinstance(name, str) or name not in names:
            raise unknown_name("scenario preset", name, names)
        path = resources.files("notifsim").joinpath(_PRESET_DIR, f"{name}.toml")
        return parse_toml(path.read_bytes(), "scenario", f"scenario preset {name!r}")

    @classmethod
    def from_toml(cls, path: str | Path) -> Scenario:
        """A scenario from a TOML file (see ``notifsim/scenarios/default.toml`` for the layout).

        ``preset = "name"`` starts from that shipped scenario: the file's keys replace the preset's,
        except ``channels``, which are replaced one channel at a time.
        """
        path = Path(path)
        data = read_toml(path, "scenario")
        data.setdefault("name", path.stem)
        if isinstance(data.get("initial_rows"), str):
            data["initial_rows"] = str((path.parent / data["initial_rows"]).resolve())
        return cls.from_dict(data, source=str(path))

    @classmethod
    def _with_preset(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        """``data`` on top of the preset it names with ``preset =`` (unchanged without one)."""
        data = dict(data)
        if "preset" not in data:
            return data
        base = cls._preset_data(data.pop("preset"))
        channels = {**table(base.get("channels") or {}, "channels"), **table(data.pop("channels", None) or {}, "channels")}
        merged = {**base, **data, "channels": channels}
        merged["name"] = data.get("name", base.get("name"))
        return merged

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "scenario") -> Scenario:
        """A scenario from plain values, as read from TOML."""
        allowed = ("preset", "name", "description", "start", "channels", "workload", "initial_rows", "operator", "database", "deployment")
        data = table(data, "scenario", "a table of scenario keys")
        for key in data:
            if key not in allowed:
                raise unknown_name("scenario key", key, allowed)
        data = cls._with_preset(data)
        for key in ("name", "description"):
            if key in data and not isinstance(data[key], str):
                raise ConfigError(key, f"must be a string; got {type_name(data[key])} {short(data[key])}")
        for key in ("workload", "operator", "database", "deployment"):
            if data.get(key) is not None:
                table(data[key], key, f"a table such as [{key}]")
        if isinstance(data.get("initial_rows"), Mapping):
            raise ConfigError("initial_rows", "must be a file name or [[initial_rows]] tables (a list of rows); got a single table")
        channels = {}
        for channel, spec in table(data.get("channels") or {}, "channels", "a table of channels such as [channels.Slack]").items():
            if channel not in CHANNELS:
                raise unknown_name("scenario.channels key", channel, CHANNELS)
            if isinstance(spec, list):  # [[channels.Slack]] tables: several models, composed in order
                channels[channel] = channels_mod.Compose([build_from_spec(s, channels_mod.MODELS, f"channels.{channel}[{i}]") for i, s in enumerate(spec)])
            else:
                channels[channel] = build_from_spec(spec, channels_mod.MODELS, f"channels.{channel}")
        workload = build_from_spec(data["workload"], workload_mod.WORKLOADS, "workload") if data.get("workload") else None
        operator = None
        if data.get("operator"):
            operator = build_from_spec(data["operator"], operator_mod.OPERATORS, "operator")
        return cls(
            name=data.get("name", "custom"),
            channels=channels,
            workload=workload,
            start=data.get("start"),
            initial_rows=data.get("initial_rows"),
            operator=operator,
            database=build_from_spec({"model": "Database", **data["database"]}, {"Database": Database}, "database") if data.get("database") else None,
            deployment=build_from_spec({"model": "Deployment", **data["deployment"]}, {"Deployment": Deployment}, "deployment")
            if data.get("deployment")
            else None,
            description=data.get("description", ""),
        )
