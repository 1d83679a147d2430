"""``simulate``: one scenario under one policy on one seed, optionally stored in DuckDB."""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

from .budget import check_horizon, check_memory, check_seed
from .dbfile import LOCK_TIMEOUT_S, check_lock_timeout
from .engine import ENGINES
from .errors import ConfigError, check_text, unknown_name
from .paths import check_file_name
from .policy import Policy
from .result import Result
from .scenario import Scenario
from .store import check_writable
from .timeutil import parse_duration
from .unwritten import store_runs
from .workloads import load_initial_rows


def plain_config(scenario: Scenario, policy: Policy, sample_interval_s: float) -> dict[str, Any]:
    """The run's configuration as JSON values (what the ``runs`` table stores, and reads back identically)."""
    config = {"scenario": scenario.describe(), "policy": policy.to_dict(), "sample_interval_s": sample_interval_s}
    return json.loads(json.dumps(config, sort_keys=True, default=str))


def check_run_name(value: object) -> str:
    """A run name: printable text of at most 200 bytes in UTF-8 that can name a folder (a run that cannot be written
    to its file is saved in a folder named after it): no ``/`` or ``\\``, not beginning with a dot."""
    text = check_text(value, "run_name")
    if not text or len(text.encode()) > 200:
        raise ConfigError("run_name", f"must be 1 to 200 bytes of text; got {value!r}")
    return check_file_name(text, "run_name", "the folder a run that cannot be written is saved in")


def simulate(
    scenario: Scenario | str,
    policy: Policy | str,
    *,
    seed: int = 0,
    horizon: float | str,
    initial_rows: Any = None,
    db: str | os.PathLike | None = None,
    run_name: str | None = None,
    sample_interval: float | str = "15m",
    experiment: str = "",
    label: str = "",
    replication: int = 0,
    engine: str = "batched",
    force: bool = False,
    lock_timeout: float | None = LOCK_TIMEOUT_S,
) -> Result:
    """Run ``scenario`` under ``policy`` over ``[start, start + horizon)`` and return a :class:`Result`.

    ``horizon`` is seconds or a string such as ``"90s"``, ``"15m"``, ``"2h"``,
    ``"7d"``.  ``initial_rows`` (rows, a DataFrame, or a path to certctl's
    list-API JSON) is added after the scenario's own initial rows.  With
    ``db`` the run is appended to that DuckDB file in one transaction.
    ``run_name`` becomes the ``run_id`` (default: a fresh unique id).
    ``experiment``, ``label`` (the configuration's label) and
    ``replication`` are stored with the run for sweeps to find it again.
    ``engine`` is ``"batched"`` (the default) or ``"events"`` (the
    reference, one SimPy event per happening); both give the same tables.
    Everything is validated before the run starts; bad input raises
    :class:`~notifsim.errors.ConfigError` and nothing is written.  A run
    estimated to need more memory than this machine can spare is refused
    unless ``force`` (:mod:`notifsim.budget`).  While another process holds
    ``db`` the write waits up to ``lock_timeout`` seconds; if it cannot
    write, the run is saved as Parquet beside ``db`` and
    :class:`~notifsim.unwritten.RunNotWrittenError` says how to load it.
    """
    scenario = Scenario.preset(scenario) if isinstance(scenario, str) else scenario
    policy = Policy.preset(policy) if isinstance(policy, str) else policy
    if not isinstance(scenario, Scenario):
        raise ConfigError("scenario", f"must be a Scenario or a preset name ({', '.join(Scenario.presets())})")
    if not isinstance(policy, Policy):
        raise ConfigError("policy", f"must be a Policy or a preset name ({', '.join(Policy.presets())})")
    if engine not in ENGINES:
        raise unknown_name("engine", engine, ENGINES)
    horizon_s = check_horizon(parse_duration(horizon, "horizon"))
    sample_s = parse_duration(sample_interval, "sample_interval")
    seed = check_seed(seed)
    check_lock_timeout(lock_timeout)
    if run_name is not None:
        check_run_name(run_name)
    check_text(experiment, "experiment")
    check_text(label, "label")
    replication = check_seed(replication, "replication", bits=31)
    if db is not None:
        check_writable(db, [run_name] if run_name else [])
    rows = load_initial_rows(scenario.initial_rows, scenario.start) + load_initial_rows(initial_rows, scenario.start)
    ids = [r["id"] for r in rows]
    if len(set(ids)) != len(ids):
        raise ConfigError("initial_rows", "ids must be unique across the scenario's rows and the extra rows")
    check_memory(scenario, policy, horizon_s, len(rows), sample_interval_s=sample_s, force=force)

    wall = time.perf_counter()
    sim = ENGINES[engine](scenario, policy, seed=seed, horizon_s=horizon_s, initial_rows=rows, sample_interval=sample_s)
    sim.run()
    lost_creations = sim.recorder.lost_creations
    counters = sim.counters()
    sim.release()
    tables = sim.recorder.tables(sim.table, scenario.start)
    result = Result(
        run_id=run_name or uuid.uuid4().hex[:16],
        scenario=scenario.name,
        policy=policy.name,
        seed=seed,
        horizon_s=horizon_s,
        start=scenario.start,
        config=plain_config(scenario, policy, sample_s),
        lost_creations=lost_creations,
        counters=counters,
        attempt_rows=sim.recorder.attempt_rows,
        id_parts=sim.recorder.id_parts,
        experiment=experiment,
        label=label,
        replication=replication,
        wall_s=time.perf_counter() - wall,
        **tables,
    )
    if db is not None:
        store_runs(db, [result], lock_timeout=lock_timeout)
    return result
