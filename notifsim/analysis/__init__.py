"""Analysis of results, one concept per module.

* :mod:`.metrics` — the metrics of one run (``Result.summary()``);
* :mod:`.requeues` — what each operator requeue achieved;
* :mod:`.funnel` — the requeue funnel: candidates, requeued, outcomes, left behind;
* :mod:`.aggregate` — across runs: means with Student t intervals, paired differences;
* :mod:`.settings` — runs' configurations as flat settings, and the knobs a sweep varied;
* :mod:`.timeline` — status counts over time;
* :mod:`.load` — Send calls per minute per channel;
* :mod:`.delivery` — time-to-delivery distributions.

All functions are pure: they take DataFrames (a :class:`~notifsim.result.Result`'s
tables, tables read back from a results file, or ``ResultsFile.metrics()``)
and return pandas objects.  ``docs/analysis.md`` describes them.
"""

from .aggregate import CONFIGURATION, PAIRED_STATS, RUN_COLUMNS, STATS, aggregate, interval, paired
from .delivery import delivery_cdf, delivery_times
from .funnel import FUNNEL, funnel_shares, requeue_funnel
from .load import sends_per_minute
from .metrics import COUNTS, METRICS, WITHIN_S, outcome_flags, peak_send_rate, summarize, summarize_by_channel, time_to_delivery_s
from .requeues import REQUEUE_OUTCOMES, requeue_outcomes, summarize_requeues
from .settings import flatten, knobs, settings, varying
from .timeline import TIMELINE_COLUMNS, status_over_time

__all__ = [
    "CONFIGURATION",
    "COUNTS",
    "FUNNEL",
    "METRICS",
    "PAIRED_STATS",
    "REQUEUE_OUTCOMES",
    "RUN_COLUMNS",
    "STATS",
    "TIMELINE_COLUMNS",
    "WITHIN_S",
    "aggregate",
    "delivery_cdf",
    "delivery_times",
    "flatten",
    "funnel_shares",
    "interval",
    "knobs",
    "outcome_flags",
    "paired",
    "peak_send_rate",
    "requeue_funnel",
    "requeue_outcomes",
    "sends_per_minute",
    "settings",
    "status_over_time",
    "summarize",
    "summarize_by_channel",
    "summarize_requeues",
    "time_to_delivery_s",
    "varying",
]
