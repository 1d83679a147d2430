"""What an experiment measured: the metrics of each of its runs, read back from the results file, and
their means per configuration (the table ``notifsim sweep`` prints at the end).

The metrics are those of :meth:`notifsim.store.ResultsFile.metrics`, so
they equal ``Result.summary()`` of each run.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from ..analysis import METRICS
from ..store import open_results

#: The columns that identify a run in :func:`run_metrics`.
RUN_COLUMNS = ("run_id", "label", "replication", "seed", "scenario", "policy")

#: The metrics averaged in :func:`configuration_means` (and printed by ``notifsim sweep``).
MEAN_METRICS = ("delivery_rate", "undelivered_rate", "dead_letter_rate", "attempts_per_notification")


def run_metrics(db: str | os.PathLike, experiment: str) -> pd.DataFrame:
    """One row per run of ``experiment`` in the file ``db``: the run's identity (:data:`RUN_COLUMNS`) and
    every metric of :data:`notifsim.analysis.METRICS` (:meth:`~notifsim.store.ResultsFile.metrics`),
    ordered by label, then replication."""
    with open_results(db) as stored:
        per_run = stored.metrics(experiment)
    per_run = per_run.sort_values(["label", "replication"], kind="stable").reset_index(drop=True)
    return per_run[[*RUN_COLUMNS, *METRICS]]


def configuration_means(per_run: pd.DataFrame, order: Sequence[str] | None = None, metrics: Sequence[str] = MEAN_METRICS) -> pd.DataFrame:
    """Per configuration (indexed by label, in ``order`` when given): the number of runs and the mean over
    its replications of each of ``metrics``."""
    grouped = per_run.groupby("label", sort=order is None)
    out = grouped[list(metrics)].mean()
    out.insert(0, "runs", grouped.size())
    if order is not None:
        out = out.reindex([label for label in order if label in out.index])
    return out
