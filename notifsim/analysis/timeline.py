"""Status counts over time: the ``samples`` table of one run, or the mean over the runs of each configuration.

``failed`` rows are split into ``retrying`` (armed: ``next_retry_at`` set)
and ``stranded`` (never to be retried), which is what a reader of a timeline
wants to tell apart.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..certctl import STATUSES
from ..errors import ConfigError
from .aggregate import CONFIGURATION, _columns

#: The count columns of :func:`status_over_time`, in order.
TIMELINE_COLUMNS = ("pending", "sent", "failed", "retrying", "stranded", "dead", "read")


def _elapsed_h(at: pd.Series, run: pd.Series | None) -> np.ndarray:
    """Hours since each run's first sample (the run's start: samples are taken from 0 on)."""
    micros = at.to_numpy(dtype="datetime64[us]").view(np.int64)
    if run is None:
        first = micros.min() if len(micros) else 0
    else:
        first = pd.Series(micros, index=at.index).groupby(run.to_numpy()).transform("min").to_numpy()
    return (micros - first) / 3.6e9


def status_over_time(samples: pd.DataFrame, runs: pd.DataFrame | None = None, by: Sequence[str] | str = CONFIGURATION) -> pd.DataFrame:
    """Status counts over time, with ``elapsed_h`` (hours since the start) and ``retrying`` = ``failed`` − ``stranded``.

    One run's ``samples`` (no ``run_id`` column) come back one row per
    sample, with ``at``.  Samples of several runs (``ResultsFile.table("samples")``,
    with ``run_id``) need ``runs`` (one row per run with ``run_id`` and the
    ``by`` columns, such as ``ResultsFile.metrics()``): they come back as the
    mean count per group of ``by`` and sample instant, with ``runs`` (how
    many runs had a sample then); samples of runs not in ``runs`` are left
    out.  Counts are float64 means for groups,
    int64 for one run.
    """
    missing = [c for c in ("at", *STATUSES, "stranded") if c not in samples.columns]
    if missing:
        raise ConfigError("samples", f"needs the columns of a samples table; missing {', '.join(missing)}")
    counts = samples[list(STATUSES)].copy()
    counts["stranded"] = samples["stranded"]
    counts["retrying"] = samples["failed"] - samples["stranded"]
    counts = counts[list(TIMELINE_COLUMNS)]
    if "run_id" not in samples.columns:
        out = pd.concat([samples[["at"]], pd.Series(_elapsed_h(samples["at"], None), index=samples.index, name="elapsed_h"), counts], axis=1)
        return out.reset_index(drop=True)
    if runs is None:
        raise ConfigError("runs", "samples of several runs need the runs frame (run_id and the by columns) to group them")
    by = _columns(runs, by, "by")
    _columns(runs, ["run_id"], "runs")
    info = runs.drop_duplicates("run_id").set_index("run_id")[by]
    mine = samples["run_id"].isin(info.index).to_numpy()  # the runs frame chooses the runs
    picked = samples[mine].reset_index(drop=True)
    frame = pd.concat([info.reindex(picked["run_id"].to_numpy()).reset_index(drop=True), counts[mine].reset_index(drop=True)], axis=1)
    frame["elapsed_h"] = _elapsed_h(picked["at"], picked["run_id"])
    groups = frame.groupby([*by, "elapsed_h"], sort=False, dropna=False)
    out = groups[list(TIMELINE_COLUMNS)].mean().astype("float64")
    out.insert(0, "runs", groups.size().astype("int64"))
    return _order(out.reset_index(), by)


def _order(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Groups in order of first appearance, each by elapsed time."""
    first = frame.groupby(by, sort=False, dropna=False).ngroup() if by else 0
    return frame.assign(_group=first).sort_values(["_group", "elapsed_h"], kind="stable").drop(columns="_group").reset_index(drop=True)
