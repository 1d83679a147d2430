"""What a search optimises: one or more metrics, aggregated over the worlds, under limits on other metrics.

* ``objective``: a metric name of :data:`notifsim.analysis.METRICS` (default
  ``undelivered_rate``), or a list of them for a multi-objective search (a
  Pareto front).  Rates of good outcomes (:data:`MAXIMIZED`) are maximised,
  every other metric minimised.
* ``aggregate``: how a candidate's value in each world (the mean over the
  replications) becomes one number: ``"mean"`` over the worlds, or
  ``"worst"`` (the highest of a minimised metric, the lowest of a maximised
  one).
* ``constraints``: ``{metric: {max = x}}`` and/or ``{min = y}``, e.g.
  ``{"attempts_per_notification": {"max": 3}}``.  A limit must hold in every
  world, on the world's mean over the replications.

Send calls per notification is ``attempts_per_notification``; the peak send
rate per channel is ``peak_send_rate_per_min`` (the busiest channel-minute).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..analysis.metrics import COUNTS, METRICS
from ..errors import ConfigError, unknown_name

#: Metrics where more is better; every other metric is minimised.
MAXIMIZED = ("delivery_rate", "delivered_within_rate")

#: Metrics a search may optimise or limit: the rates, times and per-notification loads (counts depend on the world's size).
SEARCH_METRICS = tuple(m for m in METRICS if m not in COUNTS)

#: How values in several worlds become one.
AGGREGATES = ("mean", "worst")

#: The metric that breaks ties between candidates with the same objective value (fewer Send calls wins).
TIE_BREAK = "attempts_per_notification"


def check_metric(name: object, field: str) -> str:
    """``name`` if it is one of :data:`SEARCH_METRICS`, else a :class:`ConfigError` naming ``field``."""
    if not isinstance(name, str) or name not in SEARCH_METRICS:
        raise unknown_name(field, name, SEARCH_METRICS)
    return name


@dataclass(frozen=True)
class Objective:
    """The metrics optimised (each with its direction), the aggregation over worlds, and the limits."""

    metrics: tuple[str, ...]
    aggregate: str = "mean"
    limits: tuple[tuple[str, str, float], ...] = ()  # (metric, "max" | "min", bound)

    @property
    def directions(self) -> list[str]:
        """Optuna's direction of each metric."""
        return ["maximize" if m in MAXIMIZED else "minimize" for m in self.metrics]

    @property
    def multi(self) -> bool:
        return len(self.metrics) > 1

    def needed(self) -> list[str]:
        """Every metric read: the objectives, the limited ones and the tie-break."""
        names = [*self.metrics, *(m for m, _, _ in self.limits), TIE_BREAK]
        return list(dict.fromkeys(names))

    def combine(self, metric: str, per_world: Sequence[float]) -> float:
        """One metric's per-world means as one value (``aggregate``); NaN in any world counts as the worst value."""
        values = np.asarray(per_world, dtype=float)
        bad = -math.inf if metric in MAXIMIZED else math.inf
        values = np.where(np.isnan(values), bad, values)
        if self.aggregate == "mean":
            return float(values.mean())
        return float(values.min() if metric in MAXIMIZED else values.max())

    def violations(self, per_world: Mapping[str, Sequence[float]]) -> list[float]:
        """Optuna's constraint values, one per limit: the largest excess over the worlds (<= 0 when the limit holds
        in every world; a NaN value counts as a violation of 1)."""
        out = []
        for metric, side, bound in self.limits:
            values = np.asarray(per_world[metric], dtype=float)
            excess = values - bound if side == "max" else bound - values
            out.append(float(np.where(np.isnan(excess), 1.0, excess).max()))
        return out

    def describe(self) -> str:
        """One line: what is optimised, how, and under which limits."""
        goals = ", ".join(f"{d} {m}" for m, d in zip(self.metrics, self.directions))
        text = f"{goals} ({self.aggregate} over worlds)"
        if self.limits:
            text += " subject to " + ", ".join(f"{m} {'<=' if s == 'max' else '>='} {b:g}" for m, s, b in self.limits) + " in every world"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"metrics": list(self.metrics), "aggregate": self.aggregate, "limits": [list(x) for x in self.limits]}


def parse_constraints(constraints: object) -> tuple[tuple[str, str, float], ...]:
    """``{metric: {max = x, min = y}}`` as ``(metric, side, bound)`` triples."""
    if constraints is None:
        return ()
    if not isinstance(constraints, Mapping):
        raise ConfigError("constraints", f"must be a table such as {{ attempts_per_notification = {{ max = 3 }} }}; got {constraints!r}")
    out = []
    for metric, limit in constraints.items():
        check_metric(metric, "constraints")
        if not isinstance(limit, Mapping) or not limit:
            raise ConfigError(f"constraints.{metric}", f"must be a table with max and/or min, e.g. {{ max = 3 }}; got {limit!r}")
        for side, bound in limit.items():
            if side not in ("max", "min"):
                raise unknown_name(f"constraints.{metric}", side, ("max", "min"))
            if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
                raise ConfigError(f"constraints.{metric}.{side}", f"must be a number; got {bound!r}")
            out.append((metric, side, float(bound)))
        if "min" in limit and "max" in limit and limit["min"] > limit["max"]:
            raise ConfigError(f"constraints.{metric}", f"min ({limit['min']}) must not exceed max ({limit['max']}): no policy could meet it")
    return tuple(out)


def parse_objective(objective: object = "undelivered_rate", aggregate: object = "mean", constraints: object = None) -> Objective:
    """An :class:`Objective` from the user's values; :class:`ConfigError` naming the field otherwise."""
    if isinstance(objective, Objective):
        return objective
    names = [objective] if isinstance(objective, str) else objective
    if not isinstance(names, (list, tuple)) or not names:
        raise ConfigError("objective", f"must be a metric name or a list of them; allowed: {', '.join(SEARCH_METRICS)}")
    metrics = tuple(check_metric(m, "objective") for m in names)
    if len(set(metrics)) != len(metrics):
        raise ConfigError("objective", f"names a metric twice: {list(metrics)!r}")
    if aggregate not in AGGREGATES:
        raise unknown_name("aggregate", aggregate, AGGREGATES)
    return Objective(metrics, str(aggregate), parse_constraints(constraints))
