"""HA replicas, restarts, adapter acceptance statuses and the retry-through-pending what-if, against hand-worked cases.

Every case runs on both engines (``engine="events"``, the reference, and
the default batched one) and asserts exact rows, instants and counts.
"""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import I005, at

import notifsim
from notifsim import channels as ch
from notifsim.certctl import CANCELED_ERROR
from notifsim.workloads import Poisson

ENGINES = ("events", "batched")


def pending(id: str, channel: str = "Slack") -> dict:
    return dict(id=id, type="ExpirationWarning", channel=channel, recipient="owner-1@example.com", message=f"msg {id}", status="pending")


def failed(id: str, rc: int, nra: float, channel: str = "Slack") -> dict:
    return dict(
        id=id,
        type="ExpirationWarning",
        channel=channel,
        recipient="owner-1@example.com",
        message=f"msg {id}",
        status="failed",
        retry_count=rc,
        next_retry_at=nra,
        last_error="HTTP 503",
        sent_at="0001-01-01T00:00:00Z",
        created_at=-3600.0,
    )


def simulate(channels, rows, *, deployment=None, policy=I005, horizon="10m", engine="batched", workload=None) -> notifsim.Result:
    scenario = notifsim.Scenario("deployment", channels=channels, workload=workload, deployment=deployment)
    return notifsim.simulate(scenario, policy, seed=1, horizon=horizon, initial_rows=rows, engine=engine)


# -- replicas -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_two_replicas_send_every_pending_row_twice(engine):
    """20 pending rows, Slack always delivers in 1 s.  At t=0 both replicas' process ticks list all 20 (replica 0
    has begun only the first when replica 1 lists): each replica sends row i at i-1 s, so every row is sent
    twice, delivered twice, and ends ``sent`` at 20 s; nothing is left for later ticks."""
    rows = [pending(f"p{i:02d}") for i in range(20)]
    result = simulate({"Slack": ch.Bernoulli(0.0, latency=1.0)}, rows, deployment=notifsim.Deployment(replicas=2), engine=engine)
    a = result.attempts
    assert len(a) == 40
    assert (a.groupby("notification_id")["replica"].apply(sorted) == pd.Series([[0, 1]] * 20, index=sorted(r["id"] for r in rows))).all()
    for i in range(20):
        mine = a[a["notification_id"] == f"p{i:02d}"]
        assert list(mine["at"]) == [at(i), at(i)]
    n = result.notifications.set_index("id")
    assert (n["status"] == "sent").all() and (n["deliveries"] == 2).all()
    assert n["sent_at"].max() == at(20)
    ticks = result.ticks
    assert set(ticks["replica"]) == {0, 1}
    first = ticks[(ticks["at"] == at(0)) & (ticks["loop"] == "process")]
    assert list(first["replica"]) == [0, 1] and list(first["rows"]) == [20, 20] and list(first["sends"]) == [20, 20]
    assert result.summary(include_initial=True)["duplicated"] == 20


@pytest.mark.parametrize("engine", ENGINES)
def test_three_replicas_burn_the_budget_and_overshoot_it(engine):
    """One failed row due at 0 with retry_count 0, Slack down, Sends taking 1 s, certctl-i005 (5 attempts).

    Three replicas' sweeps list it at 0 (before any write): three Sends, three server-side increments,
    retry_count 0 → 3, next_retry_at 1 + 60 = 61.  At 120 all three list it again with retry_count 3 (not
    exhausted: 3 < 4): three more Sends, 3 → 6, next_retry_at 121 + 480.  From then on ``retry_count < 5`` never
    holds: the row stays ``failed`` for good, never dead, after 6 Sends in 2 sweeps.  One replica needs five
    sweeps (0, 120, 360, 720, 1320) and dead-letters the row at 1321 s."""
    channels = {"Slack": ch.Bernoulli(1.0, latency=1.0)}
    three = simulate(channels, [failed("f", 0, 0.0)], deployment=notifsim.Deployment(replicas=3), horizon="1h", engine=engine)
    row = three.notifications.set_index("id").loc["f"]
    assert (row["status"], row["retry_count"], row["next_retry_at"]) == ("failed", 6, at(601))
    assert list(three.attempts["at"]) == [at(0)] * 3 + [at(120)] * 3
    assert list(three.attempts["retry_count_before"]) == [0, 0, 0, 3, 3, 3]
    assert list(three.attempts["replica"]) == [0, 1, 2, 0, 1, 2]
    one = simulate(channels, [failed("f", 0, 0.0)], horizon="1h", engine=engine)
    row = one.notifications.set_index("id").loc["f"]
    assert (row["status"], row["retry_count"]) == ("dead", 4)
    assert list(one.attempts["at"]) == [at(t) for t in (0, 120, 360, 720, 1320)]


def test_stagger_shifts_each_replicas_tick_grid():
    result = simulate({}, [], deployment=notifsim.Deployment(replicas=3, stagger="20s"), horizon="3m")
    process = result.ticks[result.ticks["loop"] == "process"]
    by_replica = {r: [(t - at(0)).total_seconds() for t in g["at"]] for r, g in process.groupby("replica")}
    assert by_replica == {0: [0, 60, 120], 1: [20, 80, 140], 2: [40, 100, 160]}


# -- restarts ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_restart_aborts_an_http_send_and_the_row_is_sent_again_at_boot(engine):
    """A pending Slack row; Sends take 5 s.  The process tick at 0 begins it; the restart at 2 s cancels the
    context: the Send ends at 2 s with ``context canceled``, delivers nothing, and its write fails, so the row
    stays pending.  The replica is down for the 30 s drain; at boot (32 s) its loops tick at once: the row is
    sent again and delivered at 37 s.  Later ticks are on the shifted grid 92, 152, ..."""
    result = simulate(
        {"Slack": ch.Bernoulli(0.0, latency=5.0)}, [pending("p")], deployment=notifsim.Deployment(restarts=["2s"], drain="30s"), horizon="3m", engine=engine
    )
    a = result.attempts
    assert list(a["at"]) == [at(0), at(32)]
    assert list(a["latency_s"]) == [2.0, 5.0]
    assert list(a["error"].fillna("")) == [CANCELED_ERROR, ""]
    assert list(a["delivered"]) == [False, True]
    row = result.notifications.iloc[0]
    assert row["status"] == "sent" and row["sent_at"] == at(37) and row["deliveries"] == 1
    process = result.ticks[result.ticks["loop"] == "process"]
    assert [(t - at(0)).total_seconds() for t in process["at"]] == [0, 32, 92, 152]
    assert bool(process.iloc[0]["deadline_hit"])


@pytest.mark.parametrize("engine", ENGINES)
def test_restart_during_an_email_send_duplicates_it(engine):
    """Email ignores the cancel: the Send begun at 0 finishes at 5 s, delivered, but its status write fails on the
    cancelled context, so the row stays pending and is sent again at boot (32 s): delivered twice."""
    result = simulate(
        {"Email": ch.Bernoulli(0.0, latency=5.0)},
        [pending("e", "Email")],
        deployment=notifsim.Deployment(restarts=["2s"], drain="30s"),
        policy=I005.replace(email_quit_defect=False),
        horizon="3m",
        engine=engine,
    )
    a = result.attempts
    assert list(a["at"]) == [at(0), at(32)] and list(a["delivered"]) == [True, True] and a["error"].isna().all()
    row = result.notifications.iloc[0]
    assert row["status"] == "sent" and row["sent_at"] == at(37) and row["deliveries"] == 2


@pytest.mark.parametrize("engine", ENGINES)
def test_an_email_still_running_when_the_drain_ends_is_cut(engine):
    """A 50 s Email begun at 0, restart at 2 s, 30 s drain: the process exits at 32 s and the Send is cut there."""
    result = simulate(
        {"Email": ch.Bernoulli(0.0, latency=50.0)},
        [pending("e", "Email")],
        deployment=notifsim.Deployment(restarts=["2s"], drain="30s"),
        policy=I005.replace(email_quit_defect=False),
        horizon="90s",
        engine=engine,
    )
    first = result.attempts.iloc[0]
    assert (first["at"], first["latency_s"], first["delivered"], first["error"]) == (at(0), 32.0, False, CANCELED_ERROR)


@pytest.mark.parametrize("engine", ENGINES)
def test_arrivals_while_no_replica_is_up_are_lost(engine):
    """One replica down from 600 s to 1800 s (a 20-minute drain): the alerts arriving then cannot be created."""
    workload = Poisson(120, channels={"Slack": 1})
    result = simulate(
        {"Slack": ch.Bernoulli(0.0)}, [], deployment=notifsim.Deployment(restarts=["10m"], drain="20m"), horizon="1h", engine=engine, workload=workload
    )
    created = (result.notifications["created_at"] - at(0)).dt.total_seconds()
    assert not ((created >= 600) & (created < 1800)).any()
    whole = simulate({"Slack": ch.Bernoulli(0.0)}, [], horizon="1h", engine=engine, workload=workload)
    whole_created = (whole.notifications["created_at"] - at(0)).dt.total_seconds()
    assert result.lost_creations == int(((whole_created >= 600) & (whole_created < 1800)).sum()) > 0


def test_two_replicas_share_the_arrivals_round_robin():
    workload = Poisson(600, channels={"Slack": 1})
    result = simulate({"Slack": ch.Bernoulli(0.0, latency=0.5)}, [], deployment=notifsim.Deployment(replicas=2), horizon="30m", workload=workload)
    creates = result.attempts[result.attempts["loop"] == "create"].sort_values("at")
    assert list(creates["replica"]) == [i % 2 for i in range(len(creates))]


def test_restart_cadence_and_plan():
    plan = notifsim.Deployment(replicas=2, stagger="1m", restarts="every 6h", drain="30s").plan(86400.0)
    assert plan.cancels[0] == [6 * 3600.0, 12 * 3600.0, 18 * 3600.0]
    assert plan.cancels[1] == [6 * 3600.0 + 60, 12 * 3600.0 + 60, 18 * 3600.0 + 60]
    assert not plan.up(0, 6 * 3600.0 + 10) and plan.up(0, 6 * 3600.0 + 30) and plan.up(1, 6 * 3600.0 + 10)
    assert not plan.up(1, 30.0)  # replica 1 starts at 60 s


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"replicas": 0}, "deployment.replicas"),
        ({"replicas": 2.5}, "deployment.replicas"),
        ({"stagger": "-1s"}, "deployment.stagger"),
        ({"restarts": "daily"}, "deployment.restarts"),
        ({"restarts": ["1h", "1h10s"], "drain": "30s"}, "deployment.restarts"),
        ({"restarts": "every 10s", "drain": "30s"}, "deployment.restarts"),
        ({"drain": "soon"}, "deployment.drain"),
    ],
)
def test_bad_deployments_name_the_field(kwargs, field):
    with pytest.raises(notifsim.ConfigError) as err:
        notifsim.Deployment(**kwargs)
    assert str(err.value).startswith(field)


def test_deployment_from_scenario_toml(tmp_path):
    path = tmp_path / "ha.toml"
    path.write_text('[channels.Slack]\nmodel = "Bernoulli"\np_fail = 0.1\n\n[deployment]\nreplicas = 3\nstagger = "10s"\nrestarts = "every 24h"\n')
    scenario = notifsim.Scenario.from_toml(path)
    assert scenario.deployment == notifsim.Deployment(replicas=3, stagger=10, restarts="every 24h")
    assert scenario.describe()["deployment"] == {"replicas": 3, "stagger": 10.0, "restarts": "every 86400s", "drain": 30.0}


# -- adapter acceptance statuses --------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_a_202_is_a_failure_for_slack_and_teams_and_a_success_elsewhere(engine):
    """Every provider accepts with 202.  Slack and Teams take only 200: the Send delivered yet returned
    ``<adapter>: webhook returned HTTP 202: ``; under certctl-i005 the row is retried and delivered five times,
    then dead.  PagerDuty and OpsGenie take 200 or 202, the webhook connector any 2xx: sent once."""
    channels = {name: ch.Bernoulli(0.0, accept_status=202) for name in ("Slack", "Teams", "PagerDuty", "OpsGenie", "Webhook")}
    rows = [pending(name, name) for name in channels]
    result = simulate(channels, rows, horizon="2h", engine=engine)
    n = result.notifications.set_index("id")
    for name in ("Slack", "Teams"):
        assert (n.loc[name, "status"], n.loc[name, "deliveries"], n.loc[name, "attempts"]) == ("dead", 5, 5)
        mine = result.attempts[result.attempts["notification_id"] == name]
        assert set(mine["error"]) == {f"{name.lower()}: webhook returned HTTP 202: "} and mine["delivered"].all()
    for name in ("PagerDuty", "OpsGenie", "Webhook"):
        assert (n.loc[name, "status"], n.loc[name, "deliveries"], n.loc[name, "attempts"]) == ("sent", 1, 1)


def test_accept_status_is_validated():
    with pytest.raises(notifsim.ConfigError, match=r"^Bernoulli.accept_status"):
        ch.Bernoulli(0.1, accept_status=404)
    with pytest.raises(notifsim.ConfigError, match=r"^scenario.channels.Email.accept_status"):
        notifsim.Scenario(channels={"Email": ch.Bernoulli(0.1, accept_status=202)})


def test_teams_workflows_preset():
    """Microsoft Workflows webhooks answer 202: every accepted Teams alert is recorded as failed."""
    result = notifsim.simulate("teams-workflows", "certctl-i005", seed=1, horizon="6h")
    teams = result.attempts[result.attempts["channel"] == "Teams"]
    assert len(teams) > 100 and (teams["outcome"] == "error").all()  # every Teams Send returns an error ...
    accepted = teams[teams["delivered"]]
    assert (accepted["error"] == "teams: webhook returned HTTP 202: ").all() and len(accepted) > 0.97 * len(teams)  # ... mostly the 202
    rows = result.notifications[result.notifications["channel"] == "Teams"]
    finished = rows[rows["status"] == "dead"]
    assert len(finished) > 20 and (finished["attempts"] == 5).all() and (finished["deliveries"] == 5).mean() > 0.9  # 0.5 % of Sends are 503s
    assert not (rows["status"] == "sent").any()
    slack = result.notifications[result.notifications["channel"] == "Slack"]
    assert (slack["status"] == "sent").mean() > 0.9


# -- retry through pending (what-if) ----------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_retry_via_pending_moves_due_rows_for_the_process_loop(engine):
    """A failed row due at 30 s.  Sweeps at 0 (not due) and 120 s: the sweep at 120 moves it to pending with
    no Send; the process tick at 120 s had already listed (nothing), so the tick at 180 s sends it.  As certctl
    is built, the sweep itself sends it at 120 s."""
    channels = {"Slack": ch.Bernoulli(0.0)}
    via = simulate(channels, [failed("f", 1, 30.0)], policy=I005.replace(retry_via_pending=True), engine=engine)
    assert list(zip(via.attempts["at"], via.attempts["loop"])) == [(at(180), "process")]
    sweep = via.ticks[(via.ticks["loop"] == "retry") & (via.ticks["at"] == at(120))].iloc[0]
    assert (sweep["rows"], sweep["sends"]) == (1, 0)
    assert via.notifications.iloc[0]["status"] == "sent"
    direct = simulate(channels, [failed("f", 1, 30.0)], engine=engine)
    assert list(zip(direct.attempts["at"], direct.attempts["loop"])) == [(at(120), "retry")]


@pytest.mark.parametrize("engine", ENGINES)
def test_retry_via_pending_never_dead_letters_as_built(engine):
    """Slack always fails.  As built, a failure on the process path writes ``failed`` with zero time and leaves
    ``retry_count`` and the old ``next_retry_at`` alone, so every sweep moves the row back: Sends at 180, 300,
    420, ... s, ``retry_count`` stuck at 1, never dead.  As designed (certctl-i005) the process path arms the
    row like a sweep: waits 2, 4, 8 minutes on the grids give Sends at 180, 420, 780 and 1380 s, then dead."""
    channels = {"Slack": ch.Bernoulli(1.0)}
    asbuilt = notifsim.Policy.preset("certctl-asbuilt").replace(retry_via_pending=True)
    stuck = simulate(channels, [failed("f", 1, 30.0)], policy=asbuilt, horizon="30m", engine=engine)
    assert [(t - at(0)).total_seconds() for t in stuck.attempts["at"]] == [180 + 120 * k for k in range(14)]
    row = stuck.notifications.iloc[0]
    assert (row["status"], row["retry_count"]) == ("failed", 1)
    designed = simulate(channels, [failed("f", 1, 30.0)], policy=I005.replace(retry_via_pending=True), horizon="30m", engine=engine)
    assert [(t - at(0)).total_seconds() for t in designed.attempts["at"]] == [180, 420, 780, 1380]
    assert set(designed.attempts["loop"]) == {"process"}
    assert designed.notifications.iloc[0]["status"] == "dead"
