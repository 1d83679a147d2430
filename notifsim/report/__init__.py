"""``notifsim report``: one self-contained HTML file per results database (or experiment in it).

The report holds the runs and their configurations, headline metrics with
intervals over replications, paired differences against a baseline policy,
figures (embedded PNG), the requeue funnel and a methodology section.  It
loads nothing from the network, needs no JavaScript, and escapes every value
taken from the data.

>>> import notifsim, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = notifsim.simulate("default", "certctl-i005", seed=1, horizon="2h", db=folder / "runs.duckdb")
>>> notifsim.report.write_report(folder / "runs.duckdb", folder / "report.html").name
'report.html'
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from . import html, sections
from .methodology import methodology
from .study import Study, gather

__all__ = ["Study", "build_report", "gather", "write_report"]


def build_report(
    db: str | os.PathLike,
    *,
    experiment: str | None = None,
    run_ids: list[str] | None = None,
    level: float = 0.95,
    baseline: str | None = None,
    title: str | None = None,
) -> str:
    """The report's HTML for the runs of ``db`` (those of ``experiment``, or ``run_ids``, or all).

    ``level`` is the confidence level of every interval; ``baseline`` the
    policy paired differences are taken against (default: certctl-i005 when
    present, else certctl-asbuilt, else the first policy).
    """
    study = gather(db, experiment=experiment, run_ids=run_ids, level=level, baseline=baseline)
    configurations = len(study.configurations)
    name = title or f"notifsim report: {experiment if experiment is not None else Path(db).name}"
    lead = (
        f"{len(study.metrics):,} runs of {configurations:,} configuration{'s' if configurations != 1 else ''} from {Path(db).name}; "
        f"scenario{'s' if len(study.scenarios) != 1 else ''} {', '.join(study.scenarios)}; "
        f"polic{'ies' if len(study.policies) != 1 else 'y'} {', '.join(study.policies)}."
    )
    from .search import section as search_section

    found = search_section(db, study.metrics["experiment"].unique().tolist())
    parts = [
        *([("search", "Policy search", found)] if found else []),
        ("runs", "Runs and configurations", sections.runs(study)),
        ("metrics", "Headline metrics", sections.headline(study)),
        ("figures", "Figures", sections.plots(study)),
        ("requeues", "Requeue outcomes", sections.requeues(study)),
        ("methodology", "Methodology", methodology(study)),
    ]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return html.page(name, lead, parts, f"Generated {stamp} from {Path(db).resolve()} by notifsim.")


def write_report(
    db: str | os.PathLike,
    out: str | os.PathLike,
    *,
    experiment: str | None = None,
    run_ids: list[str] | None = None,
    level: float = 0.95,
    baseline: str | None = None,
    title: str | None = None,
) -> Path:
    """Write :func:`build_report` to ``out`` (whole or not at all: through a temporary file renamed into place); returns the path."""
    from ..errors import check_text
    from ..paths import check_creatable

    out = Path(out)
    check_creatable(out, "out", "report.html")
    if title is not None:
        check_text(title, "title")
    text = build_report(db, experiment=experiment, run_ids=run_ids, level=level, baseline=baseline, title=title)
    partial = out.with_name(f".{out.name}.partial")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        partial.replace(out)
    except BaseException as exc:  # nothing half-written, whatever stopped it
        partial.unlink(missing_ok=True)
        if isinstance(exc, OSError):  # a full disk after the check: the error names the report
            raise OSError(exc.errno, exc.strerror, str(out)) from exc
        raise
    return out
