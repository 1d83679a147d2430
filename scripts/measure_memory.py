"""Measure the peak memory of runs and fit bytes per notification, per Send call and per tick.

Prints, for each run, its rows and the peak bytes tracemalloc traced during
``simulate`` (plus building its DuckDB tables), then a least-squares fit of
peak = fixed + a·notifications + b·attempts + c·ticks.  The constants in
notifsim/budget.py come from this script's output (docs/robustness.md).

    python scripts/measure_memory.py              # tracemalloc over the shipped scenarios
    python scripts/measure_memory.py 200000 4     # peak-RSS growth of one run at 200,000/h for 4 h
"""

from __future__ import annotations

import gc
import resource
import sys
import time
import tracemalloc

import numpy as np

import notifsim
from notifsim.store import prepare_run

CASES = [
    ("default", "certctl-asbuilt", "1d"),
    ("default", "certctl-i005", "1d"),
    ("default", "certctl-asbuilt", "3d"),
    ("default", "certctl-i005", "3d"),
    ("default", "certctl-i005", "7d"),
    ("steady", "certctl-i005", "7d"),
    ("provider-outage", "sidekiq", "2d"),
    ("default", "grpc", "2d"),
]


def main() -> None:
    rows = []
    notifsim.simulate("default", "certctl-i005", horizon="1h")  # warm imports and caches
    for scenario, policy, horizon in CASES:
        gc.collect()
        tracemalloc.start()
        result = notifsim.simulate(scenario, policy, horizon=horizon, seed=1)
        prepare_run(result)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        n, a, t = len(result.notifications), len(result.attempts), len(result.ticks)
        rows.append((n, a, t, peak))
        print(f"{scenario:16s} {policy:16s} {horizon:3s} notifications {n:8,} attempts {a:8,} ticks {t:7,} peak {peak / 2**20:8.1f} MiB")
        del result
    x = np.array([[1.0, n, a, t] for n, a, t, _ in rows])
    y = np.array([p for *_, p in rows], dtype=float)
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    print(f"fit: fixed {coef[0] / 2**20:.1f} MiB, {coef[1]:.0f} B/notification, {coef[2]:.0f} B/attempt, {coef[3]:.0f} B/tick")
    print(f"max per-run bytes/notification (all costs on notifications): {max(p / max(n, 1) for n, a, t, p in rows):.0f}")


def rss(rate_per_hour: float, hours: float) -> None:
    """Peak-RSS growth of one run of the default scenario at ``rate_per_hour`` (sees Arrow's native buffers too)."""
    data = notifsim.Scenario._preset_data("default")
    data["workload"]["rate_per_hour"] = rate_per_hour
    scenario = notifsim.Scenario.from_dict(data)
    notifsim.simulate(scenario, "certctl-i005", horizon="10m")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    wall = time.perf_counter()
    result = notifsim.simulate(scenario, "certctl-i005", horizon=hours * 3600, seed=1, force=True)
    prepare_run(result)
    grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    n = len(result.notifications)
    print(
        f"{rate_per_hour:g}/h × {hours:g} h: notifications {n:,} attempts {len(result.attempts):,} ticks {len(result.ticks):,} "
        f"peak RSS +{grew / 2**20:.0f} MiB ({grew / n:.0f} B per notification) in {time.perf_counter() - wall:.0f} s"
    )


if __name__ == "__main__":
    if len(sys.argv) == 3:
        rss(float(sys.argv[1]), float(sys.argv[2]))
    else:
        main()
