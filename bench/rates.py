"""Benchmark: the batched engine against the reference engine from sparse to dense arrivals.

The same number of alerts (``--rows``, default 60,000) on Slack (Bernoulli
0.2, latency 0.05 s, ``certctl-i005``) arriving at 120 to 6,000 per hour, so
a sparse world runs over a longer horizon.  For each rate, in this process,
best of ``--repeat``: the reference engine (``engine="events"``), the batched
engine with every tick and arrival laid out in bulk (``SMALL_TICK = 0``,
``DENSE = 0``: how it behaved before it chose), and the batched engine as
shipped.  Prints each time and its ratio to the reference's.

    python -m bench.rates
    python -m bench.rates --rows 240000 --repeat 3
"""

from __future__ import annotations

import argparse
import time

import notifsim
from notifsim.channels import Bernoulli
from notifsim.engine.batched import BatchedEngine
from notifsim.workloads import Poisson

RATES_PER_HOUR = (120, 300, 600, 1200, 2400, 6000)


def best_time(repeat: int, scenario: notifsim.Scenario, horizon: str, engine: str) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        notifsim.simulate(scenario, "certctl-i005", horizon=horizon, engine=engine, seed=1)
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60_000, help="alerts per world (default 60,000)")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    shipped = (BatchedEngine.SMALL_TICK, BatchedEngine.DENSE)
    print(f"{args.rows:,} alerts on Slack (Bernoulli 0.2, 0.05 s), certctl-i005; best of {args.repeat}; ratio = time / reference's")
    print(f"{'alerts/h':>8}  {'horizon':>8}  {'reference':>9}  {'all laid out':>18}  {'as shipped':>18}")
    try:
        for rate in RATES_PER_HOUR:
            scenario = notifsim.Scenario("rates", channels={"Slack": Bernoulli(0.2, latency=0.05)}, workload=Poisson(rate, channels={"Slack": 1}))
            horizon = f"{args.rows / rate:.4f}h"
            reference = best_time(args.repeat, scenario, horizon, "events")
            BatchedEngine.SMALL_TICK, BatchedEngine.DENSE = 0, 0.0
            laid = best_time(args.repeat, scenario, horizon, "batched")
            BatchedEngine.SMALL_TICK, BatchedEngine.DENSE = shipped
            chosen = best_time(args.repeat, scenario, horizon, "batched")
            print(
                f"{rate:>8,}  {args.rows / rate:>7.0f}h  {reference:>8.2f}s  {laid:>8.2f}s ({laid / reference:4.2f}x)"
                f"  {chosen:>8.2f}s ({chosen / reference:4.2f}x)"
            )
    finally:
        BatchedEngine.SMALL_TICK, BatchedEngine.DENSE = shipped


if __name__ == "__main__":
    main()
