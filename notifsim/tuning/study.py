"""The search loop: Optuna proposes candidate policies, notifsim evaluates them, Optuna learns; resumable.

Each round asks Optuna for ``batch`` trials at once (so every core has
runs to do), evaluates all of them as one sweep (:mod:`.evaluate`) and
tells Optuna each trial's aggregated objective(s) and constraint values.
The sampler is seeded from ``seed`` and the batch size is fixed, so the
same call gives the same trials, whatever the executor.

The Optuna study lives in a journal file beside the results file
(``<db>.optuna.journal``), named after the tune: calling :func:`tune` again
with the same name and settings continues up to ``budget`` trials in all,
re-evaluating first any trial an interruption left unfinished (its runs
already in the file are not run again).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..dbfile import LOCK_TIMEOUT_S
from ..engine import ENGINES
from ..errors import ConfigError, unknown_name
from ..experiments.executors import local_parallelism, local_pool
from ..experiments.seeds import check_replications, check_seed
from ..experiments.sweep import progress_bar
from ..policy import PRESETS, Policy
from ..timeutil import parse_duration
from .evaluate import Evaluator, experiment_name, resolve_worlds
from .objective import Objective, parse_objective
from .result import TuneResult, build_result
from .space import Dimension, candidate, parse_space, settle, suggest

#: Samplers by name; ``"auto"`` is TPE for one objective and NSGA-II for several.
SAMPLERS = ("auto", "tpe", "nsga2", "random", "grid")

#: The metadata key of a study (its settings, checked on resume).
SETTINGS_KEY = "notifsim"


def journal_path(db: str | os.PathLike) -> Path:
    """The Optuna journal beside the results file ``db``."""
    return Path(str(db) + ".optuna.journal")


def _quiet_optuna() -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def open_storage(db: str | os.PathLike) -> Any:
    """The Optuna journal storage of the tunes of ``db``."""
    optuna = _quiet_optuna()
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(str(journal_path(db))))


def _grid_space(dims: list[Dimension]) -> dict[str, list[Any]]:
    space: dict[str, list[Any]] = {}
    for d in dims:
        if d.choices:
            space[d.name] = list(d.choices)
        elif d.kind == "int":
            assert d.low is not None and d.high is not None
            space[d.name] = list(range(int(d.low), int(d.high) + 1, d.step or 1))
        else:
            raise ConfigError("sampler", f"'grid' needs a finite space: give {d.name} as choices or an integer range")
    return space


def make_sampler(name: str, objective: Objective, dims: list[Dimension], seed: int, budget: int, batch: int) -> Any:
    """The Optuna sampler ``name`` (:data:`SAMPLERS`), seeded, with the constraints when there are limits."""
    optuna = _quiet_optuna()
    constraints = _constraints if objective.limits and not _trial_constraints() else None
    if name == "auto":
        name = "nsga2" if objective.multi else "tpe"
    if name == "tpe":
        startup = max(4, min(10, budget // 3))
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, constraints_func=constraints, constant_liar=batch > 1)
    if name == "nsga2":
        population = max(4, min(50, budget // 4))
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=population, constraints_func=constraints)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.GridSampler(_grid_space(dims), seed=seed)


def _trial_constraints() -> bool:
    """Whether this Optuna takes constraints on the trial (``Trial.set_constraint``, Optuna 5) rather than
    through the sampler's ``constraints_func``."""
    import optuna

    return hasattr(optuna.trial.Trial, "set_constraint")


def _constraints(trial: Any) -> list[float]:
    return list(trial.user_attrs.get("constraints", [1.0]))


def _check_budget(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(field, f"must be an integer >= 1; got {value!r}")
    return value


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or any(c in name for c in "\n\r\t"):
        raise ConfigError("name", f"must be a non-empty one-line string; got {name!r}")
    return name


def tune(
    worlds: Any,
    *,
    space: Any,
    objective: Any = "undelivered_rate",
    constraints: Any = None,
    aggregate: str = "mean",
    budget: int = 30,
    replications: int = 5,
    seed: int = 0,
    db: str | os.PathLike,
    executor: Any = None,
    base: Policy | str = "certctl-i005",
    horizon: float | str = "1d",
    name: str = "tune",
    batch: int = 4,
    sampler: str = "auto",
    compare: bool = True,
    progress: bool = True,
    sample_interval: float | str = "1h",
    engine: str = "batched",
    force: bool = False,
    lock_timeout: float | None = LOCK_TIMEOUT_S,
) -> TuneResult:
    """Search the retry-policy space for the policy that does best on ``worlds``; return a :class:`TuneResult`.

    ``worlds``: scenarios (preset names, TOML files, tables or objects; see
    :func:`.evaluate.resolve_worlds`), each simulated for ``horizon``.
    ``space``: the knobs to search (:mod:`.space`), starting from the preset
    ``base``.  ``objective``: a metric, or a list for a Pareto front;
    ``aggregate``: ``"mean"`` or ``"worst"`` over the worlds; ``constraints``:
    ``{metric: {"max": x}}`` that must hold in every world (:mod:`.objective`).

    Each trial is ``replications`` runs per world on the replication seeds
    spawned from ``seed`` — the same for every candidate (common random
    numbers) — stored in ``db`` under the experiment ``tune:<name>``.
    ``budget`` is the number of trials in all (a re-run continues a stopped
    study); ``batch`` trials are asked at once.  ``executor`` is as in
    :func:`notifsim.sweep` (``None``: a process per core).  ``sampler``:
    ``"auto"`` (TPE, or NSGA-II for several objectives), ``"tpe"``,
    ``"nsga2"``, ``"random"`` or ``"grid"``.  With ``compare``, every preset
    runs on the same worlds and seeds for the comparison table.
    """
    name = _check_name(name)
    dims = parse_space(space)
    goal = parse_objective(objective, aggregate, constraints)
    budget = _check_budget(budget, "budget")
    batch = _check_budget(batch, "batch")
    if sampler not in SAMPLERS:
        raise unknown_name("sampler", sampler, SAMPLERS)
    base_policy = Policy.preset(base) if isinstance(base, str) else base
    if not isinstance(base_policy, Policy):
        raise ConfigError("base", f"must be a preset name ({', '.join(PRESETS)}) or a Policy; got {base!r}")
    scenarios = resolve_worlds(worlds)
    seed = check_seed(seed)
    replications = check_replications(replications)
    horizon_s = parse_duration(horizon, "horizon")
    interval_s = parse_duration(sample_interval, "sample_interval")
    if sampler == "grid":
        grid_size = 1
        for values in _grid_space(dims).values():
            grid_size *= len(values)
        budget = min(budget, grid_size)
    settings = {
        "space": [d.to_dict() for d in dims],
        "objective": goal.to_dict(),
        "base": base_policy.to_dict(),
        "worlds": [s.name for s in scenarios],
        "world_configs": [json.loads(json.dumps(s.describe(), sort_keys=True, default=str)) for s in scenarios],
        "replications": replications,
        "seed": seed,
        "horizon_s": horizon_s,
        "sample_interval_s": interval_s,
        "batch": batch,
        "sampler": sampler,
        "engine": engine,
        "experiment": experiment_name(name),
    }
    if engine not in ENGINES:
        raise unknown_name("engine", engine, ENGINES)
    Path(db).parent.mkdir(parents=True, exist_ok=True)
    optuna = _quiet_optuna()
    study = optuna.create_study(
        study_name=name,
        storage=open_storage(db),
        directions=goal.directions,
        sampler=make_sampler(sampler, goal, dims, seed, budget, batch),
        load_if_exists=True,
    )
    stored = study.user_attrs.get(SETTINGS_KEY)
    if stored is None:
        study.set_user_attr(SETTINGS_KEY, settings)
    elif stored != json.loads(json.dumps(settings)):
        differs = sorted(k for k in settings if json.loads(json.dumps(settings[k])) != stored.get(k))
        raise ConfigError(
            "name",
            f"the tune {name!r} in {str(journal_path(db))!r} was started with other settings ({', '.join(differs)}); "
            "give this search another name, or delete that study to start again",
        )
    pool = None
    run_on = executor
    if executor is None or (isinstance(executor, int) and not isinstance(executor, bool) and executor > 1):
        workers = local_parallelism(executor, budget * len(scenarios) * replications)
        if workers > 1:
            pool = local_pool(workers)
            run_on = pool
        else:
            run_on = 1
    evaluator = Evaluator(scenarios, replications, seed, db, horizon_s, experiment_name(name), run_on, interval_s, engine, force, lock_timeout)
    try:
        _search(study, evaluator, goal, dims, base_policy, budget, batch, progress, name)
        if compare:
            evaluator.run([base_policy, *(Policy.preset(p) for p in PRESETS)])
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return build_result(study, db)


def _finished(study: Any) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL)))


def _search(study: Any, evaluator: Evaluator, goal: Objective, dims: list[Dimension], base: Policy, budget: int, batch: int, progress: bool, name: str) -> None:
    """Ask, evaluate and tell until the study has ``budget`` finished trials."""
    import optuna
    from optuna.trial import TrialState

    bar = progress_bar(progress, budget, min(_finished(study), budget), f"tune {name}", unit="trial")
    try:
        _show_best(bar, study, goal)
        while _finished(study) < budget:
            stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if stale:  # left unfinished by an interruption: evaluate them first, with their own values
                trials = [(optuna.trial.Trial(study, t._trial_id), settle(t.params, dims)) for t in stale[:batch]]
            else:
                asked = [study.ask() for _ in range(min(batch, budget - _finished(study)))]
                trials = [(t, suggest(t, dims)) for t in asked]
            policies = [candidate(base, values) for _, values in trials]
            measured = evaluator.world_means(policies, goal.needed())
            for (trial, values), policy, per_world in zip(trials, policies, measured):
                trial.set_user_attr("values", values)
                trial.set_user_attr("policy", policy.name)
                trial.set_user_attr("metrics", per_world)
                violations = goal.violations(per_world)
                trial.set_user_attr("constraints", violations)
                if _trial_constraints():
                    for (metric, side, _), value in zip(goal.limits, violations):
                        trial.set_constraint(f"{metric}.{side}", value)
                study.tell(trial, [goal.combine(m, per_world[m]) for m in goal.metrics])
            bar.update(len(trials))
            _show_best(bar, study, goal)
    finally:
        bar.close()


def _show_best(bar: Any, study: Any, goal: Objective) -> None:
    """The best feasible value so far (one objective) or the size of the front, on the progress bar."""
    from .result import best_row, trial_table

    table = trial_table(study)
    if table.empty:
        return
    if goal.multi:
        bar.set_postfix(feasible=int(table["feasible"].sum()), refresh=False)
        return
    best = best_row(table, goal)
    if best is None:
        bar.set_postfix(feasible=0, refresh=False)
    else:
        bar.set_postfix({f"best {goal.metrics[0]}": f"{best[goal.metrics[0]]:.4g}"}, refresh=False)
