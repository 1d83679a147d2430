"""``python -m bench.analysis``: reading many runs back, measured against what a user would otherwise write.

    python -m bench.analysis              # 40 runs of 12 simulated hours at 1,000 alerts/h
    python -m bench.analysis --runs 4 --hours 1 --json

Figures (each the best of ``--repeat``, all in this process):

1. ``ResultsFile.metrics()`` over every run, against the loop a user would
   write without it — ``[stored.run(run_id).summary() for run_id in ...]``,
   which rebuilds every run whole: how many times faster;
2. ``notifsim.report.build_report`` over the same file, against the time it
   took to simulate those runs: the report's cost as a fraction of the study's.

Nothing here asserts on time; the ratios are what carry from one machine to another.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from typing import Any

import notifsim
from bench.__main__ import best_of
from notifsim.channels import Bernoulli, Outages
from notifsim.workloads import Poisson


def world(outage_min: int, rate: float) -> notifsim.Scenario:
    return notifsim.Scenario(
        "bench-outage",
        channels={"Slack": [Bernoulli(0.05, latency=0.2), Outages([("1h", f"{outage_min}m")])], "Email": Bernoulli(0.02, latency=0.5)},
        workload=Poisson(rate, channels={"Slack": 2, "Email": 1}),
    )


def write_runs(db: str, runs: int, hours: float, rate: float) -> float:
    """``runs`` runs (two policies × two outage lengths × replications) into ``db``; returns the seconds spent simulating."""
    spent = 0.0
    configs = [(policy, minutes) for policy in ("certctl-asbuilt", "certctl-i005") for minutes in (15, 60)]
    for i in range(runs):
        policy, minutes = configs[i % len(configs)]
        replication = i // len(configs)
        t0 = time.perf_counter()
        notifsim.simulate(world(minutes, rate), policy, seed=replication, horizon=hours * 3600, db=db, experiment="bench", replication=replication)
        spent += time.perf_counter() - t0
    return spent


def measure(runs: int, hours: float, rate: float, repeat: int, log=print) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": runs, "hours": hours, "rate_per_hour": rate, "repeat": repeat}
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.duckdb")
        out["simulate_s"] = write_runs(db, runs, hours, rate)
        with notifsim.open_results(db) as stored:
            out["notifications"] = int(stored.sql("SELECT count(*) AS n FROM notification_events")["n"].iloc[0])
            t_metrics, frame = best_of(repeat, stored.metrics)
            ids = stored.runs["run_id"].tolist()
            t_loop, summaries = best_of(repeat, lambda: [stored.run(run_id).summary() for run_id in ids])
        same = all(frame.iloc[i][list(notifsim.analysis.METRICS)].astype(float).equals(s.astype(float).rename(None)) for i, s in enumerate(summaries))
        out.update(metrics_s=t_metrics, loop_s=t_loop, metrics_ratio=t_loop / t_metrics, same_values=same)
        log(f"{runs} runs, {out['notifications']:,} notifications, simulated in {out['simulate_s']:.1f} s")
        log(f"1. ResultsFile.metrics() {t_metrics:.2f} s; run(run_id).summary() for each run {t_loop:.2f} s")
        log(f"   {t_loop / t_metrics:.1f}x faster (same values: {same})")
        t_report, text = best_of(repeat, lambda: notifsim.report.build_report(db))
        out.update(report_s=t_report, report_bytes=len(text.encode()), report_ratio=t_report / out["simulate_s"])
        log(f"2. build_report {t_report:.2f} s ({len(text.encode()) / 1e6:.1f} MB) = {t_report / out['simulate_s']:.2f} of the simulation time")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.analysis", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="runs to write and read back (default 40)")
    parser.add_argument("--hours", type=float, default=12.0, help="simulated hours per run (default 12)")
    parser.add_argument("--rate", type=float, default=1000.0, help="alerts per hour (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement, the best is kept (default 3)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object at the end")
    args = parser.parse_args(argv)
    figures = measure(args.runs, args.hours, args.rate, args.repeat, log=(lambda _line: None) if args.json else print)
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
