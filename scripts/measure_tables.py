"""Regenerate the measured tables of README.md and docs/*.md from fresh runs.

The text between ``<!-- measured:NAME -->`` and ``<!-- /measured:NAME -->``
is written by this script, never typed by hand:

* ``presets`` (docs/policies.md): every policy preset on ``default`` (one
  week, seed 1), ``provider-outage`` (one week, mean of seeds 1-3) and
  ``poison-recipients`` (one week, seed 1), from ``notifsim.simulate`` and
  ``Result.summary()``; about two minutes on two cores;
* ``demo`` (README.md): what ``notifsim demo`` prints (both certctl
  profiles on the default scenario, one week, seed 1); seconds;
* ``dedup`` (docs/policies.md): what each dedup reading does to the expiry
  alerts of a fleet of 3,000 certificates that fall due while Slack is
  down for a day, under both certctl profiles (seed 1); seconds;
* ``speed`` (README.md): the four figures of ``python -m bench`` (the
  engine against bare SimPy, end to end against ``bench/peer.py``, summary
  against simulation, a certificate fleet over a year), measured in a child
  process; about three minutes (``--quick``: seconds).

Run from anywhere::

    python scripts/measure_tables.py                   # every table
    python scripts/measure_tables.py --only presets    # one table
    python scripts/measure_tables.py --check           # exit 1 if a file would change; writes nothing

The presets table, the dedup table and the demo output are deterministic (the same code gives
the same numbers), so ``--check`` tells whether they are stale; speed numbers
vary from run to run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HORIZON = "7d"

#: The presets table's worlds: (scenario, seeds); metrics over several seeds are means.
DEFAULT = ("default", (1,))
OUTAGE = ("provider-outage", (1, 2, 3))
POISON = ("poison-recipients", (1,))

#: Bench sizes: engine (simulated days, bare SimPy timeouts) and fleet (certificates, simulated days).


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


# -- dedup ------------------------------------------------------------------------------------------------------------

#: The dedup table's world: 3,000 manually managed certificates (no renewals, so every threshold is alerted) whose
#: expiries spread over 45 days, every alert on Slack; Slack answers in 0.3 s and is down from day 1 to day 2.
DEDUP_CERTIFICATES = 3000
DEDUP_OUTAGE = ("1d", "1d")
DEDUP_HORIZON = "3d"
DEDUP_READINGS = ("any", "not-failed", "delivered")


def dedup_rows(policy: str, reading: str) -> dict[str, int]:
    """Alerts that fell due during the outage (their first row created in it), under one policy and reading.

    An alert is a (certificate, threshold, channel); per alert: its rows, their Sends, whether it was
    delivered by the horizon, and whether more than once.
    """
    import notifsim
    from notifsim.channels import Bernoulli, Outages
    from notifsim.workloads import Fleet

    fleet = Fleet(
        certificates=DEDUP_CERTIFICATES, remaining_days=[0, 45], auto_renew=0.0, channels={t: ["Slack"] for t in ("informational", "warning", "critical")}
    )
    scenario = notifsim.Scenario("slack-down-a-day", channels={"Slack": [Bernoulli(0.0, latency=0.3), Outages([DEDUP_OUTAGE])]}, workload=fleet)
    result = notifsim.simulate(scenario, notifsim.Policy.preset(policy).replace(dedup_statuses=reading), seed=1, horizon=DEDUP_HORIZON)
    n = result.notifications
    alerts = n[n["type"] == "ExpirationWarning"].assign(threshold=lambda d: d["message"].str.extract(r"\[threshold:(\d+)\]")[0])
    per_alert = alerts.groupby(["certificate_id", "threshold", "channel"]).agg(
        first=("created_at", "min"), rows=("id", "size"), sends=("attempts", "sum"), deliveries=("deliveries", "sum")
    )
    day = (per_alert["first"] - result.start).dt.total_seconds() // 86400
    due = per_alert[day == 1]
    return {
        "alerts": len(due),
        "rows": int(due["rows"].sum()),
        "sends": int(due["sends"].sum()),
        "delivered": int((due["deliveries"] > 0).sum()),
        "undelivered": int((due["deliveries"] == 0).sum()),
        "duplicated": int((due["deliveries"] > 1).sum()),
    }


def dedup_table() -> str:
    """The dedup table (markdown): one row per certctl profile and reading."""
    print(f"dedup: {2 * len(DEDUP_READINGS)} runs of {DEDUP_HORIZON}", file=sys.stderr)
    lines = [
        "| policy | `dedup_statuses` | alerts due in the outage | alert rows created | Slack Sends "
        "| delivered by day 3 | never delivered | delivered twice or more |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for policy in ("certctl-asbuilt", "certctl-i005"):
        for reading in DEDUP_READINGS:
            m = dedup_rows(policy, reading)
            cells = [f"`{policy}`", f"`{reading}`", *(f"{m[k]:,}" for k in ("alerts", "rows", "sends", "delivered", "undelivered", "duplicated"))]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- speed ------------------------------------------------------------------------------------------------------------


def speed_text(quick: bool, repeat: int, baseline: bool = False) -> str:
    """The README's speed bullets, from ``python -m bench --json`` run in a fresh process."""
    command = [sys.executable, "-m", "bench", "--json", "--repeat", str(repeat), *(["--quick"] if quick else []), *(["--baseline", "3"] if baseline else [])]
    print("speed: python -m bench", file=sys.stderr)
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"python -m bench failed:\n{done.stderr}")
    f = json.loads(done.stdout.strip().splitlines()[-1])
    return "\n".join(
        [
            f"Measured by `python -m bench{' --quick' if quick else ''}` (through `scripts/measure_tables.py`) on a {f['cpus']}-core machine "
            f"(Python {f['python']}, notifsim {f['notifsim']}), best of {f['repeat']}; no test asserts a wall time.",
            "",
            f"* Engine: Poisson 20,000 alerts/h on Slack, 20 % failures, {f['hours']:g} simulated hours under `certctl-i005` "
            f"({f['sends']:,} Send calls) in {f['simulate_s']:.2f} s: {f['sends_per_s']:,.0f} Send calls per second against "
            f"{f['timeouts_per_s']:,.0f} bare SimPy timeouts per second, a ratio of {f['engine_ratio']:.3f}.",
            f"* End to end, simulated and written to DuckDB: {f['end_to_end_s']:.2f} s, against {f['peer_s']:.2f} s for "
            f"`bench/peer.py` (the SimPy script one would write by hand, same workload, no certctl rules), the two run in turns: "
            f"{f['end_to_end_ratio']:.2f}× as fast (pair by pair {min(f['end_to_end_pairs']):.2f}–{max(f['end_to_end_pairs']):.2f}×).",
            f"* `summary()` costs {f['summary_ratio']:.3f} of the simulation it summarises ({f['summary_s'] * 1000:.0f} ms).",
            f"* Fleet (`bench/fleet.py`): {f['fleet_certificates']:,} 90-day certificates over {f['fleet_days']:g} simulated days "
            f"in {duration(f['fleet_s'])} and {f['fleet_peak_mib'] / 1024:.2f} GiB peak memory ({f['fleet_line'].split('   ')[0]}).",
            *([baseline_text(f["fleet_baseline"])] if "fleet_baseline" in f else []),
        ]
    )


def baseline_text(b: dict) -> str:
    """The fleet bullet's ratio against the code its 15 s target was set on (``bench/baseline.py``)."""
    return (
        f"  Wall times move with the machine, so the year is also timed against `{b['rev']}`, the code the 15 s target was set "
        f"on (34 s then), in turns on the same machine ({b['pairs']} runs each, medians): {b['current_s']:.1f} s against "
        f"{b['baseline_s']:.1f} s, a ratio of {b['ratio']:.3f} ({b['ratio_min']:.3f} to {b['ratio_max']:.3f}; target 15 / 34 = 0.441)."
    )


# -- command line -----------------------------------------------------------------------------------------------------

TABLES = ("presets", "demo", "dedup", "speed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", choices=TABLES, help="regenerate one table")
    parser.add_argument("--check", action="store_true", help="exit 1 if a file would change; write nothing")
    parser.add_argument("--quick", action="store_true", help="speed: bench sizes of a few seconds")
    parser.add_argument("--repeat", type=int, default=3, help="speed: repeats of each engine measurement, the best kept (default 3)")
    parser.add_argument("--baseline", action="store_true", help="speed: also time the fleet against the code its target was set on (about 5 minutes)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="presets: processes running simulations (default: one per core)")
    args = parser.parse_args(argv)

    builders = {
        "presets": lambda: presets_table(args.jobs),
        "demo": demo_text,
        "dedup": dedup_table,
        "speed": lambda: speed_text(args.quick, args.repeat, args.baseline),
    }
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
