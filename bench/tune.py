"""Benchmark: how fast a policy search evaluates candidates, and how long the notebook's study takes.

    python -m bench.tune                  # both figures (about four minutes on two cores)
    python -m bench.tune --no-notebook    # only the evaluation rate (about a minute)

1. Evaluation rate: ``notifsim.tune`` on one one-day world (Slack down 4 h
   from 06:00, 60 alerts/h), ``--trials`` trials of ``--replications`` runs
   each, on the default executor (a process per core), into a fresh file;
   printed as evaluations per second and as a ratio against the same runs
   made by hand in this process (``simulate()`` of every trial's policy on
   every replication seed, one after the other, no database): by hand ÷
   tune, at most the number of cores; what it falls short of that is the
   cost of the database, the read-back of the metrics and Optuna.
2. The wall time of ``notebooks/04_policy_search.ipynb``'s study at its
   default sizes (3 worlds, 40 trials, 3 replications, the presets after).

Nothing here asserts on time.  ``--json`` prints the figures as one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from typing import Any

import notifsim
from notifsim.channels import Bernoulli, Outages
from notifsim.experiments import machine_workers, replication_seeds
from notifsim.tuning.space import candidate
from notifsim.workloads import Poisson

SPACE = {
    "max_attempts": {"low": 2, "high": 30},
    "backoff_base": {"low": "10s", "high": "10m", "log": True},
    "backoff_multiplier": {"low": 1, "high": 4},
    "backoff_cap": {"low": "1m", "high": "24h", "log": True},
    "jitter": {"choices": ["none", "full", "equal", "decorrelated"]},
}


def world(outage: str) -> notifsim.Scenario:
    """The notebook's world: Slack (0.5 % errors) down for ``outage`` from 06:00, Email 1 % errors, 60 alerts/h."""
    return notifsim.Scenario(
        f"slack-outage-{outage}",
        channels={"Slack": [Bernoulli(0.005, latency=0.3), Outages([("6h", outage)])], "Email": Bernoulli(0.01, latency=1.0)},
        workload=Poisson(60, channels={"Slack": 0.7, "Email": 0.3}),
        start="2026-01-05T00:00:00Z",
    )


def serial_s(result: Any, replications: int, seed: int) -> float:
    """Wall seconds of the search's runs made again by hand: ``simulate()`` of every trial's policy on every
    replication seed, one after the other in this process, no database."""
    seeds = replication_seeds(seed, replications)
    t0 = time.perf_counter()
    for _, row in result.trials.iterrows():
        policy = candidate(result.base, {d.name: row[d.name].item() if hasattr(row[d.name], "item") else row[d.name] for d in result.space})
        for s in seeds:
            notifsim.simulate(world("4h"), policy, seed=s, horizon="1d", sample_interval="1h")
    return time.perf_counter() - t0


def evaluation_rate(trials: int, replications: int) -> dict[str, float]:
    """Evaluations per second of a search on one one-day world, and the ratio against its runs made serially here."""
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        result = notifsim.tune(
            [world("4h")], space=SPACE, budget=trials, replications=replications, seed=1, db=os.path.join(folder, "rate.duckdb"), compare=False, progress=False
        )
        wall = time.perf_counter() - t0
    assert len(result.trials) == trials
    serial = serial_s(result, replications, 1)
    return {
        "trials": trials,
        "replications": replications,
        "tune_s": wall,
        "evaluations_per_s": trials / wall,
        "serial_s": serial,
        "serial_run_s": serial / (trials * replications),
        "rate_ratio": serial / wall,
    }


def notebook_study() -> dict[str, float]:
    """Wall seconds of the notebook's study at its default sizes (its search and the presets)."""
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        result = notifsim.tune(
            [world(o) for o in ("10m", "1h", "4h")],
            space=SPACE,
            objective="undelivered_rate",
            aggregate="worst",
            constraints={"attempts_per_notification": {"max": 3.0}},
            budget=40,
            replications=3,
            seed=2026,
            db=os.path.join(folder, "notebook.duckdb"),
            name="4h-outage",
            progress=False,
        )
        wall = time.perf_counter() - t0
    return {"notebook_trials": len(result.trials), "notebook_s": wall}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tune", description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16, help="trials of the evaluation-rate search")
    parser.add_argument("--replications", type=int, default=4, help="runs per trial")
    parser.add_argument("--no-notebook", action="store_true", help="skip the notebook's study")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON on the last line")
    args = parser.parse_args(argv)
    figures: dict[str, object] = {"cores": machine_workers(), "python": platform.python_version(), "notifsim": notifsim.__version__}
    figures["load_before"] = os.getloadavg()[0]
    figures.update(evaluation_rate(args.trials, args.replications))
    print(
        f"1. evaluations: {figures['trials']} trials x {figures['replications']} runs of a one-day world in {figures['tune_s']:.1f} s = "
        f"{figures['evaluations_per_s']:.2f} evaluations/s; the same runs by hand with simulate() in this process: {figures['serial_s']:.1f} s "
        f"({figures['serial_run_s']:.2f} s a run); ratio {figures['rate_ratio']:.2f} (by hand ÷ tune; at most the number of cores)"
    )
    if not args.no_notebook:
        figures.update(notebook_study())
        print(f"2. notebooks/04_policy_search.ipynb's study: {figures['notebook_trials']} trials and the presets in {figures['notebook_s']:.1f} s")
    figures["load_after"] = os.getloadavg()[0]
    print(f"load average (1 min) before {figures['load_before']:.2f}, after {figures['load_after']:.2f} on {figures['cores']} cores")
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
