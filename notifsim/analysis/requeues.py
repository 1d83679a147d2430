"""What operator requeues achieved: each requeued notification followed to the horizon.

Pure functions of a run's DataFrames (as :class:`~notifsim.result.Result`
holds them or as read back from DuckDB); see ``docs/results.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Outcomes of a requeued notification at the horizon, in report order (:func:`requeue_outcomes`).
REQUEUE_OUTCOMES = {
    "delivered": "delivered after the requeue, and never before it",
    "duplicated": "delivered after the requeue although it had been delivered before (Email quit defect, a requeued sent row)",
    "dead_again": "not delivered after the requeue; dead at the horizon",
    "stranded": "not delivered after the requeue; failed with next_retry_at NULL (as built: one failure after a requeue)",
    "pending": "not delivered after the requeue; pending, or failed and armed for a retry, at the horizon",
    "ghost": "not delivered after the requeue, yet sent (no notifier, a Teams 200 carrying a 429)",
    "read": "not delivered after the requeue; marked read",
}

_REQUEUE_COLUMNS = {
    "notification_id": "string",
    "channel": "string",
    "type": "string",
    "requeues": "int64",
    "first_requeue_at": "datetime64[us, UTC]",
    "last_requeue_at": "datetime64[us, UTC]",
    "from_status": "string",
    "retry_count_before": "Int64",
    "delivered_before": "bool",
    "attempts_after": "Int64",
    "deliveries_after": "Int64",
    "first_delivery_after": "datetime64[us, UTC]",
    "time_to_delivery_s": "float64",
    "status": "string",
    "outcome": "string",
}


def requeue_outcomes(notifications: pd.DataFrame, requeues: pd.DataFrame, attempts: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per notification an operator requeued (``requeues`` rows with action ``requeue`` and outcome ``requeued``).

    Columns: ``notification_id``, ``channel``, ``type``, ``requeues`` (how
    many times), ``first_requeue_at``, ``last_requeue_at``, ``from_status``
    and ``retry_count_before`` (of the first requeue), ``delivered_before``
    (delivered before the first requeue), ``attempts_after`` and
    ``deliveries_after`` (Send calls begun at or after the first requeue,
    and how many of them reached the recipient), ``first_delivery_after``,
    ``time_to_delivery_s`` (from the first requeue), the final ``status``
    and ``outcome`` — one of :data:`REQUEUE_OUTCOMES`: ``duplicated`` or
    ``delivered`` when a Send after the requeue delivered it (duplicated if
    it had been delivered before), otherwise by the final state:
    ``dead_again``, ``stranded``, ``pending`` (pending or still armed for a
    retry at the horizon), ``ghost`` (sent without delivery) or ``read``.

    With ``attempts`` the split before/after is exact for rows that no
    scheduler loop could send at the requeue's instant — rows that were
    dead, stranded, sent or read (a Send that begins at that very instant
    counts as after).  Without it, it is inferred from the notification's
    counters: ``delivered_before`` from ``first_delivered_at``, one delivery
    assumed before the requeue when there was one, and ``attempts_after``
    unknown (NA).
    """
    requeued = requeues[(requeues["action"] == "requeue") & (requeues["outcome"] == "requeued")]
    if requeued.empty:
        return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in _REQUEUE_COLUMNS.items()})
    requeued = requeued.sort_values("at", kind="stable")
    by_id = requeued.groupby("notification_id", sort=False)
    first = by_id.first()
    out = pd.DataFrame(
        {
            "requeues": by_id.size(),
            "first_requeue_at": first["at"],
            "last_requeue_at": by_id["at"].last(),
            "from_status": first["from_status"],
            "retry_count_before": first["retry_count_before"],
        }
    )
    out.index.name = "notification_id"
    rows = notifications.set_index("id").reindex(out.index)
    first_at = out["first_requeue_at"]
    if attempts is not None:
        mine = attempts[attempts["notification_id"].isin(out.index)]
        requeued_at = mine["notification_id"].map(first_at)
        after = mine["at"] >= requeued_at
        before_delivered = mine[~after & mine["delivered"]].groupby("notification_id").size()
        post = mine[after]
        delivered_before = before_delivered.reindex(out.index).fillna(0) > 0
        attempts_after = post.groupby("notification_id").size().reindex(out.index).fillna(0).astype("int64")
        post_delivered = post[post["delivered"]]
        deliveries_after = post_delivered.groupby("notification_id").size().reindex(out.index).fillna(0).astype("int64")
        done = post_delivered["at"] + pd.to_timedelta(post_delivered["latency_s"], unit="s")
        first_delivery_after = done.groupby(post_delivered["notification_id"]).min().reindex(out.index)
    else:
        delivered_before = (rows["first_delivered_at"] < first_at).fillna(False)
        deliveries_after = (rows["deliveries"] - delivered_before.astype("int64")).clip(lower=0)
        attempts_after = pd.Series(pd.NA, index=out.index, dtype="Int64")
        first_delivery_after = rows["first_delivered_at"].where(~delivered_before & (rows["deliveries"] > 0))
    out["delivered_before"] = delivered_before.astype(bool)
    out["attempts_after"] = attempts_after.astype("Int64")
    out["deliveries_after"] = deliveries_after.astype("Int64")
    out["first_delivery_after"] = pd.to_datetime(first_delivery_after, utc=True)
    out["time_to_delivery_s"] = (out["first_delivery_after"] - first_at).dt.total_seconds()
    status = rows["status"]
    armed = rows["next_retry_at"].notna()
    delivered_after = out["deliveries_after"] > 0
    outcome = np.select(
        [
            delivered_after & out["delivered_before"],
            delivered_after,
            status == "dead",
            (status == "failed") & ~armed,
            (status == "pending") | ((status == "failed") & armed),
            status == "sent",
            status == "read",
        ],
        ["duplicated", "delivered", "dead_again", "stranded", "pending", "ghost", "read"],
        default="pending",
    )
    out["status"] = status
    out["outcome"] = outcome
    out["channel"] = rows["channel"]
    out["type"] = rows["type"]
    out = out.reset_index()
    return out.astype(_REQUEUE_COLUMNS)[list(_REQUEUE_COLUMNS)]


def summarize_requeues(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Requeued notifications per outcome (:data:`REQUEUE_OUTCOMES` order): ``count`` (notifications), ``share``
    of them, ``requeues`` (requeue actions it took) and the median ``time_to_delivery_s`` from the first requeue."""
    order = list(REQUEUE_OUTCOMES)
    counts = outcomes["outcome"].value_counts().reindex(order, fill_value=0).astype("int64")
    total = int(counts.sum())
    share = counts / total if total else counts.astype(float) * np.nan
    actions = outcomes.groupby("outcome")["requeues"].sum().reindex(order, fill_value=0).astype("int64")
    ttd = outcomes.groupby("outcome")["time_to_delivery_s"].median().reindex(order)
    frame = pd.DataFrame({"count": counts, "share": share, "requeues": actions, "median_time_to_delivery_s": ttd})
    frame.index.name = "outcome"
    return frame
