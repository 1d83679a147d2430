"""Experiment files: a sweep written down in TOML, run by ``notifsim sweep FILE`` or :func:`load_experiment`.

::

    name = "outage-tuning"        # stored in runs.experiment (default: the file's name without .toml)
    description = "..."
    replications = 10
    seed = 2026
    horizon = "1d"
    sample_interval = "15m"       # optional
    scenarios = ["default"]       # preset names, TOML files (relative to this file), or [[scenarios]] tables
    policies = ["certctl-i005", "sidekiq", { preset = "svix", max_attempts = 10, name = "svix-10" }]

    [vary]                        # the knobs of notifsim.grid
    max_attempts = [3, 5, 8]

    [vary.channels__Slack__windows]
    "outage 2h" = [["6h", "2h"]]

docs/experiments.md describes every key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..dbfile import LOCK_TIMEOUT_S
from ..errors import ConfigError, unknown_name
from ..timeutil import parse_duration
from ..tomlfile import name_and_description, read_toml, table
from .grid import Config, expand
from .seeds import check_replications, check_seed
from .sweep import SweepOutcome, run_sweep

#: The keys of an experiment file, and which of them are required.
KEYS = ("name", "description", "replications", "seed", "horizon", "sample_interval", "scenarios", "policies", "vary")
REQUIRED = ("replications", "seed", "horizon", "scenarios", "policies")


@dataclass(frozen=True)
class Experiment:
    """A sweep as read from a file: its configurations, replications, root seed and horizon (seconds)."""

    name: str
    description: str
    configs: list[Config]
    replications: int
    seed: int
    horizon_s: float
    sample_interval_s: float

    def run(
        self, db: str | os.PathLike, *, executor: Any = None, progress: bool = True, force: bool = False, lock_timeout: float | None = LOCK_TIMEOUT_S
    ) -> SweepOutcome:
        """Run (or complete) the sweep into ``db``; failed runs are listed in the outcome, not raised."""
        return run_sweep(
            self.configs,
            replications=self.replications,
            seed=self.seed,
            db=db,
            horizon=self.horizon_s,
            sample_interval=self.sample_interval_s,
            executor=executor,
            progress=progress,
            experiment=self.name,
            force=force,
            lock_timeout=lock_timeout,
        )

    @property
    def runs(self) -> int:
        """How many runs the sweep makes."""
        return len(self.configs) * self.replications


def load_experiment(path: str | os.PathLike) -> Experiment:
    """Read an experiment file; any mistake raises :class:`ConfigError` naming the key."""
    path = Path(path)
    data = read_toml(path, "experiment")
    return experiment_from_dict(data, base=path.parent, default_name=path.stem)


def experiment_from_dict(data: dict[str, Any], base: Path | None = None, default_name: str = "experiment") -> Experiment:
    """An experiment from plain values, as read from TOML (files named in it are relative to ``base``)."""
    data = table(data, "experiment", "a table of experiment keys")
    for key in data:
        if key not in KEYS:
            raise unknown_name("experiment key", key, KEYS)
    for key in REQUIRED:
        if key not in data:
            raise ConfigError(key, f"is required in an experiment file (keys: {', '.join(KEYS)})")
    name, description = name_and_description(data, default_name)
    vary = data.get("vary", {})
    if not isinstance(vary, dict):
        raise ConfigError("vary", f"must be a table of knobs (see notifsim.grid); got {vary!r}")
    return Experiment(
        name=name,
        description=description,
        configs=expand(data["scenarios"], data["policies"], vary, base),
        replications=check_replications(data["replications"]),
        seed=check_seed(data["seed"]),
        horizon_s=parse_duration(data["horizon"], "horizon"),
        sample_interval_s=parse_duration(data.get("sample_interval", "15m"), "sample_interval"),
    )
