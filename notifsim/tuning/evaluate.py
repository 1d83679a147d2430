"""Evaluating candidate policies: every candidate on every world, each replication on its common random
numbers, as one sweep into the results file, then the mean of each metric per candidate and world.

A candidate's runs are labelled ``"<world> · <policy name>"`` within the
tune's experiment (``tune:<name>``); the policy's name is derived from the
knobs that differ from the base preset, so a candidate asked twice has the
same run ids and is not run again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..dbfile import LOCK_TIMEOUT_S
from ..errors import ConfigError
from ..experiments.grid import SEPARATOR, Config, resolve_scenario
from ..experiments.sweep import SweepError, run_sweep
from ..policy import Policy
from ..scenario import Scenario
from ..store import open_results

#: The experiment name of a tune called ``name`` in the results file.
EXPERIMENT_PREFIX = "tune:"


def experiment_name(name: str) -> str:
    """``tune:<name>``: the experiment the tune's runs are stored under."""
    return EXPERIMENT_PREFIX + name


def resolve_worlds(worlds: Any, base: Path | None = None) -> list[Scenario]:
    """Scenarios from one or a list of: :class:`Scenario` objects, preset names, TOML files, tables, or
    :class:`~notifsim.experiments.Config` s (from :func:`notifsim.grid`, for varied worlds).  Names must differ."""
    if isinstance(worlds, (str, Path, Scenario, Mapping, Config)):
        worlds = [worlds]
    if not isinstance(worlds, (list, tuple)) or not worlds:
        raise ConfigError("worlds", f"must list at least one scenario (preset names: {', '.join(Scenario.presets())}); got {worlds!r}")
    out = [w.scenario if isinstance(w, Config) else resolve_scenario(w, base, "worlds") for w in worlds]
    names = [s.name for s in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError("worlds", f"two worlds are named {twice[0]!r}; give each scenario its own name")
    return out


def label(world: str, policy: Policy) -> str:
    """The label of ``policy``'s runs in ``world``."""
    return f"{world}{SEPARATOR}{policy.name}"


@dataclass(frozen=True)
class Evaluator:
    """Runs candidates on the worlds into ``db`` and reads back their per-world means."""

    worlds: list[Scenario]
    replications: int
    seed: int
    db: str | os.PathLike
    horizon_s: float
    experiment: str
    executor: Any = None
    sample_interval_s: float = 3600.0
    engine: str = "batched"
    force: bool = False
    lock_timeout: float | None = LOCK_TIMEOUT_S

    def run(self, policies: Sequence[Policy]) -> pd.DataFrame:
        """Run every policy on every world (runs already in the file are skipped); return the per-run metrics."""
        configs: dict[str, Config] = {}
        for policy in policies:
            for world in self.worlds:
                config = Config(label(world.name, policy), world, policy)
                configs.setdefault(config.label, config)
        outcome = run_sweep(
            list(configs.values()),
            replications=self.replications,
            seed=self.seed,
            db=self.db,
            horizon=self.horizon_s,
            executor=self.executor,
            progress=False,
            experiment=self.experiment,
            sample_interval=self.sample_interval_s,
            engine=self.engine,
            force=self.force,
            lock_timeout=self.lock_timeout,
        )
        if outcome.failures:
            raise SweepError(outcome)
        with open_results(self.db) as stored:
            return stored.metrics(run_ids=outcome.run_ids)

    def world_means(self, policies: Sequence[Policy], metrics: Sequence[str]) -> list[dict[str, list[float]]]:
        """For each policy: each metric's mean over the replications, one value per world (in world order)."""
        per_run = self.run(policies)
        means = per_run.groupby("label", sort=False)[list(metrics)].mean()
        out = []
        for policy in policies:
            rows = means.loc[[label(w.name, policy) for w in self.worlds]]
            out.append({m: [float(v) for v in rows[m]] for m in metrics})
        return out
