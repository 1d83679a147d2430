"""The requeue funnel of a run: which notifications needed an operator, which were requeued, what that achieved.

Counted over every row of the table, the rows a run started from included:
an operator sees the whole table, and a backlog of stranded rows is exactly
what an operator script is for.  The stages nest:

* ``rescue_candidates`` = ``requeued`` + ``left_behind``;
* ``requeued`` = the sum of the outcomes of :data:`~notifsim.analysis.REQUEUE_OUTCOMES`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .requeues import REQUEUE_OUTCOMES, requeue_outcomes

#: The stages of :func:`requeue_funnel`, in order, with their meaning.
FUNNEL = {
    "rescue_candidates": "notifications an operator requeued, or that are dead or stranded at the horizon",
    "requeued": "notifications requeued at least once (requeue actions carried out)",
    **{outcome: f"requeued, then {meaning}" for outcome, meaning in REQUEUE_OUTCOMES.items()},
    "left_behind": "dead or stranded at the horizon and never requeued",
}


def requeue_funnel(notifications: pd.DataFrame, requeues: pd.DataFrame, attempts: pd.DataFrame | None = None) -> pd.Series:
    """The funnel of one run as an int64 Series indexed by the stages of :data:`FUNNEL`.

    The outcomes of the requeued notifications are those of
    :func:`~notifsim.analysis.requeue_outcomes` (exact with ``attempts``).
    """
    outcomes = requeue_outcomes(notifications, requeues, attempts)
    status = notifications["status"]
    stuck = ((status == "dead") | ((status == "failed") & notifications["next_retry_at"].isna())).fillna(False).to_numpy(bool)
    requeued = notifications["id"].isin(outcomes["notification_id"]).to_numpy(bool)
    counts = outcomes["outcome"].value_counts()
    values = {
        "rescue_candidates": int((stuck | requeued).sum()),
        "requeued": len(outcomes),
        **{outcome: int(counts.get(outcome, 0)) for outcome in REQUEUE_OUTCOMES},
        "left_behind": int((stuck & ~requeued).sum()),
    }
    return pd.Series(values, dtype="int64", name="notifications")


def funnel_shares(funnel: pd.DataFrame) -> pd.DataFrame:
    """Each stage as a share: ``requeued`` and ``left_behind`` of ``rescue_candidates``, the outcomes of ``requeued`` (float64, NaN for 0 / 0).

    ``funnel`` has the stages of :data:`FUNNEL` as columns (one row per run
    or per group, summed) — or is one run's Series.
    """
    frame = funnel.to_frame().T if isinstance(funnel, pd.Series) else funnel
    out = pd.DataFrame(index=frame.index)
    candidates = frame["rescue_candidates"].astype("float64").replace(0, np.nan)
    requeued = frame["requeued"].astype("float64").replace(0, np.nan)
    out["requeued"] = frame["requeued"] / candidates
    for outcome in REQUEUE_OUTCOMES:
        out[outcome] = frame[outcome] / requeued
    out["left_behind"] = frame["left_behind"] / candidates
    return out.astype("float64")
