"""Benchmark: the fleet year against the code the fast-engine work started from, on this machine, run by run.

The fleet figure of ``python -m bench`` is a wall time, and wall times move
with the machine: the same commit has taken 19 s on one 2-core machine and
26-34 s on another.  This script measures the figure as a ratio instead.  It
checks the baseline commit out into a temporary git worktree and runs this
checkout's ``bench/fleet.py`` on the baseline's notifsim and on this one in
turns (baseline, current, current, baseline, ...), each in a fresh process,
so both see the same machine in the same minutes.  Both build the same world
and must create the same notifications, type by type; the script checks that
they do.  (They are not identical row for row: the job processor has been
modelled more closely since, so its ticks are counted differently and in a
short run a few Sends differ.)

    python -m bench.baseline              # 3 pairs of the fleet year (about 5 minutes)
    python -m bench.baseline --quick      # 10,000 certificates over 30 days

The baseline, ``bceb4ef``, is the last commit before the batched engine: its
fleet year took 34 s and 1.2 GiB when the targets of 15 s and 1 GiB were
set, so the time target is a ratio of 15 / 34 = 0.44.  Memory does not move
with the machine: its target stays 1 GiB.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

BASELINE = "bceb4ef"
TARGET_RATIO = 15.0 / 34.0  # the 15 s target over the baseline's 34 s, both on the machine the targets were set on
ROOT = Path(__file__).resolve().parent.parent

_WALL = re.compile(r"wall: ([\d.]+) s")
_PEAK = re.compile(r"peak RSS: ([\d,]+) MiB")
_CREATED = re.compile(r"notifications created: ([\d,]+)")


def run_fleet(checkout: Path, quick: bool) -> tuple[float, float, str]:
    """Run this checkout's ``bench/fleet.py`` on the notifsim of ``checkout``: (wall s, peak MiB, what it created)."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    args = [sys.executable, str(ROOT / "bench" / "fleet.py"), *(["--quick"] if quick else [])]
    done = subprocess.run(args, cwd=checkout, env=env, capture_output=True, text=True, check=False)
    out = done.stdout
    wall, peak, created = _WALL.search(out), _PEAK.search(out), _CREATED.search(out)
    if done.returncode or wall is None or peak is None or created is None:
        raise SystemExit(f"bench/fleet.py failed on {checkout} (exit {done.returncode}):\n{out}{done.stderr}")
    world = "\n".join(line for line in out.splitlines() if line.startswith("by type:"))
    return float(wall.group(1)), float(peak.group(1).replace(",", "")), world


def compare(pairs: int = 3, quick: bool = False, rev: str = BASELINE, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the fleet ``pairs`` times on each side, in turns; the medians, the ratio and the peaks."""
    if subprocess.run(["git", "cat-file", "-e", f"{rev}^{{commit}}"], cwd=ROOT, capture_output=True).returncode:
        raise SystemExit(f"--rev: commit {rev} is not in this clone (a shallow clone has no history; fetch it first)")
    times: dict[str, list[float]] = {"baseline": [], "current": []}
    peaks: dict[str, list[float]] = {"baseline": [], "current": []}
    worlds: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="notifsim-baseline-") as tmp:
        base = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(base), rev], cwd=ROOT, check=True)
        try:
            for i in range(pairs):
                for side in ("baseline", "current") if i % 2 == 0 else ("current", "baseline"):
                    wall, peak, world = run_fleet(base if side == "baseline" else ROOT, quick)
                    times[side].append(wall)
                    peaks[side].append(peak)
                    worlds.add(world)
                    log(f"  {side:8s} {wall:6.2f} s  {peak:6,.0f} MiB")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    if len(worlds) != 1:
        raise SystemExit("the two sides simulated different worlds:\n" + "\n\n".join(sorted(worlds)))
    ratios = [c / b for c, b in zip(times["current"], times["baseline"])]
    return {
        "rev": rev,
        "pairs": pairs,
        "world": next(iter(worlds)),
        "current_s": statistics.median(times["current"]),
        "baseline_s": statistics.median(times["baseline"]),
        "ratio": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "current_peak_mib": max(peaks["current"]),
        "baseline_peak_mib": max(peaks["baseline"]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3, help="runs of each side (default 3)")
    parser.add_argument("--quick", action="store_true", help="10,000 certificates over 30 days")
    parser.add_argument("--rev", default=BASELINE, help=f"the baseline commit (default {BASELINE})")
    args = parser.parse_args(argv)
    found = compare(args.pairs, args.quick, args.rev)
    world = "10,000 certificates, 30 days" if args.quick else "100,000 certificates, one year"
    print(found["world"])
    print(f"fleet ({world}), {args.pairs} pairs against {args.rev}:")
    print(f"  wall: current {found['current_s']:.1f} s, baseline {found['baseline_s']:.1f} s (medians)")
    print(
        f"  ratio current / baseline: median {found['ratio']:.3f} (pairs {found['ratio_min']:.3f} to {found['ratio_max']:.3f})"
        f"   target <= {TARGET_RATIO:.3f} (15 s / 34 s)"
    )
    print(f"  peak memory: current {found['current_peak_mib']:,.0f} MiB, baseline {found['baseline_peak_mib']:,.0f} MiB   target <= 1,024 MiB")


if __name__ == "__main__":
    main()
