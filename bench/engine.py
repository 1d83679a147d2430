"""Engine throughput: notifsim's Send calls per wall second against bare SimPy events per wall second.

Run from the repository root:

    python bench/engine.py            # full size (a few simulated days, ~1 min)
    python bench/engine.py --quick    # small size, a few seconds

Both measurements run in this process, best of ``--repeat`` (default 3), timed
with ``time.perf_counter``.  The ratio notifsim/SimPy says how much of SimPy's
raw event rate notifsim keeps while running certctl's state machine, recording
every Send and writing nothing to disk.  Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time

import simpy

import notifsim
from notifsim.channels import Bernoulli
from notifsim.workloads import Poisson


def bare_simpy(n: int) -> int:
    """One process yielding ``env.timeout(1.0)`` ``n`` times; returns the events processed."""
    env = simpy.Environment()

    def ticker(env: simpy.Environment):
        for _ in range(n):
            yield env.timeout(1.0)

    env.process(ticker(env))
    env.run()
    return n


def notifsim_run(days: float, rate_per_hour: float, seed: int) -> tuple[int, int]:
    """A large Bernoulli world under certctl-i005; returns (Send calls, notifications)."""
    scenario = notifsim.Scenario(
        "bench",
        channels={"Slack": Bernoulli(0.2, latency=0.05), "Email": Bernoulli(0.2, latency=0.05)},
        workload=Poisson(rate_per_hour, channels={"Slack": 1, "Email": 1}, types="ExpirationWarning"),
    )
    result = notifsim.simulate(scenario, "certctl-i005", seed=seed, horizon=days * 86400.0)
    return len(result.attempts), len(result.notifications)


def best_of(repeat: int, fn, *args):
    """(best wall seconds, fn's result) over ``repeat`` calls."""
    best, out = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a few seconds in all)")
    parser.add_argument("--repeat", type=int, default=3, help="repeats per measurement; the best is kept (default 3)")
    parser.add_argument("--days", type=float, default=None, help="simulated days of the notifsim run (default 3, quick 0.1)")
    parser.add_argument("--rate", type=float, default=5000.0, help="notifications per hour (default 5000)")
    args = parser.parse_args(argv)

    days = args.days if args.days is not None else (0.1 if args.quick else 3.0)
    n_timeouts = 200_000 if args.quick else 2_000_000

    print(f"python {platform.python_version()}, simpy {simpy.__version__}, notifsim {notifsim.__version__}; best of {args.repeat}")

    t_simpy, events = best_of(args.repeat, bare_simpy, n_timeouts)
    simpy_rate = events / t_simpy
    print(f"bare SimPy: {events:,} timeouts in {t_simpy:.3f} s")

    t_sim, (sends, notifications) = best_of(args.repeat, notifsim_run, days, args.rate, 1)
    engine_rate = sends / t_sim
    print(
        f"notifsim: {notifications:,} notifications, {sends:,} Send calls over {days:g} simulated days "
        f"(Poisson {args.rate:g}/h, Slack+Email, p_fail 0.2, latency 0.05 s, certctl-i005) in {t_sim:.3f} s"
    )
    print(f"engine: {engine_rate:,.0f} sends/s; bare SimPy: {simpy_rate:,.0f} timeouts/s; ratio {engine_rate / simpy_rate:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
