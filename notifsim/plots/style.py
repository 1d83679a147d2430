"""One look for every notifsim figure: colours that stay with a policy, channel or status, and the axes' style.

The certctl profiles keep their colours everywhere (as built: vermillion,
as designed: blue); the other presets, channels and statuses get fixed
colours from a colour-blind-safe palette (Okabe and Ito), and any other name
a stable colour of its own.  Every plotting function draws inside
:func:`styled` and finishes its Axes with :func:`finish`, so a figure looks
the same whether the Axes came from the caller or not.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable
from typing import Any, TypeVar, cast

#: Fixed colours: policy presets, channels, notification statuses.
COLORS = {
    # policies
    "certctl-asbuilt": "#D55E00",
    "certctl-i005": "#0072B2",
    "sidekiq": "#009E73",
    "sqs": "#E69F00",
    "pubsub": "#CC79A7",
    "celery": "#56B4E9",
    "grpc": "#000000",
    "aws-sdk-standard": "#8C564B",
    "svix": "#7F7F7F",
    "k8s-crashloop": "#A6A61D",
    # channels
    "Email": "#0072B2",
    "Slack": "#CC79A7",
    "Webhook": "#E69F00",
    "Teams": "#56B4E9",
    "PagerDuty": "#009E73",
    "OpsGenie": "#8C564B",
    # statuses (and the split of failed)
    "sent": "#009E73",
    "pending": "#7F7F7F",
    "failed": "#E69F00",
    "retrying": "#E69F00",
    "stranded": "#D55E00",
    "dead": "#000000",
    "read": "#CC79A7",
}

#: Colours for names without a fixed one, picked by a hash of the name.
EXTRA = ("#1B9E77", "#7570B3", "#E7298A", "#66A61E", "#E6AB02", "#A6761D", "#666666", "#1F78B4", "#B2DF8A", "#FB9A99")

#: The certctl profiles, marked apart in comparisons.
CERTCTL = ("certctl-asbuilt", "certctl-i005")

#: matplotlib settings every notifsim figure is drawn with.
RC = {
    "figure.figsize": (7.0, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 110,
    "savefig.bbox": "tight",
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 9.5,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
}

F = TypeVar("F", bound=Callable[..., Any])


def color(name: object) -> str:
    """The colour of a policy, channel, status or any other name (the same on every figure)."""
    key = str(name)
    if key in COLORS:
        return COLORS[key]
    return EXTRA[zlib.crc32(key.encode()) % len(EXTRA)]  # a derived policy ("svix+max_attempts=3") gets its own, not its preset's


def rc() -> dict[str, Any]:
    """The rc settings of :data:`RC`, with the colour cycle filled in."""
    from cycler import cycler

    return {**RC, "axes.prop_cycle": cycler(color=list(EXTRA))}


def styled(function: F) -> F:
    """Run a plotting function inside notifsim's rc settings."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import matplotlib as mpl

        with mpl.rc_context(cast(Any, rc())):
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def axes(ax: Any, figsize: tuple[float, float] | None = None) -> Any:
    """``ax`` itself, or new Axes on a new figure (pyplot, so a notebook shows it; any backend, Agg included)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=figsize or RC["figure.figsize"], layout="constrained")
    return new


def finish(ax: Any, title: str | None = None, legend: bool = True) -> Any:
    """The common finish: light grid, no top and right spines, a title, a legend when something is labelled."""
    ax.grid(True, alpha=0.3, linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, loc="left")
    if legend:
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            ax.legend(handles, labels, loc="best")
    return ax


def percent_axis(axis: Any, digits: int | None = None) -> None:
    """Show fractions on ``axis`` (``ax.yaxis`` or ``ax.xaxis``) as percentages."""
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(1.0, decimals=digits))


#: Tick positions and labels for a time axis in seconds on a log scale.
TIME_TICKS = (
    (0.1, "0.1 s"),
    (1.0, "1 s"),
    (10.0, "10 s"),
    (60.0, "1 min"),
    (900.0, "15 min"),
    (3600.0, "1 h"),
    (6 * 3600.0, "6 h"),
    (86400.0, "1 d"),
    (7 * 86400.0, "7 d"),
)


def seconds_axis(axis: Any, low: float, high: float) -> None:
    """Readable ticks (1 s, 1 min, 15 min, 1 h, 1 d, ...) on a log-scaled axis of seconds between ``low`` and ``high``."""
    from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

    ticks = [(v, t) for v, t in TIME_TICKS if low <= v <= high] or [(low, f"{low:g} s"), (high, f"{high:g} s")]
    axis.set_major_locator(FixedLocator([v for v, _ in ticks]))
    axis.set_major_formatter(FixedFormatter([t for _, t in ticks]))
    axis.set_minor_locator(NullLocator())
