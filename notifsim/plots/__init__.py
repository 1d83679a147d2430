"""Figures of notifsim results (matplotlib; works with any backend, Agg included).

Every function takes an ``ax=`` to draw on (default: new Axes on a new
figure) and returns the Axes; all share one style and one colour per
policy, channel and status (:mod:`.style`).  They draw what the functions of
:mod:`notifsim.analysis` compute:

* :func:`status_timeline` — rows per status over time (``samples`` or ``status_over_time``);
* :func:`notifier_load` — Send calls per minute per channel, where retry storms show (``sends_per_minute``);
* :func:`delivery_cdf` — the share delivered within t, per policy (``delivery_cdf`` or ``delivery_times``);
* :func:`metric_vs_knob` — a metric against a swept setting, with interval bands (``aggregate``);
* :func:`metric_by_configuration` — a metric per configuration, with intervals (``aggregate``);
* :func:`policy_frontier` — undelivered rate against Send calls per notification (``aggregate``);
* :func:`paired_differences` — each configuration minus the baseline, with intervals (``paired``);
* :func:`requeue_funnel` — candidates, requeued, outcomes, left behind (``requeue_funnel``);
* :func:`search_history` — a policy search's objective over its evaluations, best so far (``notifsim.tune``);
* :func:`search_front` — a search's trials, its front, and every preset on the same worlds (``notifsim.tune``).
"""

from .comparisons import metric_by_configuration, metric_vs_knob, paired_differences, pareto, policy_frontier
from .distributions import delivery_cdf
from .requeues import requeue_funnel
from .search import search_front, search_history
from .style import CERTCTL, COLORS, color
from .timelines import notifier_load, status_timeline

__all__ = [
    "CERTCTL",
    "COLORS",
    "color",
    "delivery_cdf",
    "metric_by_configuration",
    "metric_vs_knob",
    "notifier_load",
    "paired_differences",
    "pareto",
    "policy_frontier",
    "requeue_funnel",
    "search_front",
    "search_history",
    "status_timeline",
]
