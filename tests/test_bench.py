"""``python -m bench`` runs and reports figures that add up (never a wall time: the machines are noisy)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_quick_reports_consistent_figures():
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--no-fleet", "--repeat", "1", "--json"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    # the same world, simulated twice: once alone, once with the DuckDB write
    assert figures["sends"] > 20_000 and figures["hours"] == 1.0
    assert all(0 < figures[name] < float("inf") for name in ("engine_ratio", "end_to_end_ratio", "simulate_s", "peer_s"))
    # the peer runs the same Poisson rate and failure probability: Send counts within 5 % of each other
    assert abs(figures["peer_sends"] - figures["sends"]) / figures["sends"] < 0.05
    assert 0 < figures["summary_ratio"] < 1
