"""Metrics across replications: means with Student t intervals, and paired differences against a baseline.

Both functions take a frame with one row per run (``ResultsFile.metrics()``,
or any frame with the same columns) and return one row per group and metric.
A replication is one run; runs whose value of a metric is NaN (nothing to
count) are left out of that metric's ``n``.  The interval of a mean over *n*
runs is ``mean ± t(level, n − 1) · s / √n`` with *s* the sample standard
deviation (scipy.stats' Student t); with fewer than two runs it is unknown
(NaN).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..display import plain
from ..errors import ConfigError, unknown_name
from .metrics import METRICS

#: The columns that identify a configuration in ``ResultsFile.metrics()``: the default ``by`` of :func:`aggregate`.
CONFIGURATION = ("experiment", "scenario", "policy", "label")

#: Columns of the per-run frame that describe a run rather than measure it.
RUN_COLUMNS = ("run_id", "experiment", "label", "scenario", "policy", "replication", "seed", "horizon_s")

#: What :func:`aggregate` returns for each group and metric.
STATS = ("n", "mean", "std", "ci_low", "ci_high")

#: What :func:`paired` returns for each group, compared value and metric.
PAIRED_STATS = ("n", "baseline", "value", "difference", "std", "ci_low", "ci_high")


def check_level(level: float) -> float:
    """``level`` as a float, or ``ConfigError`` unless it lies strictly between 0 and 1."""
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ConfigError("level", f"must be a number strictly between 0 and 1, such as 0.95; got {level!r}")
    return float(level)


def _columns(frame: pd.DataFrame, names: Sequence[str] | str, field: str) -> list[str]:
    names = [names] if isinstance(names, str) else list(names)
    for name in names:
        if name not in frame.columns:
            raise unknown_name(field, name, [str(c) for c in frame.columns])
    return names


def _values(frame: pd.DataFrame, columns: Sequence[str] | None, exclude: Sequence[str]) -> list[str]:
    """The measured columns: ``columns`` as given, else the metrics present, else every numeric column that does not describe the run."""
    if columns is not None:
        names = _columns(frame, columns, "columns")
        bad = [c for c in names if not pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])]
        if bad:
            raise ConfigError("columns", f"{bad[0]!r} is not a numeric column")
        return names
    present = [m for m in METRICS if m in frame.columns and m not in exclude]
    if present:
        return present
    skip = set(RUN_COLUMNS) | set(exclude)
    return [c for c in frame.columns if c not in skip and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])]


def interval(mean: np.ndarray, std: np.ndarray, n: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` of the Student t interval of a mean over ``n`` runs with sample standard deviation ``std`` (NaN where n < 2)."""
    from scipy import stats

    level = check_level(level)
    mean, std, n = (np.asarray(x, dtype=float) for x in (mean, std, n))
    dof = np.where(n >= 2, n - 1, np.nan)
    half = stats.t.ppf(0.5 + level / 2, dof) * std / np.sqrt(np.where(n >= 1, n, np.nan))
    return mean - half, mean + half


def _summarise(groups: pd.core.groupby.DataFrameGroupBy, values: list[str], index: list[str], level: float) -> pd.DataFrame:
    """n, mean, std and the interval of every value column per group, in long form (index + ``metric``)."""
    counts = groups[values].count().stack(future_stack=True)
    means = groups[values].mean().stack(future_stack=True)
    stds = groups[values].std(ddof=1).stack(future_stack=True)
    out = pd.DataFrame({"n": counts.astype("int64"), "mean": means.astype("float64"), "std": stds.astype("float64")})
    out.index = out.index.set_names([*index, "metric"])
    out.loc[out["n"] < 2, "std"] = np.nan
    low, high = interval(out["mean"].to_numpy(), out["std"].to_numpy(), out["n"].to_numpy(), level)
    out["ci_low"], out["ci_high"] = low, high
    return out


def aggregate(metrics: pd.DataFrame, by: Sequence[str] | str = CONFIGURATION, level: float = 0.95, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean of every metric per group of runs, with its Student t interval at ``level`` (0.95: 95 %).

    ``metrics`` has one row per run; ``by`` names the columns that make a
    group (default: experiment, scenario, policy, label — one group per
    configuration, each run a replication); ``columns`` the metrics (default:
    every metric of :data:`~notifsim.analysis.METRICS` present).  Returns one
    row per group and metric, indexed by ``by`` + ``metric``, with ``n`` (runs
    with a value, int64), ``mean``, ``std`` (sample standard deviation),
    ``ci_low`` and ``ci_high`` (float64).  Groups keep the order in which they
    first appear.  ``result.xs("undelivered_rate", level="metric")`` gives one
    metric's row per group.
    """
    level = check_level(level)
    by = _columns(metrics, by, "by")
    values = _values(metrics, columns, by)
    if not by:
        raise ConfigError("by", "name at least one column to group runs by, such as 'policy'")
    groups = metrics.groupby(by, sort=False, dropna=False)
    return _summarise(groups, values, by, level)[list(STATS)]


def paired(
    metrics: pd.DataFrame,
    baseline: str,
    by: Sequence[str] | str = ("experiment", "scenario"),
    column: str = "policy",
    level: float = 0.95,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Paired differences against ``baseline``: each run minus the baseline's run of the same replication.

    Runs are matched within each group of ``by`` on ``replication`` and
    ``seed``: under common random numbers (replication r of every
    configuration on the same seed) both runs of a pair saw the same world,
    so their difference is the effect of ``column`` (default ``policy``)
    alone.  ``baseline`` is a value of ``column``.  A run without a baseline
    partner is left out.  Returns one row per group, compared value and
    metric, indexed by ``by`` + ``column`` + ``metric``: ``n`` (pairs with a
    value), the means over those pairs of the ``baseline`` and of the
    compared ``value``, their ``difference`` (value − baseline), the
    ``std`` of the paired differences and the Student t interval of the
    difference at ``level``.  Two runs of one value of ``column`` in the same
    group, replication and seed are ambiguous and refused: add the column
    that tells them apart (a swept setting) to ``by``.
    """
    level = check_level(level)
    by = _columns(metrics, by, "by")
    (column,) = _columns(metrics, [column], "column")
    if column in by:
        raise ConfigError("by", f"must not contain the compared column {column!r}")
    values = _values(metrics, columns, [*by, column])
    present = metrics[column].astype(object).tolist()
    if baseline not in present:
        raise unknown_name("baseline", baseline, sorted({str(v) for v in present}))
    key = [*by, "replication", "seed"]
    _columns(metrics, ["replication", "seed"], "metrics")
    twice = metrics.duplicated([*key, column], keep=False)
    if twice.any():
        row = metrics[twice].iloc[0]
        where = ", ".join(f"{k}={plain(row[k])!r}" for k in [*key, column])
        raise ConfigError("by", f"several runs share {where}; add the column that tells them apart (a swept setting) to by")
    base = metrics.loc[metrics[column] == baseline, [*key, *values]]
    others = metrics.loc[metrics[column] != baseline, [*key, column, *values]]
    pairs = others.merge(base, on=key, how="inner", suffixes=("", "__baseline"))
    long = []
    for name in values:
        both = pairs[name].notna() & pairs[f"{name}__baseline"].notna()
        part = pairs.loc[both, [*by, column]].copy()
        part["metric"] = name
        part["baseline"] = pairs.loc[both, f"{name}__baseline"].astype("float64")
        part["value"] = pairs.loc[both, name].astype("float64")
        long.append(part)
    stacked = pd.concat(long, ignore_index=True) if long else pd.DataFrame(columns=[*by, column, "metric", "baseline", "value"])
    stacked["difference"] = stacked["value"] - stacked["baseline"]
    index = [*by, column, "metric"]
    groups = stacked.groupby(index, sort=False, dropna=False)
    out = pd.DataFrame(
        {
            "n": groups["difference"].count().astype("int64"),
            "baseline": groups["baseline"].mean().astype("float64"),
            "value": groups["value"].mean().astype("float64"),
            "difference": groups["difference"].mean().astype("float64"),
            "std": groups["difference"].std(ddof=1).astype("float64"),
        }
    )
    out.loc[out["n"] < 2, "std"] = np.nan
    out["ci_low"], out["ci_high"] = interval(out["difference"].to_numpy(), out["std"].to_numpy(), out["n"].to_numpy(), level)
    return out[list(PAIRED_STATS)]
