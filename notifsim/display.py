"""How metric values are shown to people: labels and units for the CLI, Jupyter and the HTML report.

Standard library only.  Rates are fractions shown as percentages, durations
are seconds shown in the largest readable unit, counts get thousands
separators.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Metric → the label a reader sees.
LABELS = {
    "notifications": "notifications counted",
    "created": "created",
    "delivered": "delivered",
    "dead_lettered": "dead-lettered",
    "stranded": "stranded (failed, never retried)",
    "ghost_sent": "ghost-sent (sent, never delivered)",
    "duplicated": "duplicated (delivered twice+)",
    "pending": "pending at horizon",
    "retrying": "still retrying at horizon",
    "undelivered": "undelivered at horizon",
    "delivery_rate": "delivery rate",
    "undelivered_rate": "undelivered rate",
    "delivered_within_rate": "delivered within 15 min",
    "dead_letter_rate": "dead-letter rate",
    "stranded_rate": "stranded rate",
    "ghost_rate": "ghost rate",
    "duplicate_rate": "duplicate rate",
    "time_to_delivery_p50_s": "p50 time to delivery",
    "time_to_delivery_p95_s": "p95 time to delivery",
    "time_to_delivery_p99_s": "p99 time to delivery",
    "attempts": "Send calls",
    "attempts_per_notification": "Send calls per notification",
    "peak_send_rate_per_min": "peak Send calls per minute (one channel)",
}


def kind(metric: str) -> str:
    """``rate``, ``seconds``, ``ratio`` or ``count``: how a metric's values are shown."""
    if metric.endswith("_rate") or metric == "share":
        return "rate"
    if metric.endswith("_s"):
        return "seconds"
    if metric in ("attempts_per_notification", "peak_send_rate_per_min") or metric.startswith("mean_"):
        return "ratio"
    return "count"


def label(metric: str) -> str:
    """The readable name of a metric (the metric's own name when it has none)."""
    return LABELS.get(metric, metric.replace("_", " "))


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (other values as they are)."""
    return value.item() if isinstance(value, np.generic) else value


def missing(value: Any) -> bool:
    """Whether a value is absent: None, NaN, pandas' NA or NaT."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT
    except (TypeError, ValueError):  # pandas.NA refuses bool()
        return True


def fmt(value: Any, how: str, digits: int = 2) -> str:
    """``value`` as text: ``how`` is ``rate`` (a fraction → percent), ``seconds``, ``ratio`` or ``count``; ``—`` for none."""
    if missing(value):
        return "—"
    value = float(value)
    if how == "rate":
        return f"{100 * value:.{digits}f} %"
    if how == "seconds":
        magnitude = abs(value)
        if magnitude < 120:
            return f"{value:.1f} s"
        if magnitude < 7200:
            return f"{value / 60:.1f} min"
        if magnitude < 2 * 86400:
            return f"{value / 3600:.1f} h"
        return f"{value / 86400:.1f} d"
    if how == "ratio":
        return f"{value:.{digits}f}"
    if math.isfinite(value) and value == int(value):
        return f"{int(value):,}"
    return f"{value:,.1f}"


def fmt_setting(value: float) -> str:
    """A swept setting's value: whole numbers in full (10,000 and 10,001 stay apart), others below 1,000 to four
    significant digits (10 min in hours: 0.1667), larger ones as :func:`fmt` counts."""
    if not missing(value) and math.isfinite(value) and value != int(value) and abs(value) < 1000:
        return f"{value:.4g}"
    return fmt(value, "count")


def fmt_metric(metric: str, value: Any, digits: int = 2) -> str:
    """A metric's value as text, in its unit."""
    return fmt(value, kind(metric), digits)


def fmt_interval(metric: str, mean: Any, low: Any, high: Any, digits: int = 2, *, clip: bool = False) -> str:
    """``mean [low, high]`` in the metric's unit (``mean`` alone when the interval is unknown); ``clip``: the
    interval of a metric's mean, clipped to the metric's range (:func:`clip_interval`)."""
    if clip:
        low, high = clip_interval(metric, low, high)
    how = kind(metric)
    if how == "count":
        how = "ratio" if not missing(mean) and float(mean) != int(float(mean)) else "count"
    text = fmt(mean, how, digits)
    if missing(low) or missing(high):
        return text
    return f"{text} [{fmt(low, how, digits)}, {fmt(high, how, digits)}]"


def clip_interval(metric: str, low: Any, high: Any) -> tuple[float | None, float | None]:
    """An interval of a metric's mean as shown: clipped to the metric's range (rates in [0, 1], the rest >= 0;
    a t interval over few runs can reach beyond it).  None for a missing bound."""
    top = 1.0 if kind(metric) == "rate" else float("inf")
    return tuple(None if missing(v) else min(max(float(v), 0.0), top) for v in (low, high))  # type: ignore[return-value]
