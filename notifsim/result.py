"""The outcome of one run: its tables as DataFrames and its metadata."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd

from . import analysis, schema

#: Fields that describe the machine that ran the simulation, or are derived from the tables: left out of ``==``.
_MEASUREMENTS = ("wall_s", "created_at", "attempt_rows", "id_parts")


@dataclass(eq=False)
class Result:
    """One run's tables and metadata (columns: :mod:`notifsim.schema`, ``docs/results.md``).

    ``notifications`` holds each notification's final state with certctl's
    columns plus ``attempts``, ``deliveries``, ``first_delivered_at``,
    ``requeues`` and ``origin`` (``created`` or ``initial``); ``attempts``
    one row per Send call; ``ticks`` one row per scheduler tick;
    ``requeues`` one row per operator action; ``samples`` the status counts
    over time.  All timestamps are UTC.  ``lost_creations`` counts ``Create``
    calls that failed while the database was down (no row, no send);
    ``counters`` holds what the workload and the operator counted.

    Two results are equal (``==``) when their metadata and every table are
    equal, value for value and dtype for dtype; the wall time and the
    creation instant are measurements of the machine and are left out.
    """

    run_id: str
    scenario: str
    policy: str
    seed: int
    horizon_s: float
    start: dt.datetime
    config: dict[str, Any]
    notifications: pd.DataFrame
    attempts: pd.DataFrame
    ticks: pd.DataFrame
    requeues: pd.DataFrame
    samples: pd.DataFrame
    lost_creations: int = 0
    counters: dict[str, int] = field(default_factory=dict)
    #: Each Send call's notification as a row position of ``notifications`` (derived; spares matching ids).
    attempt_rows: Any = field(default=None, repr=False)
    #: How the ids were made (:class:`notifsim.layout.IdParts`; derived; spares parsing them when the run is stored).
    id_parts: Any = field(default=None, repr=False)
    experiment: str = ""
    label: str = ""
    replication: int = 0
    wall_s: float = 0.0
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Result):
            return NotImplemented
        for f in fields(self):
            if f.name in _MEASUREMENTS:
                continue
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, pd.DataFrame):
                if not isinstance(theirs, pd.DataFrame) or not mine.equals(theirs) or not mine.dtypes.equals(theirs.dtypes):
                    return False
            elif mine != theirs:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]  # mutable tables: not hashable

    def tables(self) -> dict[str, pd.DataFrame]:
        """The per-run tables by attribute name (``notifications``, ``attempts``, ``ticks``, ``requeues``, ``samples``)."""
        return {name: getattr(self, name) for name in schema.TABLES}

    def summary(self, *, include_initial: bool = False, within: float = analysis.WITHIN_S) -> pd.Series:
        """The run's metrics as a Series indexed by metric name (see :data:`notifsim.analysis.METRICS`)."""
        return analysis.summarize(self.notifications, self.attempts, include_initial=include_initial, within=within, attempt_rows=self.attempt_rows)

    def summary_by_channel(self, *, include_initial: bool = False, within: float = analysis.WITHIN_S) -> pd.DataFrame:
        """The same metrics per channel."""
        return analysis.summarize_by_channel(self.notifications, self.attempts, include_initial=include_initial, within=within, attempt_rows=self.attempt_rows)

    def requeue_outcomes(self) -> pd.DataFrame:
        """One row per requeued notification with what the requeue achieved (see :func:`notifsim.analysis.requeue_outcomes`)."""
        return analysis.requeue_outcomes(self.notifications, self.requeues, self.attempts)

    def requeue_summary(self) -> pd.DataFrame:
        """Requeued notifications per outcome: count, share, median time to delivery (:func:`notifsim.analysis.summarize_requeues`)."""
        return analysis.summarize_requeues(self.requeue_outcomes())

    def row(self, notification_id: str) -> pd.Series:
        """The final state of one notification."""
        match = self.notifications[self.notifications["id"] == notification_id]
        if match.empty:
            raise KeyError(notification_id)
        return match.iloc[0]

    def __repr__(self) -> str:
        return f"Result(run_id={self.run_id!r}, scenario={self.scenario!r}, policy={self.policy!r}, seed={self.seed}, notifications={len(self.notifications)})"

    def _repr_html_(self) -> str:
        """Jupyter: what ran, its metrics in their units, per channel, the backlog and the requeues; every value HTML-escaped."""
        from . import display

        esc = html.escape
        where = [f"seed {self.seed}", f"{display.fmt(self.horizon_s, 'seconds')} from {self.start:%Y-%m-%d %H:%M} UTC", f"run {self.run_id}"]
        if self.experiment or self.label:
            where.append(f"experiment {self.experiment!r}, label {self.label!r}, replication {self.replication}")
        parts = [f"<p><b>{esc(self.scenario)}</b> under <b>{esc(self.policy)}</b>: {esc('; '.join(where))}</p>"]
        summary = self.summary()
        rows = pd.DataFrame({"value": [display.fmt_metric(m, v) for m, v in summary.items()]}, index=[display.label(m) for m in summary.index])
        rows.index.name = "metric"
        parts.append(rows.to_html(escape=True))
        by_channel = self.summary_by_channel()
        if not by_channel.empty:
            columns = ["created", "delivery_rate", "undelivered_rate", "stranded_rate", "dead_letter_rate", "duplicate_rate", "time_to_delivery_p95_s"]
            shown = pd.DataFrame({display.label(c): [display.fmt_metric(c, v) for v in by_channel[c]] for c in columns}, index=by_channel.index)
            parts.append(shown.to_html(escape=True))
        initial = int((self.notifications["origin"] == "initial").sum())
        if initial:
            parts.append(
                f"<p>Started from {initial:,} backlog rows; the metrics above count the created rows "
                "(<code>summary(include_initial=True)</code> counts both).</p>"
            )
        if not self.requeues.empty:
            requeued = self.requeue_summary()
            requeued = requeued[requeued["count"] > 0]
            parts.append(f"<p>Operator actions: {len(self.requeues):,}; what the requeued notifications became:</p>")
            parts.append(requeued.to_html(escape=True))
        return "".join(parts)
