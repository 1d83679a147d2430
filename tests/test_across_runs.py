"""Reading many runs back (ResultsFile.metrics, requeue_funnel, delivery_times, settings) against hand-computed values.

The scripted world: three alerts created through certctl's creator path at 5 s
(Slack, succeeds), 10 s (Teams, fails four times then succeeds) and 20 s
(PagerDuty, always fails), zero latency, 20 minutes.  Under certctl-i005 the
retry ticks (every 120 s) send at 120, 240, 480 and 960 s (backoff 1, 2, 4,
8 min): Teams is delivered at 960 s (950 s after creation), PagerDuty is dead
after its fifth Send at 960 s.  As built, both failures are stranded at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import At

import notifsim
from notifsim import analysis
from notifsim import operators as op
from notifsim.channels import Outages, Scripted

NASTY = 'it\'s "quoted"; DROP TABLE runs; --'


def _three() -> notifsim.Scenario:
    return notifsim.Scenario(
        "scripted-three",
        channels={"Slack": Scripted([None]), "Teams": Scripted(["e"] * 4, then=None), "PagerDuty": Scripted([], then="e")},
        workload=At([(5, "Slack"), (10, "Teams"), (20, "PagerDuty")]),
    )


def _id(t: int, counter: int) -> str:
    return f"notif-{1767225600 + t}000000000-{counter}"


def _operated() -> notifsim.Scenario:
    """Four alerts as built (Slack ok; Teams, PagerDuty, OpsGenie fail); at 300 s (a process tick) an operator
    requeues the delivered Slack row, the stranded Teams and PagerDuty rows and an unknown id."""
    actions = [(300, "requeue", _id(5, 1)), (300, "requeue", _id(10, 2)), (300, "requeue", _id(20, 3)), (300, "requeue", "nope")]
    return notifsim.Scenario(
        "scripted-ops",
        channels={
            "Slack": Scripted([None], then=None),
            "Teams": Scripted(["e"], then=None),
            "PagerDuty": Scripted([], then="e"),
            "OpsGenie": Scripted([], then="e"),
        },
        workload=At([(5, "Slack"), (10, "Teams"), (20, "PagerDuty"), (30, "OpsGenie")]),
        operator=op.Scripted(actions),
    )


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    db = tmp_path_factory.mktemp("runs") / "runs.duckdb"
    runs = {
        "i005": notifsim.simulate(_three(), "certctl-i005", horizon="20m", db=db, experiment="scripted", label="i005", run_name="i005"),
        "asbuilt": notifsim.simulate(_three(), "certctl-asbuilt", horizon="20m", db=db, experiment="scripted", label="asbuilt", run_name="asbuilt"),
        "ops": notifsim.simulate(_operated(), "certctl-asbuilt", horizon="20m", db=db, experiment="ops", run_name="ops"),
        "busy": notifsim.simulate(
            "default", "certctl-i005", horizon="3h", db=db, experiment=NASTY, seed=4, initial_rows=[{"id": "b1", "channel": "Slack", "status": "failed"}]
        ),
    }
    with notifsim.open_results(db) as f:
        yield f, runs


def _row(frame: pd.DataFrame, run_id: str) -> pd.Series:
    return frame.set_index("run_id").loc[run_id]


def test_metrics_equal_hand_computed_values(stored):
    f, _ = stored
    m = f.metrics("scripted")
    assert m["run_id"].tolist() == ["i005", "asbuilt"]
    i005, asbuilt = _row(m, "i005"), _row(m, "asbuilt")
    assert (i005["notifications"], i005["delivered"], i005["dead_lettered"], i005["undelivered"], i005["attempts"]) == (3, 2, 1, 1, 11)
    assert i005["undelivered_rate"] == pytest.approx(1 / 3)
    assert i005["delivered_within_rate"] == pytest.approx(1 / 3)  # Teams took 950 s > 15 min
    assert i005["dead_letter_rate"] == pytest.approx(1 / 3)
    assert i005["attempts_per_notification"] == pytest.approx(11 / 3)
    assert i005["time_to_delivery_p50_s"] == pytest.approx(475.0)  # median of 0 s and 950 s
    assert (asbuilt["stranded"], asbuilt["undelivered"], asbuilt["attempts"]) == (2, 2, 3)
    assert asbuilt["undelivered_rate"] == pytest.approx(2 / 3) and asbuilt["stranded_rate"] == pytest.approx(2 / 3)
    assert asbuilt["dead_letter_rate"] == 0  # stranding, not dead-lettering: only undelivered_rate shows the loss
    later = _row(f.metrics("scripted", within=950), "i005")
    assert later["delivered_within_rate"] == pytest.approx(2 / 3)


def test_metrics_columns_dtypes_and_equality_with_summary(stored):
    f, runs = stored
    m = f.metrics()
    assert list(m.columns) == [*analysis.RUN_COLUMNS, *analysis.METRICS]
    for name in analysis.METRICS:
        assert m[name].dtype == ("int64" if name in analysis.COUNTS else "float64"), name
    assert m["run_id"].tolist() == f.runs["run_id"].tolist()
    for result in runs.values():
        row = _row(m, result.run_id)
        assert row[list(analysis.METRICS)].astype(float).equals(result.summary().astype(float).rename(None)), result.run_id
        assert (row["experiment"], row["scenario"], row["policy"], row["seed"]) == (result.experiment, result.scenario, result.policy, result.seed)
    both = f.metrics(include_initial=True)
    busy = runs["busy"]
    assert _row(both, busy.run_id)[list(analysis.METRICS)].astype(float).equals(busy.summary(include_initial=True).astype(float).rename(None))


def test_user_values_are_bound_not_formatted(stored):
    f, runs = stored
    m = f.metrics(NASTY)
    assert m["run_id"].tolist() == [runs["busy"].run_id]
    assert len(f) == 4  # nothing was dropped
    assert set(f.table("samples", experiment=NASTY)["run_id"]) == {runs["busy"].run_id}
    assert f.metrics(run_ids=["ops", "i005"])["run_id"].tolist() == ["i005", "ops"]  # oldest first
    with pytest.raises(notifsim.ConfigError, match="experiment"):
        f.metrics("nope")
    with pytest.raises(notifsim.ConfigError, match="run_id"):
        f.metrics(run_ids=["i005", "missing"])


def test_requeue_funnel_equals_hand_computed_values(stored):
    f, runs = stored
    funnel = f.requeue_funnel()
    ops = _row(funnel, "ops")
    # requeued: Slack (sent: delivered again), Teams (stranded: delivered), PagerDuty (stranded again); OpsGenie left behind
    expected = {"rescue_candidates": 4, "requeued": 3, "delivered": 1, "duplicated": 1, "stranded": 1, "dead_again": 0, "pending": 0, "left_behind": 1}
    assert {k: int(ops[k]) for k in expected} == expected
    assert _row(funnel, "i005")[["rescue_candidates", "requeued", "left_behind"]].tolist() == [1, 0, 1]  # PagerDuty dead
    assert _row(funnel, "asbuilt")[["rescue_candidates", "requeued", "left_behind"]].tolist() == [2, 0, 2]  # two stranded
    for result in runs.values():
        pure = analysis.requeue_funnel(result.notifications, result.requeues, result.attempts)
        assert _row(funnel, result.run_id)[list(analysis.FUNNEL)].astype("int64").tolist() == pure.tolist(), result.run_id
    shares = analysis.funnel_shares(funnel.set_index("run_id").loc[["ops"], list(analysis.FUNNEL)])
    assert shares.loc["ops", "delivered"] == pytest.approx(1 / 3) and shares.loc["ops", "left_behind"] == pytest.approx(1 / 4)


def test_delivery_times_equal_the_pure_function(stored):
    f, runs = stored
    times = f.delivery_times(run_ids=["i005"])
    assert times["seconds"].tolist()[:2] == [0.0, 950.0] and np.isnan(times["seconds"].iloc[2])
    for result in runs.values():
        mine = f.delivery_times(run_ids=[result.run_id])
        assert np.array_equal(mine["seconds"].to_numpy(), analysis.delivery_times(result.notifications).to_numpy(), equal_nan=True)
        assert mine["channel"].tolist() == result.notifications.loc[result.notifications["origin"] == "created", "channel"].tolist()
    busy = runs["busy"]
    assert len(f.delivery_times(run_ids=[busy.run_id], include_initial=True)) == len(busy.notifications)


def test_settings_name_the_knobs_a_sweep_turned(tmp_path):
    db = tmp_path / "sweep.duckdb"
    for minutes in (10, 30, 60):
        scenario = notifsim.Scenario(f"outage-{minutes}", channels={"Slack": [Scripted([], then=None), Outages([("10m", f"{minutes}m")])]})
        notifsim.simulate(scenario, "certctl-i005", horizon="1h", db=db, experiment="x")
    with notifsim.open_results(db) as f:
        varying = f.settings("x")
        everything = f.settings("x", varying=False)
    assert "scenario.channels.Slack.models.1.windows.0.1" in varying.columns
    assert varying["scenario.channels.Slack.models.1.windows.0.1"].tolist() == [600.0, 1800.0, 3600.0]
    assert "policy.max_attempts" not in varying.columns and "policy.max_attempts" in everything.columns
    assert analysis.knobs(varying.drop(columns="run_id")) == ["scenario.channels.Slack.models.1.windows.0.1"]  # the name is text, not a knob


def test_flatten_paths():
    assert analysis.flatten({"a": {"b": [1, {"c": 2}], "e": []}, "d": None}) == {"a.b.0": 1, "a.b.1.c": 2, "a.e": "[]", "d": None}
