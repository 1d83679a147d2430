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
    # end to end and the peer run in turns: with one run each, the one pair's ratio is the figure
    assert figures["end_to_end_pairs"] == [figures["peer_s"] / figures["end_to_end_s"]]


def test_fleet_against_the_baseline_runs_both_sides_on_the_same_world():
    """``python -m bench.baseline``: the baseline commit's notifsim and this one build the same fleet, run in turns."""
    has_baseline = subprocess.run(["git", "cat-file", "-e", "bceb4ef^{commit}"], cwd=ROOT, capture_output=True).returncode == 0
    if not has_baseline:
        import pytest

        pytest.skip("this clone has no history back to bceb4ef (a shallow clone)")
    done = subprocess.run([sys.executable, "-m", "bench.baseline", "--quick", "--pairs", "2"], cwd=ROOT, capture_output=True, text=True, check=True)
    out = done.stdout
    sides = [line.split()[0] for line in out.splitlines() if line.startswith("  ") and line.split()[0] in ("baseline", "current")]
    assert sides == ["baseline", "current", "current", "baseline"]  # in turns, so both see the same minutes
    assert "by type: " in out and "ratio current / baseline: median" in out
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "notifsim-baseline-" not in worktrees  # the baseline's checkout is removed again
