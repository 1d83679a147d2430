"""Analysis of results: metrics of one run (:mod:`.metrics`) and what requeues achieved (:mod:`.requeues`).

All functions are pure: they take DataFrames (a :class:`~notifsim.result.Result`'s
tables, or tables read back from a results file) and return pandas objects.
"""

from .metrics import COUNTS, METRICS, WITHIN_S, outcome_flags, peak_send_rate, summarize, summarize_by_channel, time_to_delivery_s
from .requeues import REQUEUE_OUTCOMES, requeue_outcomes, summarize_requeues

__all__ = [
    "COUNTS",
    "METRICS",
    "REQUEUE_OUTCOMES",
    "WITHIN_S",
    "outcome_flags",
    "peak_send_rate",
    "requeue_outcomes",
    "summarize",
    "summarize_by_channel",
    "summarize_requeues",
    "time_to_delivery_s",
]
