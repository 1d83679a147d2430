"""Experiments: many runs of many configurations, with common random numbers, in parallel, resumable.

* :func:`grid` (:mod:`.grid`) — scenarios × policies × varied knobs, each configuration labelled;
* :func:`sweep` (:mod:`.sweep`) — every configuration × replication into one DuckDB file, on local
  processes, any ``concurrent.futures`` executor or a Dask cluster (:mod:`.executors`); resumable;
* :func:`replication_seeds` (:mod:`.seeds`) — the seed of each replication, shared by every configuration;
* :func:`load_experiment` (:mod:`.toml`) — a sweep written down in a TOML file;
* :func:`run_metrics`, :func:`configuration_means` (:mod:`.report`) — what an experiment measured.

docs/experiments.md walks through all of it.
"""

from .executors import machine_workers
from .grid import Config, expand, grid
from .report import MEAN_METRICS, configuration_means, run_metrics
from .seeds import replication_seeds, run_id
from .sweep import RunFailure, SweepError, SweepOutcome, describe_failures, run_sweep, sweep
from .toml import Experiment, experiment_from_dict, load_experiment

__all__ = [
    "MEAN_METRICS",
    "Config",
    "Experiment",
    "RunFailure",
    "SweepError",
    "SweepOutcome",
    "configuration_means",
    "describe_failures",
    "expand",
    "experiment_from_dict",
    "grid",
    "load_experiment",
    "machine_workers",
    "replication_seeds",
    "run_id",
    "run_metrics",
    "run_sweep",
    "sweep",
]
