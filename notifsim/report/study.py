"""What the report is about: the chosen runs of a results file, gathered once — metrics, groups, intervals, knobs, funnel."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import analysis
from ..analysis.aggregate import check_level
from ..errors import ConfigError
from ..store import ResultsFile

#: Fields of a scenario's description whose values are seconds.
DURATION_FIELDS = {"windows", "mean_up", "mean_down", "every", "first_at", "min_delay", "deadline", "latency", "median", "p99"}

#: The baseline of paired differences, in order of preference, when none is given.
BASELINES = ("certctl-i005", "certctl-asbuilt")


@dataclass
class Study:
    """The runs a report covers and everything computed from them once."""

    path: Path
    level: float
    metrics: pd.DataFrame  # one row per run: run columns, the knob (if any), every metric
    by: list[str]  # the columns that make a configuration
    aggregated: pd.DataFrame  # analysis.aggregate(metrics, by)
    funnel: pd.DataFrame  # one row per run, in the metrics' order: run_id, the ``by`` columns and the funnel stages
    settings: pd.DataFrame  # the settings that differ between runs, by run_id
    backlog: pd.Series  # rows each run started from, by run_id
    versions: list[str]
    knob: str | None = None
    knob_label: str = ""
    knob_scale: float = 1.0
    baseline: str | None = None
    paired: pd.DataFrame | None = None
    paired_note: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def configurations(self) -> pd.DataFrame:
        """One row per configuration (the ``by`` columns), in order of appearance, with its runs."""
        return self.metrics.groupby(self.by, sort=False, dropna=False).agg(runs=("run_id", "size")).reset_index()

    @property
    def scenarios(self) -> list[str]:
        return list(dict.fromkeys(self.metrics["scenario"].astype(str)))

    @property
    def policies(self) -> list[str]:
        return list(dict.fromkeys(self.metrics["policy"].astype(str)))

    def common_random_numbers(self) -> bool | None:
        """True when replication r of every configuration ran on one seed (None with one configuration)."""
        if len(self.configurations) < 2:
            return None
        seeds = self.metrics.groupby(["experiment", "replication"])["seed"].nunique()
        return bool((seeds == 1).all())


def describe_knob(path: str, values: pd.Series) -> tuple[str, float]:
    """A readable name for a setting path and the factor its values are drawn with (seconds → minutes or hours)."""
    parts = path.split(".")
    label = " ".join(p for p in parts if p not in ("scenario", "channels", "models"))
    if "windows" in parts and parts[-1] in ("0", "1"):
        channel = parts[parts.index("channels") + 1] if "channels" in parts else ""
        label = f"{channel} outage {'length' if parts[-1] == '1' else 'start'}".strip()
    if not any(p in DURATION_FIELDS for p in parts):
        return label, 1.0
    top = float(values.abs().max()) if len(values) else 0.0
    if top >= 2 * 3600:
        return f"{label} (h)", 1 / 3600
    if top >= 120:
        return f"{label} (min)", 1 / 60
    return f"{label} (s)", 1.0


def gather(
    path: str | os.PathLike, *, experiment: str | None = None, run_ids: list[str] | None = None, level: float = 0.95, baseline: str | None = None
) -> Study:
    """Read and compute everything the report shows; ``ConfigError`` when the selection holds no runs."""
    check_level(level)  # before anything is read
    with ResultsFile(path) as stored:
        metrics = stored.metrics(experiment, run_ids=run_ids)
        if metrics.empty:
            raise ConfigError("db", f"{str(path)!r} holds no runs" + (f" of experiment {experiment!r}" if experiment is not None else ""))
        configs = stored.sql("SELECT run_id, config FROM runs WHERE run_id IN (SELECT unnest(?))", [metrics["run_id"].tolist()]).set_index("run_id")["config"]
        metrics, repeated = _latest_of_repeats(metrics, configs)
        ids = metrics["run_id"].tolist()
        funnel = stored.requeue_funnel(run_ids=ids)
        settings = analysis.varying(analysis.settings(configs.reindex(ids))).rename_axis("run_id")  # as ResultsFile.settings
        backlog = stored.sql(
            "SELECT run_id, count(*) FILTER (WHERE origin = 'initial') AS rows FROM notification_events WHERE run_id IN (SELECT unnest(?)) GROUP BY run_id",
            [ids],
        ).set_index("run_id")["rows"]
        versions = sorted(stored.sql("SELECT DISTINCT notifsim_version FROM runs WHERE run_id IN (SELECT unnest(?))", [ids])["notifsim_version"].astype(str))
    knobs = analysis.knobs(settings.reset_index(drop=True)) if len(settings.columns) else []
    knobs = [k for k in knobs if _swept(metrics, settings[k])]  # not what merely tells unrelated scenarios apart
    by = list(analysis.CONFIGURATION)
    study_knob, label, scale = None, "", 1.0
    if knobs:
        study_knob = knobs[0]
        metrics = metrics.assign(**{study_knob: settings[study_knob].reindex(metrics["run_id"]).to_numpy()})
        metrics = _worlds_as_one_scenario(metrics, study_knob)
        by.append(study_knob)
        label, scale = describe_knob(study_knob, metrics[study_knob])
    metrics = _reading_order(metrics, study_knob)
    funnel = metrics[["run_id", *by]].merge(funnel[["run_id", *analysis.FUNNEL]], on="run_id")  # grouped and ordered as the metrics
    aggregated = analysis.aggregate(metrics, by=by, level=level)
    study = Study(
        path=Path(path),
        level=level,
        metrics=metrics,
        by=by,
        aggregated=aggregated,
        funnel=funnel,
        settings=settings,
        backlog=backlog.reindex(ids).fillna(0).astype("int64"),
        versions=versions,
        knob=study_knob,
        knob_label=label,
        knob_scale=scale,
    )
    if repeated:
        study.notes.append(
            f"{repeated} run{'s' if repeated > 1 else ''} repeated an earlier run exactly (same configuration, seed and horizon, so the "
            "same tables): only the latest of each is shown, as a repeat is not a replication."
        )
    if len(knobs) > 1:
        study.notes.append(f"Other scenario settings also differ between runs ({', '.join(knobs[1:])}); figures follow {study_knob} only.")
    _pair(study, baseline)
    return study


def _latest_of_repeats(metrics: pd.DataFrame, configs: pd.Series) -> tuple[pd.DataFrame, int]:
    """The runs without exact repeats — the same names, replication, seed, horizon, stored configuration and
    metrics: a command run twice into one file — keeping the latest of each (runs come in the order they were
    stored); and how many went.  A run whose scenario file or backlog was edited in between is kept."""
    names = ["experiment", "scenario", "policy", "label", "replication", "seed", "horizon_s"]
    measured = [c for c in metrics.columns if c not in names and c != "run_id" and pd.api.types.is_numeric_dtype(metrics[c])]
    keyed = metrics.assign(_config=configs.reindex(metrics["run_id"]).astype(str).to_numpy())
    repeat = keyed.duplicated([*names, "_config", *measured], keep="last")
    return (metrics[~repeat].reset_index(drop=True), int(repeat.sum())) if repeat.any() else (metrics, 0)


def _family(scenarios: pd.Series) -> pd.Series:
    """The scenario each run's world varies (``slack-outage`` for the sweep variant ``slack-outage+outage 2h``)."""
    return scenarios.astype(str).str.split("+", n=1).str[0]


def _swept(metrics: pd.DataFrame, values: pd.Series) -> bool:
    """Whether a setting (``values`` by run id) takes several values within one scenario and its sweep variants:
    a swept setting, not one that only differs between unrelated scenarios."""
    per_run = pd.Series(values.reindex(metrics["run_id"]).to_numpy(), index=metrics.index)
    return bool(per_run.groupby(_family(metrics["scenario"])).nunique().gt(1).any())


def _worlds_as_one_scenario(metrics: pd.DataFrame, knob: str) -> pd.DataFrame:
    """A sweep's world variants (``slack-outage+outage 2h``, one per value of the knob) drawn as one scenario
    (``slack-outage``) against the knob — when the knob's value alone tells the variants of each scenario apart."""
    family = _family(metrics["scenario"])
    if family.equals(metrics["scenario"].astype(str)):
        return metrics
    variants = metrics.assign(_family=family).groupby(["experiment", "_family", knob], dropna=False)["scenario"].nunique()
    if (variants > 1).any():  # two variants at one knob value: they differ in something else, keep them apart
        return metrics
    return metrics.assign(scenario=family.to_numpy())


def _reading_order(metrics: pd.DataFrame, knob: str | None) -> pd.DataFrame:
    """Runs in an order that does not depend on the order parallel workers stored them: experiment and scenario
    by name, the knob ascending, the certctl profiles before the other policies (by name), then by label and
    replication."""

    def ranked(column: str, first: tuple[str, ...] = ()) -> pd.Series:
        values = metrics[column].astype(str)
        present = set(values)
        order = [v for v in first if v in present] + sorted(present - set(first))
        return values.map({v: i for i, v in enumerate(order)})

    keys = pd.DataFrame(
        {
            "experiment": ranked("experiment"),
            "scenario": ranked("scenario"),
            "knob": metrics[knob] if knob is not None else 0,
            "policy": ranked("policy", BASELINES[::-1]),
            "label": metrics["label"].astype(str),
            "replication": metrics["replication"],
        },
        index=metrics.index,
    )
    order = keys.sort_values(list(keys.columns), kind="stable").index
    return metrics.loc[order].reset_index(drop=True)


def _pair(study: Study, baseline: str | None) -> None:
    """Paired differences against the baseline policy, when the runs allow them."""
    policies = study.policies
    if baseline is not None and baseline not in policies:
        from ..errors import unknown_name

        raise unknown_name("baseline", baseline, policies)
    if len(policies) < 2:
        study.paired_note = "Only one policy: there is nothing to compare against a baseline."
        return
    study.baseline = baseline or next((b for b in BASELINES if b in policies), policies[0])
    strata = ["experiment", "scenario"] + ([study.knob] if study.knob else [])
    try:
        differences = analysis.paired(study.metrics, baseline=study.baseline, by=strata, level=study.level)
    except ConfigError as exc:
        study.paired_note = f"Paired differences are not shown: {exc.problem}."
        return
    if differences.empty:
        study.paired_note = f"No run shares its replication and seed with a run of {study.baseline}: paired differences need common random numbers."
        return
    study.paired = differences
