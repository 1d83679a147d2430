"""Benchmark: a 100,000-certificate fleet over one simulated year, per-tier channel matrix.

Prints notifications created per wall-clock second, total wall time and peak
memory (``ru_maxrss``).  Target: the year in at most 15 s and 1 GiB on a
2-core machine.

    python bench/fleet.py            # 100,000 certificates, 365 days
    python bench/fleet.py --quick    # 10,000 certificates, 30 days
    python bench/fleet.py --profile  # also print the top of a cProfile

The world: 90-day certificates (Let's Encrypt-style; ``--lifetime 398`` for the CA/Browser
Forum maximum), 90 % renewed by certctl
(2 % of renewal attempts fail, one deployment target each, 1 % of deployments
fail), 10 % alert-only; revocations at 2 per 100 certificate-years; alerts
per tier as in certctl's PerTierFanOut test (informational → Slack,
warning → Slack + Email, critical → PagerDuty + OpsGenie + Email); each
notifier fails 1-2 % of sends independently, with send latencies of
0.2-1.5 s.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import resource
import sys
import time

import notifsim
from notifsim.channels import Bernoulli
from notifsim.workloads import Fleet

MATRIX = {"informational": ["Slack"], "warning": ["Slack", "Email"], "critical": ["PagerDuty", "OpsGenie", "Email"]}


def scenario(certificates: int, onboarding: bool = False, lifetime_days: float = 90.0) -> notifsim.Scenario:
    return notifsim.Scenario(
        "bench-fleet",
        channels={
            "Email": Bernoulli(0.02, latency=1.5),
            "Slack": Bernoulli(0.01, latency=0.3),
            "PagerDuty": Bernoulli(0.01, latency=0.2),
            "OpsGenie": Bernoulli(0.01, latency=0.2),
        },
        workload=Fleet(
            certificates=certificates,
            lifetime_days=lifetime_days,
            # steady state: every certificate is outside the 31-day window at the start (renewed on time so
            # far); --onboarding: certctl starts tracking a fleet issued uniformly over the past lifetime
            remaining_days=[0, lifetime_days] if onboarding else [31, lifetime_days],
            auto_renew=0.9,
            renewal_failure_rate=0.02,
            deployment_targets=1,
            deployment_failure_rate=0.01,
            revocations_per_cert_year=0.02,
            owners=2000,
            channels=MATRIX,
        ),
    )


def peak_mb() -> float:
    """Peak resident memory of this process in MiB."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return rss / 1024 / 1024 if sys.platform == "darwin" else rss / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 certificates over 30 days")
    parser.add_argument("--certificates", type=int, default=None)
    parser.add_argument("--days", type=float, default=None)
    parser.add_argument("--policy", default="certctl-asbuilt")
    parser.add_argument("--onboarding", action="store_true", help="start with a third of the fleet inside the 31-day window")
    parser.add_argument("--lifetime", type=float, default=90.0, help="certificate lifetime in days (default 90; 398 = CA/B Forum maximum)")
    parser.add_argument("--profile", action="store_true", help="print the 25 most expensive functions (cumulative)")
    args = parser.parse_args(argv)
    certificates = args.certificates or (10_000 if args.quick else 100_000)
    days = args.days or (30.0 if args.quick else 365.0)
    sc = scenario(certificates, args.onboarding, args.lifetime)
    profiler = cProfile.Profile() if args.profile else None
    t0 = time.perf_counter()
    if profiler:
        profiler.enable()
    result = notifsim.simulate(sc, args.policy, seed=1, horizon=days * 86400)
    if profiler:
        profiler.disable()
    wall = time.perf_counter() - t0
    n = len(result.notifications)
    print(f"fleet of {certificates:,} {args.lifetime:g}-day certificates, {days:g} days, policy {args.policy}{', onboarding' if args.onboarding else ''}")
    print(f"notifications created: {n:,}   attempts: {len(result.attempts):,}   ticks: {len(result.ticks):,}")
    print("by type: " + ", ".join(f"{k} {v:,}" for k, v in result.notifications["type"].value_counts().items()))
    print(f"counters: {result.counters}")
    print(
        f"wall: {wall:.2f} s (simulation {result.wall_s:.2f} s)   notifications/s: {n / wall:,.0f}   peak RSS: {peak_mb():,.0f} MiB (target: 15 s, 1,024 MiB)"
    )
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())


if __name__ == "__main__":
    main()
