"""``python -m bench.analysis`` runs and its figures add up (never a wall time)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_analysis_reports_consistent_figures():
    argv = [sys.executable, "-m", "bench.analysis", "--runs", "4", "--hours", "1", "--rate", "300", "--repeat", "1", "--json"]
    figures = json.loads(subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    assert figures["runs"] == 4 and figures["notifications"] > 4 * 200
    assert figures["same_values"] is True  # metrics() equals run(run_id).summary() for every run
    assert all(0 < figures[name] < float("inf") for name in ("metrics_ratio", "report_ratio"))
    assert figures["report_bytes"] > 10_000
