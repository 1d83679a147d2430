"""The report's policy-search section: for each tune (``notifsim.tune``) whose runs are reported, what it
found, the comparison with the presets, the TOML snippet and the two search figures."""

from __future__ import annotations

import os
from collections.abc import Collection

from matplotlib.figure import Figure

from .. import analysis, display, plots
from . import html


def tunes_in(db: str | os.PathLike, experiments: Collection[str]) -> list[str]:
    """The names of the tunes of ``db`` whose runs are among those reported (their experiments: ``experiments``)."""
    from ..tuning import tune_names
    from ..tuning.evaluate import experiment_name

    wanted = set(experiments)
    return [n for n in tune_names(db) if experiment_name(n) in wanted]


def section(db: str | os.PathLike, experiments: Collection[str]) -> str:
    """The section's HTML for the tunes of the reported runs' ``experiments`` ('' when there is none)."""
    parts: list[str] = []
    for name in tunes_in(db, experiments):
        from ..tuning import load_tune

        result = load_tune(db, name)
        parts.append(f"<h3>{html.esc(name)}</h3>")
        parts.append(html.paragraph(f"{result.objective.describe()}; worlds {', '.join(result.worlds)}; {len(result.trials)} trials."))
        summary = result.summary.reset_index()
        metrics = [c for c in summary.columns if c in analysis.METRICS]
        rows = [
            [row["policy"], row["role"], *(display.fmt_metric(m, row[m]) for m in metrics), "yes" if row["feasible"] else "no"] for _, row in summary.iterrows()
        ]
        header = ["policy", "role", *(f"{display.label(m)} ({result.objective.aggregate})" for m in metrics), "meets the limits"]
        parts.append(html.table(header, rows, numeric=[False, False, *([True] * len(metrics)), False], caption="On the same worlds and seeds"))
        parts.append(f"<pre>{html.esc(result.to_toml())}</pre>")
        if not result.trials.empty:
            fig = Figure(figsize=(7.0, 3.4), layout="constrained")
            plots.search_history(result, fig.add_subplot())
            parts.append(html.figure(fig, "objective per trial", "Each trial's objective in the order evaluated, and the best feasible value so far."))
            fig = Figure(figsize=(7.0, 4.0), layout="constrained")
            plots.search_front(result, fig.add_subplot())
            parts.append(html.figure(fig, "trials and presets", "Feasible trials, their front, and every preset on the same worlds."))
    return "".join(parts)
