"""Sweeps: every configuration × every replication, run in parallel, written whole by one writer, resumable.

Each run is one :func:`notifsim.simulate` call on its replication's seed
(:mod:`.seeds`).  Workers return finished runs as Arrow tables; this
process alone writes them to the DuckDB file, several whole runs per
transaction, so parallel runs never contend for the file and a sweep killed
at any instant leaves only whole runs.  Run ids are derived from
(experiment, label, replication, seed), so the same sweep asked again skips
the runs already in the file and adds only what is missing.
"""

from __future__ import annotations

import json
import os
import pickle
import traceback
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from ..budget import check_horizon, check_memory
from ..dbfile import LOCK_TIMEOUT_S, interrupts_deferred
from ..engine import ENGINES
from ..errors import ConfigError, unknown_name
from ..policy import Policy
from ..run import plain_config, simulate
from ..scenario import Scenario
from ..store import RunTables, RunWriter, prepare_run
from ..timeutil import parse_duration
from ..unwritten import saved_instead
from .executors import Runner, check_executor, local_parallelism, main_is_importable, make_runner, starts_processes
from .grid import Config, check_labels
from .seeds import check_replications, check_seed, replication_seeds, run_id

#: The experiment name of a sweep that is not given one.
DEFAULT_EXPERIMENT = "sweep"


@dataclass(frozen=True)
class RunSpec:
    """Everything a worker needs to make one run (pickles; carries no open files)."""

    run_id: str
    experiment: str
    label: str
    replication: int
    seed: int
    scenario: Scenario
    policy: Policy
    horizon_s: float
    sample_interval_s: float
    engine: str


@dataclass(frozen=True)
class RunFailure:
    """A run that did not finish: its configuration and the error (``traceback`` holds the full one)."""

    label: str
    replication: int
    seed: int
    run_id: str
    error: str
    traceback: str = field(default="", repr=False)

    def __str__(self) -> str:
        return f"{self.label!r} replication {self.replication} (seed {self.seed}, run {self.run_id}): {self.error}"


@dataclass
class SweepOutcome:
    """What a sweep did: every run id of the sweep (configurations in order, then replications),
    how many runs it wrote now and how many were already in the file, and the runs that failed."""

    experiment: str
    run_ids: list[str]
    written: int
    skipped: int
    failures: list[RunFailure]


class SweepError(RuntimeError):
    """Some runs failed; every other run was written.  ``failures`` lists the failed runs with their
    configuration, ``run_ids`` the runs of the sweep that are in the file."""

    def __init__(self, outcome: SweepOutcome):
        self.outcome = outcome
        self.failures = outcome.failures
        failed = {f.run_id for f in outcome.failures}
        self.run_ids = [r for r in outcome.run_ids if r not in failed]
        lines = [f"{len(self.failures)} of {len(outcome.run_ids)} runs of experiment {outcome.experiment!r} failed (the others were written):"]
        lines += describe_failures(self.failures)
        super().__init__("\n".join(lines))


def describe_failures(failures: list[RunFailure], limit: int = 10) -> list[str]:
    """Failed runs grouped by their error: one line per error, then up to ``limit`` of its runs, indented."""
    groups: dict[str, list[RunFailure]] = {}
    for failure in failures:
        groups.setdefault(failure.error, []).append(failure)
    lines = []
    for error, runs in groups.items():
        lines.append(f"  {len(runs)} run{'s' if len(runs) > 1 else ''}: {error}")
        lines += [f"    {f.label!r} replication {f.replication} (seed {f.seed}, run {f.run_id})" for f in runs[:limit]]
        if len(runs) > limit:
            lines.append(f"    ... and {len(runs) - limit} more")
    return lines


def run_one(spec: RunSpec) -> RunTables | RunFailure:
    """Make one run and return its tables, ready to insert; a run that raises returns a :class:`RunFailure`."""
    try:
        result = simulate(
            spec.scenario,
            spec.policy,
            seed=spec.seed,
            horizon=spec.horizon_s,
            sample_interval=spec.sample_interval_s,
            run_name=spec.run_id,
            experiment=spec.experiment,
            label=spec.label,
            replication=spec.replication,
            engine=spec.engine,
        )
        return prepare_run(result)
    except Exception as exc:
        return RunFailure(spec.label, spec.replication, spec.seed, spec.run_id, f"{type(exc).__name__}: {exc}", traceback.format_exc())


def plan(configs: list[Config], *, replications: int, seed: int, experiment: str, horizon_s: float, sample_interval_s: float, engine: str) -> list[RunSpec]:
    """One :class:`RunSpec` per configuration and replication (configurations in order, then replications)."""
    seeds = replication_seeds(seed, replications)
    return [
        RunSpec(run_id(experiment, c.label, r, s), experiment, c.label, r, s, c.scenario, c.policy, horizon_s, sample_interval_s, engine)
        for c in configs
        for r, s in enumerate(seeds)
    ]


def _already_written(writer: RunWriter, specs: list[RunSpec]) -> set[str]:
    """The runs of ``specs`` already in the file; refuses a run id whose stored run is another configuration."""
    stored = writer.sql(
        "SELECT run_id, experiment, label, replication, seed, horizon_s, config FROM runs WHERE run_id IN (SELECT unnest(?))",
        [[s.run_id for s in specs]],
    )
    by_id = {s.run_id: s for s in specs}
    for row in stored.itertuples(index=False):
        spec = by_id[row.run_id]
        config = plain_config(spec.scenario, spec.policy, spec.sample_interval_s)
        differs = [
            name
            for name, mine, theirs in (
                ("experiment", spec.experiment, row.experiment),
                ("label", spec.label, row.label),
                ("replication", spec.replication, int(row.replication)),
                ("seed", spec.seed, int(row.seed)),
                ("horizon", spec.horizon_s, float(row.horizon_s)),
                ("scenario and policy", config, json.loads(row.config)),
            )
            if mine != theirs
        ]
        if differs:
            raise ConfigError(
                "experiment",
                f"{spec.experiment!r} already has run {spec.label!r} replication {spec.replication} in {str(writer.path)!r} "
                f"with another {' and '.join(differs)}; give this sweep another experiment name or another file",
            )
    return set(stored["run_id"])


def _check_importable(configs: list[Config]) -> None:
    """Refuse a configuration that uses a class defined in a notebook or an interactive session: worker
    processes could not import it."""
    for config in configs:
        if b"__main__" in pickle.dumps((config.scenario, config.policy)):
            raise ConfigError(
                "executor",
                f"configuration {config.label!r} uses a class defined in this notebook or session (__main__), which worker processes "
                "cannot import; move it to a module, or run in this process with executor=1 (a Dask client also works)",
            )


def progress_bar(enabled: bool, total: int, initial: int, experiment: str, unit: str = "run") -> Any:
    """A tqdm bar counting ``total`` of ``unit`` (shown only when ``enabled``)."""
    if enabled:  # the notebook flavour where it runs (tqdm.auto warns in Jupyter without ipywidgets, so only when shown)
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit=unit, desc=experiment, disable=not enabled, dynamic_ncols=True, smoothing=0.1)


def run_sweep(
    configs: Any,
    *,
    replications: int,
    seed: int,
    db: str | os.PathLike,
    horizon: float | str,
    executor: Any = None,
    progress: bool = True,
    experiment: str | None = None,
    sample_interval: float | str = "15m",
    engine: str = "batched",
    force: bool = False,
    lock_timeout: float | None = LOCK_TIMEOUT_S,
) -> SweepOutcome:
    """:func:`sweep`, returning a :class:`SweepOutcome` instead of raising for failed runs."""
    configs = list(configs) if not isinstance(configs, Config) else [configs]
    if not configs:
        raise ConfigError("configs", "must list at least one configuration (see notifsim.grid)")
    check_labels(configs)
    experiment = DEFAULT_EXPERIMENT if experiment is None else experiment
    if not isinstance(experiment, str) or not experiment:
        raise ConfigError("experiment", f"must be a non-empty string; got {experiment!r}")
    if engine not in ENGINES:
        raise unknown_name("engine", engine, ENGINES)
    check_executor(executor)
    if starts_processes(executor) and not main_is_importable():
        _check_importable(configs)
    specs = plan(
        configs,
        replications=check_replications(replications),
        seed=check_seed(seed),
        experiment=experiment,
        horizon_s=check_horizon(parse_duration(horizon, "horizon")),
        sample_interval_s=parse_duration(sample_interval, "sample_interval"),
        engine=engine,
    )
    at_once = local_parallelism(executor, len(specs))  # runs in memory on this machine at the same time
    for config in configs:  # every configuration must fit before the first run starts
        check_memory(config.scenario, config.policy, specs[0].horizon_s, sample_interval_s=specs[0].sample_interval_s, force=force, runs=at_once)
    failures: list[RunFailure] = []
    with RunWriter(db, lock_timeout=lock_timeout) as writer:
        done = _already_written(writer, specs)
        todo = sorted((s for s in specs if s.run_id not in done), key=lambda s: s.replication)  # replication by replication
        runner = make_runner(executor, len(todo))
        bar = progress_bar(progress, len(specs), len(done), experiment)
        interrupted = False
        try:
            for batch in runner.run(run_one, todo):
                failures += _write(writer, batch)
                bar.update(len(batch))
                if failures:
                    bar.set_postfix(failed=len(failures), refresh=False)
        except BaseException:
            interrupted = True
            _write(writer, runner.finished())  # what had finished is not lost on Ctrl-C
            raise
        finally:
            runner.close(wait=not interrupted)
            bar.close()
    order = {s.run_id: i for i, s in enumerate(specs)}
    failures.sort(key=lambda f: order[f.run_id])
    return SweepOutcome(experiment, [s.run_id for s in specs], len(todo) - len(failures), len(done), failures)


def _write(writer: RunWriter, batch: list[tuple[RunSpec, Any]]) -> list[RunFailure]:
    """Write the finished runs of a batch in one transaction; return the failures of the batch."""
    finished = [value for _, value in batch if isinstance(value, RunTables)]
    failures = [value for _, value in batch if isinstance(value, RunFailure)]
    for spec, value in batch:  # the executor itself failed (a worker died, the task was cancelled)
        if not isinstance(value, (RunTables, RunFailure)):
            failures.append(RunFailure(spec.label, spec.replication, spec.seed, spec.run_id, _executor_error(value)))
    try:
        with interrupts_deferred():
            writer.write(finished)
    except Exception as exc:  # the file failed under the writer: keep the finished runs as Parquet beside it
        if not finished:
            raise
        raise saved_instead(writer.path, finished, exc) from exc
    return failures


def _executor_error(error: BaseException) -> str:
    """An executor's error as one line, with what usually causes a broken local pool."""
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, BrokenProcessPool):
        text += " (a worker process died or could not start; a script that calls sweep() must call it under `if __name__ == '__main__':`)"
    return text


def sweep(
    configs: Any,
    *,
    replications: int,
    seed: int,
    db: str | os.PathLike,
    horizon: float | str,
    executor: Any = None,
    progress: bool = True,
    experiment: str | None = None,
    sample_interval: float | str = "15m",
    engine: str = "batched",
    force: bool = False,
    lock_timeout: float | None = LOCK_TIMEOUT_S,
) -> list[str]:
    """Run every configuration ``replications`` times into the DuckDB file ``db``; return the run ids.

    ``configs`` comes from :func:`notifsim.grid`.  Replication *r* of every
    configuration runs on the same seed, spawned from ``seed`` (common
    random numbers); ``runs`` records the experiment, the configuration's
    label, the replication and that seed, so ``simulate(config.scenario,
    config.policy, seed=..., horizon=horizon)`` re-creates any run alone.
    ``horizon`` and ``sample_interval`` are as in :func:`notifsim.simulate`.

    ``executor``: ``None`` runs a process per core; a number runs that many
    local processes (1: in this process); a ``concurrent.futures.Executor``
    or a ``dask.distributed.Client`` runs the runs there.  Only this process
    writes to ``db``, each batch of finished runs in one transaction.

    Re-running the same sweep (same ``experiment``, labels, seed) into the
    same file adds only the runs that are missing, so an interrupted sweep
    completes with every run once; more replications add only the new ones.
    A run id already stored with another configuration is refused.  A run
    that fails does not stop the others: they are written, then
    :class:`SweepError` lists each failure with its configuration.  The
    returned ids are ordered by configuration, then replication.
    ``experiment`` defaults to ``"sweep"``; ``progress`` shows a tqdm bar.
    A run estimated not to fit in memory is refused before anything runs
    unless ``force``; a file another process holds is waited for up to
    ``lock_timeout`` seconds (then :class:`~notifsim.dbfile.DatabaseBusy`,
    before any run starts: the writer holds the file for the whole sweep).
    """
    outcome = run_sweep(
        configs,
        replications=replications,
        seed=seed,
        db=db,
        horizon=horizon,
        executor=executor,
        progress=progress,
        experiment=experiment,
        sample_interval=sample_interval,
        engine=engine,
        force=force,
        lock_timeout=lock_timeout,
    )
    if outcome.failures:
        raise SweepError(outcome)
    return outcome.run_ids


__all__ = ["RunFailure", "RunSpec", "Runner", "SweepError", "SweepOutcome", "describe_failures", "plan", "run_one", "run_sweep", "sweep"]
