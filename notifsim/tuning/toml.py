"""Tune files: a policy search written down in TOML, run by ``notifsim tune FILE`` or :func:`load_tune_file`.

::

    name = "4h-outage"              # the study and the experiment tune:<name> (default: the file's name)
    description = "..."
    base = "certctl-i005"           # a preset, or a table: { preset = "certctl-i005", backoff_cap = "24h" }
    worlds = ["provider-outage"]    # preset names, TOML files (relative to this file), or [[worlds]] tables
    horizon = "1d"
    replications = 5
    seed = 2026
    budget = 40                     # trials in all; a re-run continues
    batch = 4                       # trials asked at once (part of the study: changing it changes the trials)
    sampler = "auto"                # auto, tpe, nsga2, random, grid
    objective = "undelivered_rate"  # or a list, for a Pareto front
    aggregate = "worst"             # mean or worst over the worlds

    [space]
    max_attempts = { low = 2, high = 30 }
    backoff_base = { low = "10s", high = "10m", log = true }

    [constraints]
    attempts_per_notification = { max = 3 }

    [vary.channels__Slack__windows]  # world knobs (as in notifsim.grid), each value one more world
    "outage 10m" = [["6h", "10m"]]
    "outage 4h" = [["6h", "4h"]]

docs/tuning.md describes every key.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..dbfile import LOCK_TIMEOUT_S
from ..errors import ConfigError, unknown_name
from ..experiments.grid import SEPARATOR, WORLD_PARTS, expand, resolve_policy
from ..policy import Policy
from ..scenario import Scenario
from ..tomlfile import name_and_description, read_toml
from .evaluate import resolve_worlds
from .result import TuneResult
from .study import SAMPLERS, tune

#: The keys of a tune file.
KEYS = (
    "name",
    "description",
    "base",
    "worlds",
    "horizon",
    "replications",
    "seed",
    "budget",
    "batch",
    "sampler",
    "objective",
    "aggregate",
    "space",
    "constraints",
    "vary",
    "sample_interval",
)
REQUIRED = ("worlds", "space")


@dataclass
class TuneFile:
    """A search as read from a file: the keyword arguments of :func:`notifsim.tune` (without ``db``)."""

    name: str
    description: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def run(
        self,
        db: str | os.PathLike,
        *,
        executor: Any = None,
        budget: int | None = None,
        progress: bool = True,
        force: bool = False,
        lock_timeout: float | None = LOCK_TIMEOUT_S,
    ) -> TuneResult:
        """Run (or continue) the search into ``db``; ``budget`` overrides the file's; ``force`` and
        ``lock_timeout`` as for :func:`notifsim.sweep`."""
        arguments = dict(self.arguments)
        if budget is not None:
            arguments["budget"] = budget
        return tune(db=db, executor=executor, progress=progress, name=self.name, force=force, lock_timeout=lock_timeout, **arguments)


def load_tune_file(path: str | os.PathLike) -> TuneFile:
    """Read and check a tune file; :class:`ConfigError` names the key and the allowed values."""
    where = Path(path)
    data = read_toml(where, "tune file")
    return tune_from_dict(data, base=where.parent, default_name=where.stem)


def tune_from_dict(data: Mapping[str, Any], base: Path | None = None, default_name: str = "tune") -> TuneFile:
    """A :class:`TuneFile` from the tables of a tune file (paths relative to ``base``)."""
    for key in data:
        if key not in KEYS:
            raise unknown_name("tune file key", key, KEYS)
    for key in REQUIRED:
        if key not in data:
            raise ConfigError(key, "is required in a tune file (see docs/tuning.md)")
    base_policy = _base_policy(data.get("base", "certctl-i005"), base)
    worlds: list[Scenario] = resolve_worlds(data["worlds"], base)
    vary = data.get("vary", {})
    if not isinstance(vary, Mapping):
        raise ConfigError("vary", f"must be a table of world knobs, e.g. [vary.channels__Slack__windows]; got {vary!r}")
    if vary:
        for key in vary:
            if "__" not in key and key not in WORLD_PARTS[1:]:
                raise ConfigError("vary", f"varies worlds only (keys such as channels__Slack__windows); {key!r} is a policy knob: put it in [space]")
        worlds = _varied(worlds, base_policy, vary, base)
    sampler = data.get("sampler", "auto")
    if sampler not in SAMPLERS:
        raise unknown_name("sampler", sampler, SAMPLERS)
    arguments: dict[str, Any] = {"worlds": worlds, "space": data["space"], "base": base_policy}
    for key in ("objective", "constraints", "aggregate", "budget", "replications", "seed", "horizon", "batch", "sample_interval"):
        if key in data:
            arguments[key] = data[key]
    arguments["sampler"] = sampler
    name, description = name_and_description(data, default_name)
    return TuneFile(name, description, arguments)


def _varied(worlds: list[Scenario], policy: Policy, vary: Mapping[str, Any], base: Path | None) -> list[Scenario]:
    """Every world with every combination of the varied knobs, each named ``<world>+<knob values>``."""
    out = []
    names = {w.name for w in worlds}
    for config in expand(worlds, [policy], vary, base):
        texts = [part for part in config.label.split(SEPARATOR) if part != policy.name and part not in names]
        world = copy.copy(config.scenario)
        root = world.name.split("+")[0]
        world.name = root + ("+" + ",".join(texts) if texts else "")
        out.append(world)
    return out


def _base_policy(value: object, base: Path | None) -> Policy:
    if isinstance(value, (str, Mapping, Policy)):
        return resolve_policy(value, base, "base")
    raise ConfigError("base", f"must be a preset name or a table such as {{ preset = 'certctl-i005', backoff_cap = '24h' }}; got {value!r}")
