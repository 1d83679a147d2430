"""Views over time and distributions (notifsim.analysis.load, .timeline, .delivery) against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import START, At, at

import notifsim
from notifsim import analysis
from notifsim.channels import Scripted


@pytest.fixture(scope="module")
def scripted():
    """Sends at 5 s (Slack), 10 s (Teams), 20 s (PagerDuty), then Teams and PagerDuty at 120, 240, 480 and 960 s (certctl-i005)."""
    scenario = notifsim.Scenario(
        "scripted-three",
        channels={"Slack": Scripted([None]), "Teams": Scripted(["e"] * 4, then=None), "PagerDuty": Scripted([], then="e")},
        workload=At([(5, "Slack"), (10, "Teams"), (20, "PagerDuty")]),
    )
    return notifsim.simulate(scenario, "certctl-i005", horizon="20m", sample_interval="5m")


def test_sends_per_minute_by_hand(scripted):
    rate = analysis.sends_per_minute(scripted.attempts, start=START, end=at(1200))
    assert list(rate.columns) == ["PagerDuty", "Slack", "Teams"]
    assert len(rate) == 20 and rate.index[0] == START and rate.index[-1] == at(1140)
    expected = pd.DataFrame(0.0, index=rate.index, columns=rate.columns)
    expected.iloc[0] = [1.0, 1.0, 1.0]
    for minute in (2, 4, 8, 16):
        expected.iloc[minute] = [1.0, 0.0, 1.0]
    pd.testing.assert_frame_equal(rate, expected, check_freq=False)
    two = analysis.sends_per_minute(scripted.attempts, every="2min", start=START, end=at(1200))
    assert len(two) == 10
    assert two.iloc[0].tolist() == [0.5, 0.5, 0.5]  # one Send in a 2-minute bucket: half a call per minute
    assert two["Teams"].sum() * 2 == 5  # every Teams Send counted once


def test_sends_per_minute_refuses_several_runs(scripted):
    both = pd.concat([scripted.attempts.assign(run_id="a"), scripted.attempts.assign(run_id="b")])
    with pytest.raises(notifsim.ConfigError, match="several runs"):
        analysis.sends_per_minute(both)


def test_status_over_time_one_run(scripted):
    timeline = analysis.status_over_time(scripted.samples)
    assert timeline["elapsed_h"].tolist() == [0, 5 / 60, 10 / 60, 15 / 60]
    assert (timeline["retrying"] == scripted.samples["failed"] - scripted.samples["stranded"]).all()
    # at 5 min: Slack sent; Teams and PagerDuty failed and armed (their third Sends came at 4 min)
    row = timeline.iloc[1]
    assert (row["sent"], row["retrying"], row["stranded"], row["dead"]) == (1, 2, 0, 0)
    last = timeline.iloc[-1]  # at 15 min: the fifth Sends (16 min) have not happened yet
    assert (last["sent"], last["retrying"], last["dead"]) == (1, 2, 0)


def test_status_over_time_averages_runs_of_a_group_on_elapsed_time():
    def samples(run_id, start, sent):
        first = pd.Timestamp(start, tz="UTC")
        at_ = pd.DatetimeIndex([first, first + pd.Timedelta("15min")]).as_unit("us")
        return pd.DataFrame({"run_id": run_id, "at": at_, "pending": 0, "sent": sent, "failed": [2, 4], "dead": 0, "read": 0, "stranded": [1, 1]})

    frame = pd.concat([samples("a1", "2026-01-01", [0, 10]), samples("a2", "2026-03-01", [0, 20]), samples("b1", "2026-01-01", [5, 5])])
    runs = pd.DataFrame({"run_id": ["a1", "a2", "b1", "unused"], "policy": ["A", "A", "B", "C"]})
    out = analysis.status_over_time(frame, runs, by="policy")
    assert out["policy"].tolist() == ["A", "A", "B", "B"]
    assert out["elapsed_h"].tolist() == [0.0, 0.25, 0.0, 0.25]
    assert out["sent"].tolist() == [0.0, 15.0, 5.0, 5.0]
    assert out["runs"].tolist() == [2, 2, 1, 1]
    assert out["retrying"].tolist() == [1.0, 3.0, 1.0, 3.0]
    with pytest.raises(notifsim.ConfigError, match="runs"):
        analysis.status_over_time(frame)


def test_delivery_cdf_counts_the_undelivered_as_never(scripted):
    times = analysis.delivery_times(scripted.notifications)
    assert times.tolist()[:2] == [0.0, 950.0] and np.isnan(times.iloc[2])
    cdf = analysis.delivery_cdf(times, grid=[0.0, 100.0, 950.0, 1e6])
    assert cdf["delivered_share"].tolist() == pytest.approx([1 / 3, 1 / 3, 2 / 3, 2 / 3])  # levels off at the delivery rate
    assert cdf["notifications"].tolist() == [3] * 4
    pooled = pd.DataFrame({"policy": ["a", "a", "b", "b"], "seconds": [1.0, np.nan, 2.0, 3.0]})
    out = analysis.delivery_cdf(pooled, by="policy", grid=[0.0, 2.0, 5.0])
    assert out[out["policy"] == "a"]["delivered_share"].tolist() == [0.0, 0.5, 0.5]
    assert out[out["policy"] == "b"]["delivered_share"].tolist() == [0.0, 0.5, 1.0]
    default = analysis.delivery_cdf(times)
    assert default["seconds"].iloc[0] == 0 and default["seconds"].iloc[-1] == pytest.approx(950.0)
