"""What an experiment measured: the metrics of each of its runs, read back from the results file, and
their means per configuration (the table ``notifsim sweep`` prints at the end).

The metrics are :func:`notifsim.analysis.summarize`'s, computed on the
tables as stored, so they equal ``Result.summary()`` of each run.  The
tables are read for all runs of the experiment at once (two queries), not
run by run.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..analysis import METRICS, summarize
from ..store import open_results

#: The columns that identify a run in :func:`run_metrics`.
RUN_COLUMNS = ("run_id", "label", "replication", "seed", "scenario", "policy")

#: The metrics averaged in :func:`configuration_means` (and printed by ``notifsim sweep``).
MEAN_METRICS = ("delivery_rate", "undelivered_rate", "dead_letter_rate", "attempts_per_notification")

_NOTIFICATION_COLUMNS = "run_id, id, channel, status, next_retry_at, deliveries, first_delivered_at, created_at, origin"


def run_metrics(db: str | os.PathLike, experiment: str) -> pd.DataFrame:
    """One row per run of ``experiment`` in the file ``db``: the run's identity (:data:`RUN_COLUMNS`) and
    every metric of :data:`notifsim.analysis.METRICS`, ordered by label, then replication."""
    where = "run_id IN (SELECT run_id FROM runs WHERE experiment = ?)"
    with open_results(db) as stored:
        runs = stored.sql(f"SELECT {', '.join(RUN_COLUMNS)} FROM runs WHERE experiment = ? ORDER BY label, replication", [experiment])
        notes = stored.sql(f"SELECT {_NOTIFICATION_COLUMNS} FROM notification_events WHERE {where}", [experiment])
        attempts = stored.sql(f'SELECT run_id, notification_id, "at" FROM attempts WHERE {where}', [experiment])
    note_rows = notes.groupby("run_id", sort=False).indices
    attempt_rows = attempts.groupby("run_id", sort=False).indices
    empty = np.empty(0, dtype=np.int64)
    values = np.empty((len(runs), len(METRICS)))
    for i, rid in enumerate(runs["run_id"]):
        mine = notes.iloc[note_rows.get(rid, empty)]
        theirs = attempts.iloc[attempt_rows.get(rid, empty)]
        values[i] = summarize(mine, theirs).to_numpy()
    metrics = pd.DataFrame(values, columns=list(METRICS), index=runs.index)
    out = pd.concat([runs, metrics], axis=1)
    out["replication"] = out["replication"].astype("int64")
    out["seed"] = out["seed"].astype("int64")
    return out


def configuration_means(per_run: pd.DataFrame, order: Sequence[str] | None = None, metrics: Sequence[str] = MEAN_METRICS) -> pd.DataFrame:
    """Per configuration (indexed by label, in ``order`` when given): the number of runs and the mean over
    its replications of each of ``metrics``."""
    grouped = per_run.groupby("label", sort=order is None)
    out = grouped[list(metrics)].mean()
    out.insert(0, "runs", grouped.size())
    if order is not None:
        out = out.reindex([label for label in order if label in out.index])
    return out
