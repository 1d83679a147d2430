"""What a search found: the best policy (or the Pareto front), every trial, and the comparison with the presets.

A :class:`TuneResult` is rebuilt from the Optuna study (its settings and
trials, in the journal beside the results file) and the runs in the
results file, so :func:`load_tune` gives the same result later without
running anything.
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import analysis, display
from ..errors import ConfigError, unknown_name
from ..policy import _DURATIONS, PRESETS, Policy
from ..store import open_results
from .objective import MAXIMIZED, TIE_BREAK, Objective
from .space import Dimension, candidate

#: Metrics every comparison shows, besides the objectives and the limited metrics.
SHOWN = ("undelivered_rate", "dead_letter_rate", "attempts_per_notification", "peak_send_rate_per_min", "time_to_delivery_p95_s", "duplicate_rate")

#: Where certctl sets each knob a search usually changes (for the TOML snippet's comments).
CERTCTL_SOURCE = {
    "max_attempts": "notifRetryMaxAttempts, internal/service/notification.go",
    "backoff_base": "the time.Minute base of the retry backoff, internal/service/notification.go",
    "backoff_multiplier": "the doubling of the retry backoff, internal/service/notification.go",
    "backoff_cap": "notifRetryBackoffCap, internal/service/notification.go",
    "retry_interval": "CERTCTL_NOTIFICATION_RETRY_INTERVAL",
    "process_interval": "CERTCTL_SCHEDULER_NOTIFICATION_PROCESS_INTERVAL",
    "sweep_limit": "notifRetrySweepLimit, internal/service/notification.go",
    "jitter": "none; the backoff in internal/service/notification.go has no jitter",
}

_DURATION_UNITS = ((86400, "d"), (3600, "h"), (60, "m"), (1, "s"))


def duration_text(seconds: float) -> str:
    """Seconds as notifsim parses them back: ``"5m"``, ``"90s"``, ``"1.5h"`` when whole in no larger unit."""
    for size, unit in _DURATION_UNITS:
        if seconds >= size and (seconds / size).is_integer():
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def settings_of(study: Any) -> dict[str, Any]:
    """The settings a study was started with (see :func:`notifsim.tuning.tune`)."""
    from .study import SETTINGS_KEY

    settings = study.user_attrs.get(SETTINGS_KEY)
    if settings is None:
        raise ConfigError("name", f"study {study.study_name!r} was not started by notifsim.tune")
    return dict(settings)


def objective_of(settings: dict[str, Any]) -> Objective:
    goal = settings["objective"]
    return Objective(tuple(goal["metrics"]), goal["aggregate"], tuple((m, s, float(b)) for m, s, b in goal["limits"]))


def dimensions_of(settings: dict[str, Any]) -> list[Dimension]:
    return [Dimension(**{**d, "choices": tuple(d["choices"])}) for d in settings["space"]]


def _sign(metric: str) -> float:
    return -1.0 if metric in MAXIMIZED else 1.0


def trial_table(study: Any) -> pd.DataFrame:
    """One row per finished trial: ``trial``, the knob values, ``policy``, each metric read (aggregated over
    the worlds as the objective is), ``violation`` (largest constraint excess; <= 0 when every limit holds),
    ``feasible`` and, for one objective, ``best_so_far`` (the best feasible value up to that trial)."""
    from optuna.trial import TrialState

    settings = settings_of(study)
    goal, dims = objective_of(settings), dimensions_of(settings)
    rows = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if "metrics" not in t.user_attrs:
            continue
        row: dict[str, Any] = {"trial": t.number}
        row.update({d.name: t.user_attrs["values"].get(d.name) for d in dims})
        row["policy"] = t.user_attrs["policy"]
        per_world = t.user_attrs["metrics"]
        row.update({m: goal.combine(m, per_world[m]) for m in goal.needed()})
        constraints = t.user_attrs.get("constraints", [])
        row["violation"] = max(constraints) if constraints else 0.0
        row["feasible"] = row["violation"] <= 0
        rows.append(row)
    columns = ["trial", *(d.name for d in dims), "policy", *goal.needed(), "violation", "feasible"]
    table = pd.DataFrame(rows, columns=columns)
    table["feasible"] = table["feasible"].astype(bool)
    if not goal.multi and not table.empty:
        metric = goal.metrics[0]
        signed = np.where(table["feasible"], _sign(metric) * table[metric].to_numpy(float), np.inf)
        running = np.minimum.accumulate(signed)
        table["best_so_far"] = np.where(np.isfinite(running), _sign(metric) * running, np.nan)
    return table.reset_index(drop=True)


def best_row(table: pd.DataFrame, goal: Objective) -> pd.Series | None:
    """The best feasible trial of one objective: ties go to fewer Send calls per notification, then the earlier trial."""
    feasible = table[table["feasible"]]
    if feasible.empty:
        return None
    metric = goal.metrics[0]
    key = feasible.assign(_goal=_sign(metric) * feasible[metric], _tie=feasible[TIE_BREAK])
    return feasible.loc[key.sort_values(["_goal", "_tie", "trial"]).index[0]]


def front_rows(table: pd.DataFrame, goal: Objective) -> pd.DataFrame:
    """The feasible trials no other feasible trial beats on every objective (one row per distinct policy)."""
    feasible = table[table["feasible"]].drop_duplicates("policy")
    values = np.column_stack([_sign(m) * feasible[m].to_numpy(float) for m in goal.metrics]) if len(feasible) else np.empty((0, len(goal.metrics)))
    keep = []
    for i in range(len(values)):
        dominated = np.any(np.all(values <= values[i], axis=1) & np.any(values < values[i], axis=1))
        if not dominated:
            keep.append(i)
    return feasible.iloc[keep].sort_values(list(goal.metrics))


@dataclass(repr=False)
class TuneResult:
    """A finished search: ``best`` (one objective) or ``front`` (several), the ``trials`` table, and
    ``comparison`` — every policy's mean of each metric per world with its Student t interval — for the
    best/front policies, the base and every preset run on the same worlds and seeds; ``summary`` is one row
    per policy (objectives and limited metrics over the worlds, feasibility), ``paired`` the differences
    against the base, replication by replication (common random numbers)."""

    name: str
    db: str
    experiment: str
    objective: Objective
    space: list[Dimension]
    base: Policy
    worlds: list[str]
    trials: pd.DataFrame
    best: Policy | None
    front: list[Policy]
    comparison: pd.DataFrame
    summary: pd.DataFrame
    paired: pd.DataFrame
    settings: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def policies(self) -> list[Policy]:
        """The best policy, or the policies of the front."""
        return [self.best] if self.best is not None else list(self.front)

    def changes(self, policy: Policy | None = None) -> dict[str, Any]:
        """The knobs of ``policy`` (default: the best) that differ from the base preset."""
        policy = policy or self.best
        if policy is None:
            return {}
        return _differing(policy, self.base)

    def to_toml(self, policy: Policy | None = None) -> str:
        """A policy TOML snippet: the preset the base derives from and only the knobs that differ from it (the
        search's and the base's own), each with where certctl sets it."""
        policy = policy or self.best
        if policy is None:
            return "# no policy met every constraint: nothing to recommend\n"
        root: str | None = self.base.name.split("+")[0]
        root = root if root in PRESETS else None
        reference = Policy.preset(root) if root else Policy()
        lines = [f"# {self.objective.describe()}", f'name = "{self.name}-best"'] + ([f'preset = "{root}"'] if root else [])
        for knob, value in _differing(policy, reference).items():
            if knob in _DURATIONS:
                text = f'"{duration_text(float(value))}"'
            elif isinstance(value, str):
                text = json.dumps(value)
            elif isinstance(value, bool):
                text = str(value).lower()
            else:
                text = f"{value:g}" if isinstance(value, float) else str(value)
            where = CERTCTL_SOURCE.get(knob)
            lines.append(f"{knob} = {text}" + (f"  # certctl: {where}" if where else ""))
        return "\n".join(lines) + "\n"

    def run_ids(self) -> list[str]:
        """The run ids of the best policy (or the front) and of the base and presets, in the results file."""
        names = list(self.summary.index)
        with open_results(self.db) as stored:
            runs = stored.sql("SELECT run_id, policy FROM runs WHERE experiment = ? ORDER BY label, replication", [self.experiment])
        return runs.loc[runs["policy"].isin(names), "run_id"].tolist()

    def best_metrics(self) -> pd.DataFrame:
        """The best policy's (or the front's) mean and interval of each shown metric, per world."""
        names = [p.name for p in self.policies]
        return self.comparison[self.comparison["policy"].isin(names)].reset_index(drop=True)

    def text(self) -> str:
        """A plain-text report: the result, its metrics with intervals per world, the comparison, the TOML snippet."""
        lines = [f"tune {self.name!r}: {self.objective.describe()}", f"worlds: {', '.join(self.worlds)}; {len(self.trials)} trials"]
        if not self.policies:
            lines.append("no trial met every constraint")
        for k, policy in enumerate(self.policies, start=1):
            changed = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.changes(policy).items()) or "(the base preset)"
            lines.append(f"\n{'best' if self.best is not None else f'front {k}'}: {changed}")
            mine = self.comparison[self.comparison["policy"] == policy.name]
            lines += [
                f"  {row.world:<28} {display.label(row.metric):<42} {display.fmt_interval(row.metric, row.mean, row.ci_low, row.ci_high, clip=True)}"
                for row in mine.itertuples(index=False)
            ]
        if not self.summary.empty:
            lines.append("\ncompared on the same worlds and seeds (" + self.objective.aggregate + " over worlds):")
            lines.append(_plain_table(self.summary))
        lines.append("\n" + self.to_toml())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        found = f"best={self.best.name!r}" if self.best is not None else f"front={len(self.front)} policies"
        return f"TuneResult(name={self.name!r}, db={self.db!r}, trials={len(self.trials)}, {found})"

    def _repr_html_(self) -> str:
        head = f"<p><b>tune {html.escape(self.name)}</b>: {html.escape(self.objective.describe())}; {len(self.trials)} trials</p>"
        shown = self.summary.copy()
        for metric in [c for c in shown.columns if c in analysis.METRICS]:
            shown[metric] = [display.fmt_metric(metric, v) for v in shown[metric]]
        return head + shown.to_html(escape=True) + f"<pre>{html.escape(self.to_toml())}</pre>"


def _plain_table(summary: pd.DataFrame) -> str:
    """The summary as text, a searched policy named by its role (``best``, ``front 1``, ...: full names are long)."""
    shown = summary.copy()
    names, fronts = [], 0
    for name, role in zip(shown.index, shown["role"]):
        if role == "front":
            fronts += 1
        names.append("best" if role == "best" else f"front {fronts}" if role == "front" else str(name))
    shown.index = pd.Index(names, name="policy")
    for metric in [c for c in shown.columns if c in analysis.METRICS]:
        shown[metric] = [display.fmt_metric(metric, v) for v in shown[metric]]
    return shown.to_string()


def _comparison(per_run: pd.DataFrame, names: list[str], goal: Objective) -> pd.DataFrame:
    columns = list(dict.fromkeys([*goal.needed(), *SHOWN]))
    runs = per_run[per_run["policy"].isin(names)]
    if runs.empty:
        return pd.DataFrame(columns=["policy", "world", "metric", *analysis.STATS])
    out = analysis.aggregate(runs, by=["policy", "scenario"], columns=columns).reset_index().rename(columns={"scenario": "world"})
    return out


def _summary(comparison: pd.DataFrame, goal: Objective, worlds: list[str], roles: dict[str, str]) -> pd.DataFrame:
    rows = []
    for policy, part in comparison.groupby("policy", sort=False):
        means = part.pivot(index="world", columns="metric", values="mean")
        if set(worlds) - set(means.index):
            continue
        means = means.loc[worlds]
        per_world = {m: means[m].tolist() for m in means.columns}
        row: dict[str, Any] = {"policy": policy, "role": roles.get(str(policy), "preset")}
        row.update({m: goal.combine(m, per_world[m]) for m in goal.needed()})
        violations = goal.violations(per_world)
        row["feasible"] = not violations or max(violations) <= 0
        rows.append(row)
    table = pd.DataFrame(rows, columns=["policy", "role", *goal.needed(), "feasible"])
    if table.empty:
        return table.set_index("policy")
    metric = goal.metrics[0]
    table = table.assign(_key=_sign(metric) * table[metric]).sort_values(["feasible", "_key"], ascending=[False, True]).drop(columns="_key")
    return table.set_index("policy")


def build_result(study: Any, db: str | os.PathLike) -> TuneResult:
    """The :class:`TuneResult` of a study whose runs are in ``db``."""
    settings = settings_of(study)
    goal, dims = objective_of(settings), dimensions_of(settings)
    base = Policy.from_dict(dict(settings["base"]))
    table = trial_table(study)
    best: Policy | None = None
    front: list[Policy] = []
    if goal.multi:
        front = [candidate(base, {d.name: display.plain(row[d.name]) for d in dims}) for _, row in front_rows(table, goal).iterrows()]
    else:
        row = best_row(table, goal)
        best = None if row is None else candidate(base, {d.name: display.plain(row[d.name]) for d in dims})
    chosen = [best] if best is not None else front
    roles = {**dict.fromkeys(PRESETS, "preset"), base.name: "base", **{p.name: "best" if best is not None else "front" for p in chosen}}
    names = list(dict.fromkeys([*(p.name for p in chosen), base.name, *PRESETS]))
    with open_results(db) as stored:
        per_run = stored.metrics(settings["experiment"])
    worlds = list(settings["worlds"])
    comparison = _comparison(per_run, names, goal)
    runs = per_run[per_run["policy"].isin(names)]
    paired = pd.DataFrame()
    if base.name in set(runs["policy"]) and runs["policy"].nunique() > 1:
        paired = analysis.paired(runs, baseline=base.name, by=["scenario"], column="policy", columns=list(goal.needed()))
    return TuneResult(
        name=study.study_name,
        db=str(db),
        experiment=settings["experiment"],
        objective=goal,
        space=dims,
        base=base,
        worlds=worlds,
        trials=table,
        best=best,
        front=front,
        comparison=comparison,
        summary=_summary(comparison, goal, worlds, roles),
        paired=paired,
        settings=settings,
    )


def tune_names(db: str | os.PathLike) -> list[str]:
    """The names of the tunes whose study is in the journal beside ``db`` (none when there is no journal)."""
    from .study import journal_path, open_storage

    if not journal_path(db).exists():
        return []
    import optuna

    return [s.study_name for s in optuna.get_all_study_summaries(open_storage(db))]


def load_tune(db: str | os.PathLike, name: str = "tune") -> TuneResult:
    """The result of the tune ``name`` whose runs are in ``db`` (nothing is run)."""
    from .study import open_storage

    names = tune_names(db)
    if name not in names:
        raise unknown_name("name", name, names or ["(no tune in this file)"])
    import optuna

    return build_result(optuna.load_study(study_name=name, storage=open_storage(db)), db)


def _differing(policy: Policy, reference: Policy) -> dict[str, Any]:
    """The fields of ``policy`` (name and description aside) whose values differ from ``reference``'s."""
    mine, theirs = policy.to_dict(), reference.to_dict()
    return {k: v for k, v in mine.items() if k not in ("name", "description") and v != theirs[k]}
