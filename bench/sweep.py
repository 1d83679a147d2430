"""Benchmark: how a sweep scales from one worker to two, and how long the shipped experiment takes.

    python -m bench.sweep                 # both figures (about five minutes on two cores)
    python -m bench.sweep --no-outage     # only the scaling figure (about a minute)
    python -m bench.sweep --runs 32       # a bigger scaling sweep

1. Scaling: the same sweep (``--runs`` runs of the ``provider-outage``
   scenario, ``--horizon`` each, half under ``certctl-i005`` and half under
   ``sidekiq``) written to a fresh DuckDB file, once in this process
   (``executor=1``) and once on a local pool of two worker processes
   (``executor=2``, pool start-up included).  The figure is runs per second
   with two workers ÷ runs per second with one (target ≥ 1.7 on two cores).
2. The wall time of ``data/experiments/outage-tuning.toml`` with the
   default executor (a process per core), into a fresh file.

Both sweeps write the same rows whatever the executor; nothing here asserts
on time.  ``--json`` prints the figures as one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import notifsim
from notifsim.experiments import load_experiment, machine_workers

ROOT = Path(__file__).resolve().parents[1]
OUTAGE_TUNING = ROOT / "data" / "experiments" / "outage-tuning.toml"


def timed_sweep(configs: list, replications: int, executor: int, horizon: str, folder: str, name: str) -> float:
    """Wall seconds of one sweep into a fresh file."""
    db = os.path.join(folder, f"{name}.duckdb")
    t0 = time.perf_counter()
    ids = notifsim.sweep(configs, replications=replications, seed=11, db=db, horizon=horizon, executor=executor, progress=False, experiment=name)
    wall = time.perf_counter() - t0
    assert len(ids) == len(configs) * replications
    return wall


def scaling(runs: int, horizon: str, repeat: int) -> dict[str, float]:
    """Runs per second on one worker and on two, for the same sweep (best of ``repeat``, alternating)."""
    configs = notifsim.grid(scenarios="provider-outage", policies=["certctl-i005", "sidekiq"])
    replications = max(1, -(-runs // len(configs)))
    one = two = float("inf")
    with tempfile.TemporaryDirectory() as folder:
        for i in range(repeat):
            one = min(one, timed_sweep(configs, replications, 1, horizon, folder, f"one-worker-{i}"))
            two = min(two, timed_sweep(configs, replications, 2, horizon, folder, f"two-workers-{i}"))
    n = len(configs) * replications
    return {"runs": n, "horizon": horizon, "one_worker_s": one, "two_workers_s": two, "scaling": one / two}


def outage_tuning() -> dict[str, float]:
    """Wall seconds of the shipped experiment with the default executor."""
    experiment = load_experiment(OUTAGE_TUNING)
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        outcome = experiment.run(os.path.join(folder, "outage-tuning.duckdb"), progress=False)
        wall = time.perf_counter() - t0
    assert not outcome.failures and outcome.written == experiment.runs
    return {"outage_runs": experiment.runs, "outage_s": wall, "outage_runs_per_s": experiment.runs / wall}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=24, help="runs of the scaling sweep (at least 16)")
    parser.add_argument("--horizon", default="7d", help="simulated time of each run of the scaling sweep")
    parser.add_argument("--repeat", type=int, default=1, help="best of this many scaling measurements")
    parser.add_argument("--no-outage", action="store_true", help="skip the outage-tuning experiment")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON on the last line")
    args = parser.parse_args(argv)
    if args.runs < 16:
        parser.error("--runs must be at least 16")
    figures: dict[str, object] = {"cores": machine_workers(), "python": platform.python_version(), "notifsim": notifsim.__version__}
    figures["load_before"] = os.getloadavg()[0]
    figures.update(scaling(args.runs, args.horizon, args.repeat))
    print(
        f"1. scaling: {figures['runs']} runs of provider-outage ({args.horizon} each): one worker {figures['one_worker_s']:.1f} s, "
        f"two workers {figures['two_workers_s']:.1f} s, throughput ratio {figures['scaling']:.2f} (target >= 1.7)"
    )
    if not args.no_outage:
        figures.update(outage_tuning())
        print(
            f"2. {OUTAGE_TUNING.relative_to(ROOT)}: {figures['outage_runs']} runs in {figures['outage_s']:.1f} s "
            f"({figures['outage_runs_per_s']:.2f} runs/s on {figures['cores']} cores)"
        )
    figures["load_after"] = os.getloadavg()[0]
    print(f"load average (1 min) before {figures['load_before']:.2f}, after {figures['load_after']:.2f} on {figures['cores']} cores")
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
