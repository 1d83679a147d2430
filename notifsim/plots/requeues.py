"""The requeue funnel as bars: which notifications needed an operator, which were requeued, and what became of them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..analysis import FUNNEL, REQUEUE_OUTCOMES
from ..errors import ConfigError
from .style import axes, color, finish, styled

#: The bar labels of the funnel's stages.
STAGE_LABELS = {
    "rescue_candidates": "rescue candidates",
    "requeued": "requeued",
    **{outcome: f"→ {outcome.replace('_', ' ')}" for outcome in REQUEUE_OUTCOMES},
    "left_behind": "left behind",
}


@styled
def requeue_funnel(funnel: pd.Series | pd.DataFrame, ax: Any = None, *, title: str | None = None, skip_empty: bool = True) -> Any:
    """The stages of :data:`notifsim.analysis.FUNNEL` as horizontal bars, top to bottom, with their counts.

    ``funnel`` is one run's :func:`notifsim.analysis.requeue_funnel` (a
    Series), or a frame with the stages as columns and one row per group (a
    sum or mean over runs), drawn side by side and named by the index (a
    policy name takes the policy's colour).  Outcomes no group reached are
    left out unless ``skip_empty`` is False.  Returns the Axes.
    """
    frame = funnel.to_frame().T if isinstance(funnel, pd.Series) else funnel
    missing = [s for s in FUNNEL if s not in frame.columns]
    if missing:
        raise ConfigError("funnel", f"needs the funnel's stages as columns; missing {', '.join(missing)}")
    stages = [s for s in FUNNEL if not (skip_empty and s in REQUEUE_OUTCOMES and not (frame[s] > 0).any())]
    ax = axes(ax, (7.0, 0.8 + 0.3 * len(stages) * max(1, len(frame)) ** 0.5))
    y = np.arange(len(stages))[::-1].astype(float)
    height = 0.8 / len(frame)
    single = len(frame) == 1
    top = float(frame[stages].to_numpy(float).max()) if len(frame) else 0.0
    for k, (name, row) in enumerate(frame.iterrows()):
        offset = (len(frame) - 1) / 2 * height - k * height
        values = row[stages].to_numpy(float)
        bar_color = (
            ["#0072B2" if s in ("rescue_candidates", "requeued") else "#7F7F7F" if s == "left_behind" else "#009E73" for s in stages] if single else color(name)
        )
        ax.barh(y + offset, values, height=height * 0.9, color=bar_color, label=None if single else str(name))
        for yy, value in zip(y + offset, values):
            text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
            ax.annotate(text, (value, yy), xytext=(3, 0), textcoords="offset points", va="center", fontsize=7.5)
    ax.set_yticks(y, [STAGE_LABELS[s] for s in stages])
    ax.set_xlim(0, max(top, 1.0) * 1.12)
    ax.set_xlabel("notifications")
    return finish(ax, title, legend=not single)
