"""Regenerate the measured tables of README.md and docs/*.md from fresh runs.

The text between ``<!-- measured:NAME -->`` and ``<!-- /measured:NAME -->``
is written by this script, never typed by hand:

* ``presets`` (docs/policies.md): every policy preset on ``default`` (one
  week, seed 1), ``provider-outage`` (one week, mean of seeds 1-3) and
  ``poison-recipients`` (one week, seed 1), from ``notifsim.simulate`` and
  ``Result.summary()``; about two minutes on two cores;
* ``demo`` (README.md): what ``notifsim demo`` prints (both certctl
  profiles on the default scenario, one week, seed 1); seconds;
* ``speed`` (README.md): the engine against bare SimPy (``bench/engine.py``)
  and a certificate fleet over a year (``bench/fleet.py``), each measured in
  a child process of its own; about three minutes (``--quick``: seconds).

Run from anywhere::

    python scripts/measure_tables.py                   # every table
    python scripts/measure_tables.py --only presets    # one table
    python scripts/measure_tables.py --check           # exit 1 if a file would change; writes nothing

The presets table and the demo output are deterministic (the same code gives
the same numbers), so ``--check`` tells whether they are stale; speed numbers
vary from run to run.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
HORIZON = "7d"

#: The presets table's worlds: (scenario, seeds); metrics over several seeds are means.
DEFAULT = ("default", (1,))
OUTAGE = ("provider-outage", (1, 2, 3))
POISON = ("poison-recipients", (1,))

#: Bench sizes: engine (simulated days, bare SimPy timeouts) and fleet (certificates, simulated days).
ENGINE_SIZES = {"full": (3.0, 2_000_000), "quick": (0.1, 200_000)}
FLEET_SIZES = {"full": (100_000, 365.0), "quick": (10_000, 30.0)}
ENGINE_RATE_PER_HOUR = 5000.0


# -- markers ----------------------------------------------------------------------------------------------------------


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- measured:{name} -->", f"<!-- /measured:{name} -->"


def replace_measured(text: str, name: str, body: str) -> str:
    """``text`` with what lies between each pair of ``name`` markers replaced by ``body`` (on lines of its own).

    Text without the markers is returned unchanged; a start marker without its
    end marker (or the reverse) raises ``ValueError`` naming the table.
    """
    start, end = _markers(name)
    if text.count(start) != text.count(end):
        raise ValueError(f"unbalanced markers for {name!r}: {text.count(start)} {start!r}, {text.count(end)} {end!r}")
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), flags=re.S)
    if len(pattern.findall(text)) != text.count(start):
        raise ValueError(f"markers for {name!r} are out of order: {end!r} before {start!r}")
    block = f"{start}\n{body.strip(chr(10))}\n{end}"
    return pattern.sub(lambda _: block, text)


def marked_files(name: str) -> list[Path]:
    """README.md and docs/*.md files that carry the start marker of table ``name``."""
    start, _ = _markers(name)
    candidates = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [path for path in candidates if path.is_file() and start in path.read_text()]


# -- formatting -------------------------------------------------------------------------------------------------------


def percent(fraction: float) -> str:
    """A fraction as a percentage with 3 significant digits (``0.103 %``); exactly 0 as ``0``."""
    if math.isnan(fraction):
        return "—"
    return "0" if fraction == 0 else f"{100 * fraction:.3g} %"


def duration(seconds: float) -> str:
    """Seconds in the unit that reads best: s below 2 min, min below 2 h, else h; one decimal below 10."""
    if math.isnan(seconds):
        return "—"
    for limit, unit, scale in ((120.0, "s", 1.0), (7200.0, "min", 60.0), (math.inf, "h", 3600.0)):
        if seconds < limit:
            value = seconds / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")


def ratio(value: float) -> str:
    """A ratio: two decimals below 10, one below 100, whole numbers above."""
    if math.isnan(value):
        return "—"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def dead_letter(dead: float, stranded: float) -> str:
    """The dead-letter rate, with the stranded share in parentheses when there is one."""
    text = percent(dead)
    return text if stranded == 0 else f"{text} ({percent(stranded)} stranded)"


# -- presets ----------------------------------------------------------------------------------------------------------

_METRICS = ("dead_letter_rate", "stranded_rate", "time_to_delivery_p95_s", "time_to_delivery_p99_s", "attempts_per_notification")


def _summary(job: tuple[str, str, int]) -> dict[str, float]:
    """The metrics the presets table needs, for one (scenario, policy, seed) over :data:`HORIZON`."""
    import notifsim

    scenario, policy, seed = job
    summary = notifsim.simulate(scenario, policy, seed=seed, horizon=HORIZON).summary()
    return {name: float(summary[name]) for name in _METRICS}


def _mean(runs: list[dict[str, float]], name: str) -> float:
    return statistics.fmean(run[name] for run in runs)


def presets_table(jobs: int) -> str:
    """The presets table (markdown): rates are shares of the notifications created, a share in parentheses is stranded."""
    import notifsim

    presets = notifsim.Policy.presets()
    worlds = (DEFAULT, OUTAGE, POISON)
    todo = [(scenario, policy, seed) for policy in presets for scenario, seeds in worlds for seed in seeds]
    print(f"presets: {len(todo)} runs of {HORIZON} on {jobs} processes", file=sys.stderr)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        done = dict(zip(todo, pool.map(_summary, todo)))

    def runs(world: tuple[str, tuple[int, ...]], policy: str) -> list[dict[str, float]]:
        scenario, seeds = world
        return [done[(scenario, policy, seed)] for seed in seeds]

    lines = [
        "| preset | default: dead-letter rate | p95 / p99 time to delivery | attempts per notification "
        "| provider-outage: dead-letter rate | p99 | attempts | poison: attempts per notification |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for policy in presets:
        d = runs(DEFAULT, policy)
        o = runs(OUTAGE, policy)
        p = runs(POISON, policy)
        cells = [
            f"`{policy}`",
            dead_letter(_mean(d, "dead_letter_rate"), _mean(d, "stranded_rate")),
            f"{duration(_mean(d, 'time_to_delivery_p95_s'))} / {duration(_mean(d, 'time_to_delivery_p99_s'))}",
            ratio(_mean(d, "attempts_per_notification")),
            dead_letter(_mean(o, "dead_letter_rate"), _mean(o, "stranded_rate")),
            duration(_mean(o, "time_to_delivery_p99_s")),
            ratio(_mean(o, "attempts_per_notification")),
            ratio(_mean(p, "attempts_per_notification")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- demo -------------------------------------------------------------------------------------------------------------


def demo_text() -> str:
    """What ``notifsim demo`` prints (into a throw-away database), as a ``text`` block; the line naming the run ids is left out."""
    from notifsim.cli import main as cli

    out = io.StringIO()
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(out):
        status = cli(["demo", "--db", str(Path(tmp) / "demo.duckdb")])
    if status != 0:
        raise RuntimeError(f"notifsim demo exited with {status}")
    lines = [line.rstrip() for line in out.getvalue().splitlines() if not line.startswith("wrote ")]
    return "```text\n" + "\n".join(lines).strip("\n") + "\n```"


# -- speed ------------------------------------------------------------------------------------------------------------


def _load_bench(name: str) -> ModuleType:
    """``bench/<name>.py`` as a module (its ``main`` is not run)."""
    path = ROOT / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _engine_worker(days: float, timeouts: int, repeat: int) -> dict[str, float]:
    """Best-of-``repeat`` rates of bench/engine.py's two measurements, in this process."""
    bench = _load_bench("engine")
    t_simpy, events = bench.best_of(repeat, bench.bare_simpy, timeouts)
    t_sim, (sends, notifications) = bench.best_of(repeat, bench.notifsim_run, days, ENGINE_RATE_PER_HOUR, 1)
    return {"days": days, "sends": sends, "notifications": notifications, "sends_per_s": sends / t_sim, "timeouts_per_s": events / t_simpy}


def _fleet_worker(certificates: int, days: float, lifetime_days: float) -> dict[str, float]:
    """One bench/fleet.py world (its default policy), in this process: wall seconds, notifications, peak memory."""
    import notifsim

    bench = _load_bench("fleet")
    scenario = bench.scenario(certificates, False, lifetime_days)
    t0 = time.perf_counter()
    result = notifsim.simulate(scenario, "certctl-asbuilt", seed=1, horizon=days * 86400.0)
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "notifications": len(result.notifications), "peak_mib": bench.peak_mb()}


_WORKERS = {"engine": _engine_worker, "fleet": _fleet_worker}


def _in_child(kind: str, *args: float) -> dict[str, float]:
    """Run a worker in a fresh Python process (clean timings and peak memory) and return what it measured."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps([kind, *args])]
    print(f"speed: {kind} {args}", file=sys.stderr)
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the {kind} measurement failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def speed_text(quick: bool, repeat: int) -> str:
    """The README's speed bullets."""
    import notifsim

    size = "quick" if quick else "full"
    days, timeouts = ENGINE_SIZES[size]
    engine = _in_child("engine", days, timeouts, repeat)
    certificates, fleet_days = FLEET_SIZES[size]
    short = _in_child("fleet", certificates, fleet_days, 90.0)
    long = _in_child("fleet", certificates, fleet_days, 398.0)
    r = engine["sends_per_s"] / engine["timeouts_per_s"]
    return "\n".join(
        [
            f"Measured by `scripts/measure_tables.py{' --quick' if quick else ''}` on a {os.cpu_count()}-core machine "
            f"(Python {platform.python_version()}, notifsim {notifsim.__version__}); no test asserts a wall time.",
            "",
            f"* Engine (`bench/engine.py`): Poisson {ENGINE_RATE_PER_HOUR:,.0f} alerts/h on Slack and Email, 20 % failures, "
            f"{engine['days']:g} simulated days under `certctl-i005` ({engine['notifications']:,.0f} notifications, "
            f"{engine['sends']:,.0f} Send calls): {engine['sends_per_s']:,.0f} Send calls per second against "
            f"{engine['timeouts_per_s']:,.0f} bare SimPy timeouts per second, a ratio of {r:.3f}: one simulated Send "
            f"costs about {1 / r:.0f} bare SimPy events.",
            f"* Fleet (`bench/fleet.py`): {certificates:,} 90-day certificates over {fleet_days:g} simulated days "
            f"({short['notifications']:,.0f} notifications) in {duration(short['wall_s'])} and {short['peak_mib'] / 1024:.2f} GiB "
            f"peak memory; with 398-day certificates {duration(long['wall_s'])} and {long['peak_mib'] / 1024:.2f} GiB.",
        ]
    )


# -- command line -----------------------------------------------------------------------------------------------------

TABLES = ("presets", "demo", "speed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", choices=TABLES, help="regenerate one table")
    parser.add_argument("--check", action="store_true", help="exit 1 if a file would change; write nothing")
    parser.add_argument("--quick", action="store_true", help="speed: bench sizes of a few seconds")
    parser.add_argument("--repeat", type=int, default=3, help="speed: repeats of each engine measurement, the best kept (default 3)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="presets: processes running simulations (default: one per core)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        kind, *values = json.loads(args.worker)
        print(json.dumps(_WORKERS[kind](*values)))
        return 0

    builders = {"presets": lambda: presets_table(args.jobs), "demo": demo_text, "speed": lambda: speed_text(args.quick, args.repeat)}
    status = 0
    changed: list[Path] = []
    for name in [args.only] if args.only else TABLES:
        files = marked_files(name)
        if not files:
            start, _ = _markers(name)
            print(f"{name}: no {start} marker in README.md or docs/*.md; skipped", file=sys.stderr)
            status = 1
            continue
        body = builders[name]()
        for path in files:
            text = path.read_text()
            new = replace_measured(text, name, body)
            if new == text:
                continue
            changed.append(path)
            if not args.check:
                path.write_text(new)
    for path in dict.fromkeys(changed):
        print(f"{'would change' if args.check else 'updated'}: {path.relative_to(ROOT)}")
    if args.check and changed:
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
