"""The script a user would write by hand instead of notifsim: the baseline of the end-to-end speed ratio.

One SimPy process per notification with its own backoff timer: each alert
is sent at once; a failed send waits ``min(2^n min, 1 h)`` and is sent
again, up to 5 attempts, then it is dead.  Every Send is appended to a
list of dicts; at the end the list becomes a DataFrame and a DuckDB table.
Same workload as ``bench/engine.py``: Poisson arrivals at ``rate`` per
hour on Slack, each Send failing with probability ``p_fail`` and taking
``latency`` seconds.  No certctl semantics (no scheduler ticks, no table,
no pending batch, no deadlines): a deliberately simple model, which is
what makes it a fair "hand-written" baseline.

    python bench/peer.py --hours 12 --rate 20000
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import duckdb
import numpy as np
import pandas as pd
import simpy


def run(hours: float, rate_per_hour: float, p_fail: float, latency: float, seed: int, db: str | None) -> tuple[int, int]:
    """Simulate and (with ``db``) store; returns (notifications, Send calls)."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    rows: list[dict] = []
    horizon = hours * 3600.0

    def notification(env: simpy.Environment, nid: int):
        for attempt in range(5):
            start = env.now
            yield env.timeout(latency)
            ok = rng.random() >= p_fail
            rows.append({"notification_id": nid, "attempt": attempt, "at": start, "done": env.now, "ok": ok, "channel": "Slack"})
            if ok:
                return
            if attempt < 4:
                yield env.timeout(min(60.0 * 2**attempt, 3600.0))

    def arrivals(env: simpy.Environment):
        nid = 0
        while True:
            yield env.timeout(rng.exponential(3600.0 / rate_per_hour))
            nid += 1
            env.process(notification(env, nid))

    env.process(arrivals(env))
    env.run(until=horizon)
    frame = pd.DataFrame(rows)
    if db is not None:
        con = duckdb.connect(db)
        con.execute("CREATE TABLE IF NOT EXISTS attempts AS SELECT * FROM frame LIMIT 0")
        con.execute("INSERT INTO attempts SELECT * FROM frame")
        con.close()
    return int(frame["notification_id"].nunique()) if len(frame) else 0, len(frame)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=12.0)
    parser.add_argument("--rate", type=float, default=20000.0)
    parser.add_argument("--p-fail", type=float, default=0.2)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        n, sends = run(args.hours, args.rate, args.p_fail, args.latency, 1, os.path.join(tmp, "peer.duckdb"))
        wall = time.perf_counter() - t0
    print(f"peer: {n:,} notifications, {sends:,} Send calls in {wall:.2f} s ({sends / wall:,.0f} sends/s, DuckDB write included)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
