"""``python -m bench``: the four speed figures of notifsim, each a ratio measured in this process.

    python -m bench            # full sizes (about two minutes)
    python -m bench --quick    # small sizes (about twenty seconds)

1. engine throughput: Send attempts per wall second ÷ bare SimPy timeouts per
   wall second (20,000 alerts/h on Slack, Bernoulli 0.2, latency 0.05 s,
   12 h, ``certctl-i005``, no database);
2. end to end: the same world simulated and written to DuckDB, against
   ``bench/peer.py`` (the script a user would write by hand) writing the same
   workload to DuckDB: how many times faster notifsim is (the two run in
   turns, so a slow spell of the machine falls on both);
3. ``summary()`` wall time ÷ ``simulate()`` wall time on that result;
4. the fleet: 100,000 certificates over one year, wall seconds and peak
   resident memory (measured in a child process so it is the fleet's own);
   with ``--baseline N``, also its time as a ratio against the code the 15 s
   target was set on, N runs of each in turns (``bench/baseline.py``).

Every figure is the best of ``--repeat`` runs.  Nothing here asserts on time:
these machines are noisy, and the ratios are what carry from one to another.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import simpy

import notifsim
from bench import baseline, peer
from notifsim.channels import Bernoulli
from notifsim.workloads import Poisson

RATE_PER_HOUR = 20_000.0
P_FAIL = 0.2
LATENCY_S = 0.05


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(wall seconds, result) of one call of ``fn()``, begun after a garbage collection."""
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def best_of(repeat: int, fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """(best wall seconds, last result) of ``repeat`` calls of ``fn(*args)``."""
    best, out = float("inf"), None
    for _ in range(repeat):
        seconds, out = timed(lambda: fn(*args))
        best = min(best, seconds)
    return best, out


def best_in_turns(repeat: int, a: Callable[[], Any], b: Callable[[], Any]) -> tuple[float, float, list[float], Any, Any]:
    """``a`` and ``b`` called in turns, ``repeat`` times each: (best seconds of ``a``, of ``b``, each pair's
    ``b / a``, last results).  Taken in turns, a slow spell of a noisy machine falls on both sides alike."""
    best_a = best_b = float("inf")
    pairs: list[float] = []
    out_a = out_b = None
    for _ in range(repeat):
        seconds_a, out_a = timed(a)
        seconds_b, out_b = timed(b)
        best_a, best_b = min(best_a, seconds_a), min(best_b, seconds_b)
        pairs.append(seconds_b / seconds_a)
    return best_a, best_b, pairs, out_a, out_b


def bare_simpy(n: int) -> int:
    """One SimPy process yielding ``n`` one-second timeouts; returns ``n``."""
    env = simpy.Environment()

    def ticker(env: simpy.Environment):
        for _ in range(n):
            yield env.timeout(1.0)

    env.process(ticker(env))
    env.run()
    return n


def world() -> notifsim.Scenario:
    """The benchmark world: Poisson alerts on Slack, each Send failing with probability 0.2."""
    return notifsim.Scenario(
        "bench",
        channels={"Slack": Bernoulli(P_FAIL, latency=LATENCY_S)},
        workload=Poisson(RATE_PER_HOUR, channels={"Slack": 1}, types="ExpirationWarning"),
    )


def simulate(hours: float, db: str | None = None, engine: str = "batched") -> notifsim.Result:
    return notifsim.simulate(world(), "certctl-i005", seed=1, horizon=hours * 3600.0, db=db, engine=engine)


def end_to_end(hours: float) -> int:
    """Simulate and write to a fresh DuckDB file; returns the Send calls."""
    with tempfile.TemporaryDirectory() as tmp:
        return len(simulate(hours, os.path.join(tmp, "bench.duckdb")).attempts)


def peer_run(hours: float) -> int:
    """``bench/peer.py`` on the same workload, writing DuckDB; returns the Send calls."""
    with tempfile.TemporaryDirectory() as tmp:
        return peer.run(hours, RATE_PER_HOUR, P_FAIL, LATENCY_S, 1, os.path.join(tmp, "peer.duckdb"))[1]


def fleet(certificates: int, days: float) -> tuple[float, float, str]:
    """(wall s, peak RSS MiB, summary line) of ``bench/fleet.py`` in a child process."""
    cmd = [sys.executable, "-m", "bench.fleet", "--certificates", str(certificates), "--days", str(days)]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t0
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    line = next((s for s in out.splitlines() if s.startswith("notifications created")), "")
    return wall, peak_mib, line


def measure(quick: bool, repeat: int, with_fleet: bool = True, log: Callable[[str], None] = print, baseline_pairs: int = 0) -> dict[str, Any]:
    """The four figures (and what they are made of), printing each as it is measured."""
    hours = 1.0 if quick else 12.0
    n_timeouts = 300_000 if quick else 2_000_000
    certificates, days = (10_000, 60.0) if quick else (100_000, 365.0)
    out: dict[str, Any] = {"python": platform.python_version(), "notifsim": notifsim.__version__, "cpus": os.cpu_count(), "repeat": repeat, "hours": hours}
    log(f"python {out['python']}, simpy {simpy.__version__}, notifsim {out['notifsim']}, {out['cpus']} cpus; best of {repeat}")
    log(f"world: Poisson {RATE_PER_HOUR:,.0f}/h on Slack, Bernoulli {P_FAIL}, latency {LATENCY_S} s, {hours:g} h, certctl-i005, seed 1")

    t_simpy, events = best_of(repeat, bare_simpy, n_timeouts)
    t_sim, result = best_of(repeat, simulate, hours)
    sends = len(result.attempts)
    simpy_rate, sim_rate = events / t_simpy, sends / t_sim
    out.update(sends=sends, simulate_s=t_sim, sends_per_s=sim_rate, timeouts_per_s=simpy_rate, engine_ratio=sim_rate / simpy_rate)
    log(f"1. engine: {sends:,} Send attempts in {t_sim:.2f} s = {sim_rate:,.0f}/s; bare SimPy {simpy_rate:,.0f} timeouts/s")
    log(f"   ratio {sim_rate / simpy_rate:.3f}   (target >= 0.25)")

    t_e2e, t_peer, pairs, sends_e2e, sends_peer = best_in_turns(repeat, lambda: end_to_end(hours), lambda: peer_run(hours))
    out.update(end_to_end_s=t_e2e, peer_s=t_peer, peer_sends=sends_peer, end_to_end_ratio=t_peer / t_e2e, end_to_end_pairs=pairs)
    log(f"2. end to end with DuckDB: notifsim {t_e2e:.2f} s ({sends_e2e:,} sends); hand-written peer {t_peer:.2f} s ({sends_peer:,} sends), in turns")
    log(f"   notifsim is {t_peer / t_e2e:.2f}x faster, pair by pair {min(pairs):.2f} to {max(pairs):.2f}   (target >= 2)")

    t_summary, _ = best_of(repeat, lambda: result.summary())
    out.update(summary_s=t_summary, summary_ratio=t_summary / t_sim)
    log(f"3. summary() {t_summary:.3f} s / simulate() {t_sim:.2f} s = {t_summary / t_sim:.3f}   (target <= 0.2, aim 0.05)")

    if with_fleet:
        wall, peak, line = fleet(certificates, days)
        out.update(fleet_certificates=certificates, fleet_days=days, fleet_s=wall, fleet_peak_mib=peak, fleet_line=line)
        log(f"4. fleet {certificates:,} certificates x {days:g} days: {wall:.1f} s wall (child process, start-up included), peak RSS {peak:,.0f} MiB")
        log(f"   {line}   (target for 100,000 x 365: <= 15 s, <= 1024 MiB)")
    if with_fleet and baseline_pairs:
        found = baseline.compare(baseline_pairs, quick, log=lambda line: log("  " + line))
        out.update(fleet_baseline={k: v for k, v in found.items() if k != "world"})
        log(
            f"   against {found['rev']}: {found['current_s']:.1f} s / {found['baseline_s']:.1f} s = {found['ratio']:.3f} "
            f"(pairs {found['ratio_min']:.3f} to {found['ratio_max']:.3f})   (target <= {baseline.TARGET_RATIO:.3f})"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (about twenty seconds in all)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement, the best is kept (default 3)")
    parser.add_argument("--no-fleet", action="store_true", help="skip the fleet figure")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object at the end")
    parser.add_argument("--baseline", type=int, default=0, metavar="N", help="also time the fleet against bceb4ef, N runs of each (about 100 s a pair)")
    args = parser.parse_args(argv)
    log = (lambda _line: None) if args.json else print
    figures = measure(args.quick, args.repeat, not args.no_fleet, log=log, baseline_pairs=args.baseline)
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
