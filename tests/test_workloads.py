"""Workloads other than the fleet's alerting: Diurnal's rate profile, Burst's concentration, registration and files."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import notifsim
from notifsim import ConfigError
from notifsim.certctl import DAY_S
from notifsim.channels import Scripted
from notifsim.workloads import BUSINESS_HOURS, WORKING_WEEK, WORKLOADS, Burst, Diurnal, Fleet, Poisson

START = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)  # a Monday, 00:00 UTC


def test_workloads_are_registered_for_scenario_files():
    assert {"Poisson", "Diurnal", "Fleet", "Burst"} <= set(WORKLOADS)
    scenario = notifsim.Scenario.from_dict({"workload": {"model": "Diurnal", "rate_per_hour": 10, "utc_offset_hours": -5}})
    assert isinstance(scenario.workload, Diurnal) and scenario.workload.utc_offset_hours == -5.0


# -- Diurnal ------------------------------------------------------------------------------


def test_diurnal_profile_mean_is_the_rate():
    profile = Diurnal(42.0).rate_profile()
    assert profile.shape == (7, 24)
    assert profile.mean() == pytest.approx(42.0)
    assert profile[0, 10] / profile[0, 3] == pytest.approx(BUSINESS_HOURS[10] / BUSINESS_HOURS[3])
    assert profile[5, 10] / profile[0, 10] == pytest.approx(WORKING_WEEK[5] / WORKING_WEEK[0])


def test_diurnal_counts_per_hour_of_week_match_the_profile():
    """Each (weekday, hour) count over many weeks is Poisson with that cell's mean: all within 4.5 sigma."""
    weeks = 30
    model = Diurnal(rate_per_hour=40.0)
    arrivals = model.arrivals(np.random.default_rng(7), weeks * 7 * DAY_S, START)
    local = pd.Timestamp(START) + pd.to_timedelta(pd.Series(arrivals["at"]), unit="s")
    observed = pd.crosstab(local.dt.day_of_week, local.dt.hour).reindex(index=range(7), columns=range(24), fill_value=0).to_numpy()
    mean = model.rate_profile() * weeks
    z = (observed - mean) / np.sqrt(mean)
    assert np.abs(z).max() < 4.5
    # and the shape is visible: weekday business hours carry most of the traffic
    business = observed[:5, 9:17].sum() / observed.sum()
    expected_share = mean[:5, 9:17].sum() / mean.sum()
    assert business == pytest.approx(expected_share, abs=0.01)
    assert expected_share > 0.5


def test_diurnal_utc_offset_shifts_the_peak():
    flat_week = [1.0] * 7
    hours = [0.0] * 24
    hours[12] = 1.0  # only local noon
    model = Diurnal(rate_per_hour=10.0, hours=hours, weekdays=flat_week, utc_offset_hours=-5)
    at = model.arrivals(np.random.default_rng(1), 20 * DAY_S, START)["at"]
    assert len(at) > 0
    utc_hour = ((at % DAY_S) // 3600).astype(int)
    assert set(utc_hour) == {17}  # local noon at UTC-5 is 17:00 UTC


def test_diurnal_runs_in_a_simulation_from_the_arrivals_stream():
    scenario = notifsim.Scenario("d", channels={"Email": Scripted([])}, workload=Diurnal(120, channels="Email"), start=START)
    a = notifsim.simulate(scenario, "certctl-asbuilt", seed=3, horizon="2d")
    b = notifsim.simulate(scenario, "certctl-i005", seed=3, horizon="2d")
    assert len(a.notifications) > 50
    assert a.notifications["created_at"].equals(b.notifications["created_at"])  # the policy does not move arrivals
    hour = a.notifications["created_at"].dt.hour
    assert ((hour >= 9) & (hour < 17)).mean() > 0.5


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"hours": [1.0] * 23}, "Diurnal.hours"),
        ({"hours": [1.0] * 23 + [-1.0]}, "Diurnal.hours[23]"),
        ({"hours": [0.0] * 24}, "Diurnal.hours"),
        ({"weekdays": [1, 1, 1]}, "Diurnal.weekdays"),
        ({"utc_offset_hours": 20}, "Diurnal.utc_offset_hours"),
        ({"rate_per_hour": -1}, "Diurnal.rate_per_hour"),
        ({"channels": {"Fax": 1}}, "Diurnal.channels key"),
    ],
)
def test_diurnal_bad_values(kwargs, field):
    args = {"rate_per_hour": 10.0} | kwargs
    with pytest.raises(ConfigError) as info:
        Diurnal(**args)
    assert info.value.field == field


def test_poisson_with_zero_rate_creates_nothing():
    scenario = notifsim.Scenario("p", channels={"Email": Scripted([])}, workload=Poisson(0))
    assert len(notifsim.simulate(scenario, "certctl-asbuilt", horizon="1h").notifications) == 0


# -- Burst --------------------------------------------------------------------------------


def test_burst_concentrates_the_expiries_and_the_first_alerts():
    burst = Burst(certificates=400, at="40d", spread="1h", background_certificates=400, remaining_days=[31, 90], lifetime_days=398, auto_renew=1.0)
    scenario = notifsim.Scenario("b", channels={"Email": Scripted([])}, workload=burst)
    result = notifsim.simulate(scenario, "certctl-asbuilt", seed=2, horizon="12d")
    rows = result.notifications.query("type == 'ExpirationWarning'")
    index = rows["certificate_id"].str[3:].astype(int)
    batch = rows[index >= 400]  # the batch follows the background certificates
    assert len(batch) == 400
    hours = (batch["created_at"] - result.start).dt.total_seconds() / 3600
    assert hours.min() > 9 * 24 and hours.max() <= 9 * 24 + 2  # the batch enters the 31-day window within 2 ticks
    per_hour = ((rows["created_at"] - result.start).dt.total_seconds() // 3600).value_counts()
    top2 = per_hour.nlargest(2)
    assert top2.sum() >= 400 and per_hour.drop(top2.index).max() < 20  # the background: a few a day


def test_burst_is_a_fleet_with_a_batch():
    burst = Burst(certificates=10, at="5d", spread="2h", background_certificates=3)
    assert isinstance(burst, Fleet) and burst.size == 13
    expiries = burst.initial_expiries(np.random.default_rng(0))
    assert len(expiries) == 13
    assert ((expiries[3:] >= 5 * DAY_S) & (expiries[3:] < 5 * DAY_S + 7200)).all()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"certificates": 0}, "Burst.certificates"),
        ({"at": "-1d"}, "Burst.at"),
        ({"spread": "soon"}, "Burst.spread"),
        ({"background_certificates": -5}, "Burst.background_certificates"),
        ({"lifetime_days": 5000}, "Burst.lifetime_days"),
    ],
)
def test_burst_bad_values(kwargs, field):
    with pytest.raises(ConfigError) as info:
        Burst(**kwargs)
    assert info.value.field == field


def test_mass_expiry_scenario_throttles_the_batch_through_the_renewal_context():
    """The shipped preset: the batch enters the window on day 2 and the hourly check, with all alerts of a
    tick sent one after another on its 5-minute context, needs several ticks to work through it."""
    scenario = notifsim.Scenario.preset("mass-expiry")
    assert isinstance(scenario.workload, Burst) and scenario.workload.size == 25_000
    result = notifsim.simulate(scenario, "certctl-asbuilt", seed=1, horizon=2 * DAY_S + 10 * 3600)
    rows = result.notifications.query("type == 'ExpirationWarning'")
    hours = ((rows["created_at"] - result.start).dt.total_seconds() // 3600).astype(int)
    busy = hours.value_counts()
    busy = busy[busy > 100].sort_index()
    assert list(busy.index) == list(range(49, 49 + len(busy))) and len(busy) >= 4
    assert result.counters["renewal_ticks_cut"] >= len(busy) - 1
