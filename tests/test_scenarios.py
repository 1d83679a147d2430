"""Shipped scenario files and TOML loading of channel models: they load, run, and reject bad values in one line."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

import notifsim
from notifsim.channels import Compose, GilbertElliott, LogNormal, Outages, TokenBucket, timeout_error
from notifsim.cli import main
from notifsim.errors import ConfigError
from notifsim.scenario import Scenario

SHIPPED = ["steady", "flaky-transient", "provider-outage", "slack-rate-limit", "teams-throttle", "smtp-greylist", "poison-recipients"]


def text_of(name: str) -> str:
    return resources.files("notifsim").joinpath("scenarios", f"{name}.toml").read_text()


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenario_loads_cites_its_sources_and_runs(name):
    assert name in Scenario.presets()
    comments = "\n".join(line for line in text_of(name).splitlines() if line.startswith("#"))
    assert re.search(r"https?://", comments), f"{name}.toml must cite where its numbers come from"
    scenario = Scenario.preset(name)
    assert scenario.name == name and scenario.description
    json.dumps(scenario.describe())
    for policy in ("certctl-asbuilt", "certctl-i005"):
        result = notifsim.simulate(scenario, policy, seed=1, horizon="2h")
        assert result.summary()["created"] > 0
        assert len(result.attempts) > 0


def test_provider_outage_pagerduty_window_times_out_after_exactly_10s():
    """The PagerDuty replay hangs from 1 h to 1 h 30 min: every send in it fails at the 10 s client timeout."""
    result = notifsim.simulate("provider-outage", "certctl-i005", seed=2, horizon="3h")
    a = result.attempts
    at = (a["at"] - result.start).dt.total_seconds()
    pd_window = (a["channel"] == "PagerDuty") & (at >= 3600) & (at < 5400)
    assert pd_window.sum() > 2  # PagerDuty carries a fifth of the expiry alerts (job notifications go to Email)
    assert (a.loc[pd_window, "error"].fillna("") == timeout_error("PagerDuty", 10.0)).all()
    assert (a.loc[pd_window, "latency_s"] == 10.0).all()
    outside = (a["channel"] == "PagerDuty") & ~pd_window
    assert (a.loc[outside, "latency_s"] < 10.0).all()


def test_slack_rate_limit_scenario_produces_429s():
    result = notifsim.simulate("slack-rate-limit", "certctl-i005", seed=1, horizon="2h")
    errors = result.attempts["error"].dropna()
    assert (errors == "slack: webhook returned HTTP 429: rate_limited").sum() > 0


def test_teams_throttle_scenario_loses_alerts_silently():
    result = notifsim.simulate("teams-throttle", "certctl-asbuilt", seed=1, horizon="1d")
    assert result.summary()["ghost_sent"] > 0


def test_composed_channels_from_toml_arrays_of_tables():
    scenario = Scenario.preset("provider-outage")
    slack = scenario.channels["Slack"]
    assert isinstance(slack, Compose)
    assert isinstance(slack.models[1], GilbertElliott)
    assert slack.models[1].mean_up == 3 * 86400 and slack.models[1].mean_down == 1800
    assert isinstance(slack.models[0].latency, LogNormal)
    pagerduty = scenario.channels["PagerDuty"].models[1]
    assert isinstance(pagerduty, Outages) and pagerduty.windows == [(3600.0, 1800.0), (4 * 86400.0, 5.2 * 3600)]


def test_compose_table_with_models_key_and_python_list_are_the_same():
    from_table = Scenario.from_dict(
        {"channels": {"Slack": {"model": "Compose", "models": [{"model": "Bernoulli", "p_fail": 0.1}, {"model": "TokenBucket", "burst": 5}]}}}
    )
    from_list = Scenario(channels={"Slack": [notifsim.channels.Bernoulli(0.1), TokenBucket(burst=5)]})
    assert from_table.describe()["channels"] == from_list.describe()["channels"]


def test_cli_runs_provider_outage(capsys):
    assert main(["run", "--scenario", "provider-outage", "--horizon", "2h"]) == 0
    assert "provider-outage" in capsys.readouterr().out


BAD = [
    # (TOML body, the place in the file named by the message, what the message must also say)
    ('[channels.Slack]\nmodel = "GilbertElliott"\nmean_up = "6h"\nmean_dwn = "30m"\n', "channels.Slack key", "did you mean 'mean_down'"),
    ('[channels.Slack]\nmodel = "GilbertEliot"\n', "channels.Slack.model", "did you mean 'GilbertElliott'"),
    ('[channels.Slack]\nmodel = "GilbertElliott"\nmean_up = "6h"\nmean_down = "30m"\np_fail_down = 1.5\n', "channels.Slack.p_fail_down", "[0, 1]"),
    ('[channels.Slack]\nmodel = "TokenBucket"\nrate_per_s = -1\n', "channels.Slack.rate_per_s", "> 0"),
    (
        '[channels.Slack]\nmodel = "Bernoulli"\np_fail = 0.1\nlatency = { model = "LogNormal", median = 1, p_99 = 3 }\n',
        "channels.Slack.latency key",
        "did you mean 'p99'",
    ),
    (
        '[[channels.Email]]\nmodel = "Bernoulli"\np_fail = 0.1\n[[channels.Email]]\nmodel = "Greylisting"\nmin_dely = "5m"\n',
        "channels.Email[1] key",
        "did you mean 'min_delay'",
    ),
    ('[[channels.Email]]\nmodel = "PermanentRecipients"\nfraction = -0.2\n', "channels.Email[0].fraction", "[0, 1]"),
    ('[channels.Teams]\nmodel = "MultiWindow"\nlimits = [[4, 1], [60]]\n', "channels.Teams.limits[1]", "pair (count, window)"),
    ('[channels.Slak]\nmodel = "Bernoulli"\np_fail = 0.1\n', "scenario.channels key", "Email, OpsGenie, PagerDuty, Slack, Teams, Webhook"),
    ('[channels.Slack]\nmodel = "Outages"\nwindows = [["1h", "-30m"]]\n', "channels.Slack.windows[0].duration", "duration"),
]


@pytest.mark.parametrize(("body", "field", "says"), BAD)
def test_bad_toml_values_give_one_line_errors_naming_the_field(tmp_path, body, field, says):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(ConfigError) as info:
        Scenario.from_toml(path)
    message = str(info.value)
    assert info.value.field == field
    assert says in message
    assert "\n" not in message


def test_cli_bad_scenario_file_exits_2_with_one_line(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(BAD[2][0])
    db = tmp_path / "out.duckdb"
    assert main(["run", "--scenario", str(path), "--horizon", "1h", "--db", str(db)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "channels.Slack.p_fail_down" in err
    assert not db.exists()


def test_stored_database_config_rebuilds_the_same_outages(tmp_path):
    """A run's stored config names each outage as (start, duration), so it rebuilds the same database."""
    from notifsim.database import Database

    db = Database(outages=[("2h", "30m"), (600.0, 90.0)], write_error_rate=0.01)
    scenario = notifsim.Scenario("db", channels={"Email": notifsim.channels.Bernoulli(0.0)}, database=db)
    path = tmp_path / "r.duckdb"
    notifsim.simulate(scenario, "certctl-i005", horizon="3h", db=path, run_name="r")
    with notifsim.open_results(path) as results:
        stored = results.run("r").config["scenario"]["database"]
    rebuilt = Database(**stored)
    assert rebuilt.outages == db.outages == [(600.0, 90.0), (7200.0, 1800.0)]
    assert rebuilt.windows == [(600.0, 690.0), (7200.0, 9000.0)]
