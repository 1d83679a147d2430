"""Issue 4: operators who work the dead-letter queue, and what their requeues achieve.

The requeue outcome cases are small scripted worlds whose results are computed by hand from certctl's
rules (RetryFailedNotifications, RequeueNotification, web/src/pages/NotificationsPage.tsx) under both certctl profiles; the docstrings give the
arithmetic.  Scheduler
facts used: process ticks every 60 s and retry ticks every 120 s from t = 0; latencies are 0.  An operator
action at the instant of a tick runs before the tick lists its rows (SimPy runs simultaneous events in the
order they were scheduled, and the operator's wait began before the loop's last tick), so a row requeued at
600 s is sent by the process tick of 600 s.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import notifsim
from notifsim import ConfigError, Policy
from notifsim.analysis import REQUEUE_OUTCOMES, requeue_outcomes, summarize_requeues
from notifsim.channels import Bernoulli, Outages, Scripted
from notifsim.database import Database
from notifsim.operators import Cadence
from notifsim.operators import Scripted as ScriptedOperator
from notifsim.timeutil import datetime_to_us
from notifsim.workloads import Poisson, Workload

ASBUILT = Policy.preset("certctl-asbuilt")
I005 = Policy.preset("certctl-i005")
START = pd.Timestamp("2026-01-01T00:00:00Z")  # a Thursday
PD_FAIL = "pagerduty: API returned HTTP 503: service unavailable"


def dead_row(id: str, channel: str, rc: int = 4, sent_at: object = "0001-01-01T00:00:00Z", **extra) -> dict:
    row = dict(
        id=id,
        channel=channel,
        type="ExpirationWarning",
        recipient="ops@example.com",
        status="dead",
        retry_count=rc,
        last_error="gave up",
        sent_at=sent_at,
        created_at=-7200.0,
    )
    row.update(extra)
    return row


class EmailAtStart(Workload):
    """One RenewalSuccess Email created (and sent at once) at t = 0; its id is ``notif-<start ns>-1``."""

    def process(self, hooks):
        hooks.create(type="RenewalSuccess", channel="Email", recipient="owner-1@example.com", message="renewed", certificate_id="mc-1", deadline=120.0)
        yield hooks.timeout(0)


EMAIL_ID = f"notif-{datetime_to_us(START.to_pydatetime()) * 1000}-1"


def scripted_world() -> notifsim.Scenario:
    return notifsim.Scenario(
        "requeue-outcomes",
        channels={
            "Slack": Scripted([]),  # always delivers
            "PagerDuty": Scripted([], then=PD_FAIL),  # always fails
            "Email": Scripted([]),  # a compliant SMTP server: delivered (reported failed as built: the quit defect)
        },
        workload=EmailAtStart(),
        initial_rows=[
            dead_row("slack-dead", "Slack"),
            dead_row("pd-dead", "PagerDuty"),
            dead_row("pd-late", "PagerDuty"),
            dict(id="slack-sent", channel="Slack", type="RenewalSuccess", recipient="ops@example.com", status="sent", sent_at=-60.0, created_at=-120.0),
        ],
        operator=ScriptedOperator(
            [
                (600, "requeue", "slack-dead"),
                (600, "requeue", "pd-dead"),
                (600, "requeue", "slack-sent"),
                (600, "requeue", EMAIL_ID),
                (3590, "requeue", "pd-late"),
            ]
        ),
    )


def outcomes_of(result) -> dict[str, dict]:
    frame = result.requeue_outcomes().set_index("notification_id")
    return {nid: row.to_dict() for nid, row in frame.iterrows()}


def test_requeue_outcomes_asbuilt_hand_computed():
    """certctl as built (requeue from any status, first failure strands, Email quit defect):

    * slack-dead: requeued at 600 → pending → the process tick of 600 sends it, delivered → ``delivered``, 0 s
      after the requeue;
    * pd-dead: sent at 600, it fails → ``failed`` with next_retry_at NULL → ``stranded`` after one attempt;
    * slack-sent: requeue of a ``sent`` row is accepted → sent again at 600, delivered → ``delivered``
      (it had no delivery inside the run before);
    * the Email created at 0 was delivered and reported failed (stranded); requeued and sent again at 600 it is
      delivered again → ``duplicated``;
    * pd-late: requeued at 3590, the horizon is 3600 before the next process tick → ``pending``.
    """
    result = notifsim.simulate(scripted_world(), ASBUILT, horizon="1h")
    got = outcomes_of(result)
    assert {nid: o["outcome"] for nid, o in got.items()} == {
        "slack-dead": "delivered",
        "pd-dead": "stranded",
        "slack-sent": "delivered",
        EMAIL_ID: "duplicated",
        "pd-late": "pending",
    }
    assert got["slack-dead"]["time_to_delivery_s"] == 0.0 and got["slack-dead"]["attempts_after"] == 1
    assert got["pd-dead"]["attempts_after"] == 1 and got["pd-dead"]["status"] == "failed"
    assert got[EMAIL_ID]["delivered_before"] and got[EMAIL_ID]["deliveries_after"] == 1 and got[EMAIL_ID]["status"] == "failed"
    assert got[EMAIL_ID]["from_status"] == "failed" and got["slack-sent"]["from_status"] == "sent"
    assert got["pd-late"]["attempts_after"] == 0 and got["pd-late"]["status"] == "pending"
    assert got["slack-dead"]["first_requeue_at"] == START + pd.Timedelta(seconds=600)
    summary = result.requeue_summary()
    assert list(summary.index) == list(REQUEUE_OUTCOMES)
    assert dict(summary["count"]) == {"delivered": 2, "duplicated": 1, "dead_again": 0, "stranded": 1, "pending": 1, "ghost": 0, "read": 0}
    assert summary["share"].sum() == pytest.approx(1.0)


def test_requeue_outcomes_i005_hand_computed():
    """certctl as designed (I-005):

    * slack-dead → ``delivered`` at 600 as built;
    * pd-dead: the failure at 600 arms the retry path (rc 0 → 1, next try ≥ 660); retry ticks 720 (rc 1, +2 min),
      840 (rc 2, +4 min), 1080 (rc 3, +8 min), 1560 (rc 4 → dead): 5 attempts after the requeue → ``dead_again``;
    * slack-sent and the Email (sent at once: no quit defect) are ``sent``: their requeues are refused, so they
      are not requeued notifications at all;
    * pd-late → ``pending``.
    """
    result = notifsim.simulate(scripted_world(), I005, horizon="1h")
    got = outcomes_of(result)
    assert {nid: o["outcome"] for nid, o in got.items()} == {"slack-dead": "delivered", "pd-dead": "dead_again", "pd-late": "pending"}
    pd_attempts = result.attempts[result.attempts["notification_id"] == "pd-dead"]
    assert list((pd_attempts["at"] - START).dt.total_seconds()) == [600, 720, 840, 1080, 1560]
    assert got["pd-dead"]["attempts_after"] == 5 and got["pd-dead"]["status"] == "dead"
    refused = result.requeues[result.requeues["outcome"] == "refused"]
    assert set(refused["notification_id"]) == {"slack-sent", EMAIL_ID}


def test_requeue_one_more_attempt_sidekiq_style():
    """``requeue_mode='one_more'`` writes retry_count = max_attempts - 1 (4): the failure at 600 is exhausted at once."""
    result = notifsim.simulate(scripted_world(), I005.replace(requeue_mode="one_more"), horizon="1h")
    got = outcomes_of(result)
    assert got["pd-dead"]["outcome"] == "dead_again" and got["pd-dead"]["attempts_after"] == 1
    row = result.row("pd-dead")
    assert row["status"] == "dead" and row["retry_count"] == 4
    assert result.row("pd-late")["retry_count"] == 4  # written by the requeue, still pending at the horizon
    # as built (first failure not armed) one_more and reset both give one attempt; the row is stranded
    asbuilt = outcomes_of(notifsim.simulate(scripted_world(), ASBUILT.replace(requeue_mode="one_more"), horizon="1h"))
    assert asbuilt["pd-dead"]["outcome"] == "stranded" and asbuilt["pd-dead"]["attempts_after"] == 1


def test_requeue_outcomes_without_attempts_table_agree_here():
    result = notifsim.simulate(scripted_world(), ASBUILT, horizon="1h")
    exact = result.requeue_outcomes().set_index("notification_id")
    inferred = requeue_outcomes(result.notifications, result.requeues).set_index("notification_id")
    pd.testing.assert_series_equal(exact["outcome"], inferred["outcome"])
    assert inferred["attempts_after"].isna().all()


def test_requeue_outcomes_empty():
    result = notifsim.simulate(notifsim.Scenario(channels={"Slack": Scripted([])}), I005, horizon="10m")
    frame = result.requeue_outcomes()
    assert frame.empty and "outcome" in frame.columns
    assert summarize_requeues(frame)["count"].sum() == 0


def test_ghost_requeued_then_delivered_and_multiple_requeues():
    """A ``sent`` row with no delivery (a Teams 200 carrying a 429, a Webhook without notifier) requeued twice:
    counted once, with both requeues; delivered by the first re-send."""
    scenario = notifsim.Scenario(
        channels={"Teams": Scripted([])},
        initial_rows=[dict(id="ghost", channel="Teams", status="sent", sent_at=-30.0)],
        operator=ScriptedOperator([(100, "requeue", "ghost"), (1000, "requeue", "ghost")]),
    )
    result = notifsim.simulate(scenario, ASBUILT, horizon="30m")
    got = outcomes_of(result)["ghost"]
    assert got["requeues"] == 2 and got["outcome"] == "delivered" and got["deliveries_after"] == 2
    assert got["last_requeue_at"] == START + pd.Timedelta(seconds=1000)


# -- Cadence --------------------------------------------------------------------------------------------------


def health_world(operator: Cadence, *, pd_dead: int = 150, slack_dead: int = 10) -> notifsim.Scenario:
    """150 dead PagerDuty rows in front of the tab (recent sent_at), 10 dead Slack rows behind them (Go zero time);
    5 pending rows per channel sent at t = 0 give each channel a send history: Slack healthy, PagerDuty not."""
    rows = [dead_row(f"pd-{i:03d}", "PagerDuty", sent_at=-60.0 - i) for i in range(pd_dead)]
    rows += [dead_row(f"slack-{i:02d}", "Slack") for i in range(slack_dead)]
    rows += [dict(id=f"warm-{ch}-{i}", channel=ch, status="pending") for ch in ("Slack", "PagerDuty") for i in range(5)]
    return notifsim.Scenario(
        "health",
        channels={"Slack": Scripted([]), "PagerDuty": Scripted([], then=PD_FAIL)},
        initial_rows=rows,
        operator=operator,
    )


def requeued_ids(result) -> list[str]:
    r = result.requeues
    return list(r.loc[(r["action"] == "requeue") & (r["outcome"] == "requeued"), "notification_id"])


def test_cadence_all_works_through_the_tab_page_by_page():
    """Rule all: the first 100 rows, then (refetched) the next 50 PagerDuty rows and the 10 Slack rows."""
    result = notifsim.simulate(health_world(Cadence(every="10m", rule="all")), ASBUILT, horizon="11m")
    ids = requeued_ids(result)
    assert len(ids) == 160 and ids[:100] == [f"pd-{i:03d}" for i in range(100)] and ids[-10:] == [f"slack-{i:02d}" for i in range(10)]
    assert (result.requeues["at"] == START + pd.Timedelta(minutes=10)).all()


def test_cadence_healthy_rule_cannot_see_past_the_first_page():
    """Rule healthy skips the unhealthy PagerDuty rows, which stay on the page: the Slack rows behind 100 of them
    are never shown in certctl's GUI (per_page 100), so nothing is requeued; a bigger page finds them."""
    hidden = notifsim.simulate(health_world(Cadence(every="10m", rule="healthy")), ASBUILT, horizon="11m")
    assert requeued_ids(hidden) == []
    shown = notifsim.simulate(health_world(Cadence(every="10m", rule="healthy", page_size=200)), ASBUILT, horizon="11m")
    assert requeued_ids(shown) == [f"slack-{i:02d}" for i in range(10)]
    few = notifsim.simulate(health_world(Cadence(every="10m", rule="healthy"), pd_dead=20), ASBUILT, horizon="11m")
    assert requeued_ids(few) == [f"slack-{i:02d}" for i in range(10)]


def test_cadence_healthy_needs_enough_recent_sends():
    """Only 5 sends per channel so far: with healthy_sends=6 no channel counts as healthy."""
    result = notifsim.simulate(health_world(Cadence(every="10m", rule="healthy", healthy_sends=6), pd_dead=20), ASBUILT, horizon="11m")
    assert requeued_ids(result) == []


def test_cadence_after_outage_waits_for_the_outage_to_end():
    """Slack is down for the first 50 min; visits every 20 min.

    after_outage: nothing at 20 or 40 min, everything at 60 min, delivered at once.  Rule all under I-005:
    requeued at 20 min, tries at 20, 22, 24, 28, 36 min (waits 1, 2, 4, 8 min on the 2-min retry grid) → dead
    again; requeued at 40 min, tries at 40, 42, 44, 48 and 56 min → delivered, 36 min after the first requeue.
    """
    channels = {"Slack": Outages([(0, "50m")])}
    rows = [dead_row(f"s{i}", "Slack") for i in range(3)]
    patient = notifsim.simulate(
        notifsim.Scenario(channels=channels, initial_rows=rows, operator=Cadence(every="20m", rule="after_outage")), I005, horizon="90m"
    )
    assert set(patient.requeues["at"]) == {START + pd.Timedelta(minutes=60)}
    outcomes = patient.requeue_outcomes()
    assert len(outcomes) == 3 and (outcomes["outcome"] == "delivered").all() and (outcomes["attempts_after"] == 1).all()
    eager = notifsim.simulate(notifsim.Scenario(channels=channels, initial_rows=rows, operator=Cadence(every="20m", rule="all")), I005, horizon="90m")
    first = eager.requeue_outcomes()
    assert (first["requeues"] == 2).all() and (first["attempts_after"] == 10).all()
    assert (first["outcome"] == "delivered").all() and (first["time_to_delivery_s"] == 36 * 60).all()
    tries = eager.attempts[eager.attempts["notification_id"] == "s0"]
    assert list((tries["at"] - START).dt.total_seconds() / 60) == [20, 22, 24, 28, 36, 40, 42, 44, 48, 56]


def test_cadence_rule_none_and_database_down():
    none = notifsim.simulate(health_world(Cadence(every="10m", rule="none")), ASBUILT, horizon="1h")
    assert none.requeues.empty
    down = health_world(Cadence(every="10m", rule="all"))
    down.database = Database(outages=[(590, 20)])  # the 10-minute visit's list call fails; the 20-minute one works
    result = notifsim.simulate(down, ASBUILT, horizon="21m")
    assert set(result.requeues["at"]) == {START + pd.Timedelta(minutes=20)}


def test_cadence_business_hours_utc():
    """2026-01-01 is a Thursday: hourly visits during 9-17 h happen Thursday and Friday only."""
    op = Cadence(every="1h", business_hours=True)
    hours = [t / 3600 for t in op.visit_times(START.to_pydatetime(), 4 * 86400)]
    assert hours == [*range(9, 17), *range(33, 41)]
    assert Cadence(every="4h").visit_times(START.to_pydatetime(), 86400) == [4 * 3600.0 * k for k in range(1, 6)]
    assert Cadence(every="4h", first_at=0).visit_times(START.to_pydatetime(), 86400)[:2] == [0.0, 4 * 3600.0]
    weekend = Cadence(every="1h", business_hours=True, weekdays=[5, 6], hours=[10, 12])
    assert [t / 3600 for t in weekend.visit_times(START.to_pydatetime(), 4 * 86400)] == [58, 59, 82, 83]
    scenario = notifsim.Scenario(channels={"Slack": Scripted([])}, initial_rows=[dead_row("s1", "Slack")], operator=op)
    result = notifsim.simulate(scenario, I005, horizon="1d")
    assert list(result.requeues["at"]) == [START + pd.Timedelta(hours=9)]


def test_cadence_stranded_tab_requeues_asbuilt_orphans():
    """As built the Dead letter tab stays empty; an API script over failed rows with next_retry_at NULL finds the
    stranded ones (not rows armed for a retry)."""
    rows = [
        dict(id="orphan", channel="Slack", status="failed", sent_at="0001-01-01T00:00:00Z"),
        dict(id="armed", channel="Slack", status="failed", retry_count=1, next_retry_at=3000.0, last_error="x"),
    ]
    scenario = notifsim.Scenario(channels={"Slack": Scripted([])}, initial_rows=rows, operator=Cadence(every="10m", tab="stranded"))
    result = notifsim.simulate(scenario, ASBUILT, horizon="15m")
    assert requeued_ids(result) == ["orphan"]
    gui = notifsim.Scenario(channels={"Slack": Scripted([])}, initial_rows=rows, operator=Cadence(every="10m"))
    assert notifsim.simulate(gui, ASBUILT, horizon="15m").requeues.empty


def test_cadence_max_requeues_per_visit():
    result = notifsim.simulate(health_world(Cadence(every="10m", max_requeues=7)), ASBUILT, horizon="11m")
    assert requeued_ids(result) == [f"pd-{i:03d}" for i in range(7)]


def test_list_notifications_hook_orders_like_certctl():
    """sent_at DESC NULLS LAST; Go's zero time after every real instant; ties by insertion."""
    rows = [
        dead_row("zero-a", "Slack"),
        dead_row("recent", "Slack", sent_at=-10.0),
        dead_row("null", "Slack", sent_at=None),
        dead_row("older", "Slack", sent_at=-500.0),
        dead_row("zero-b", "Slack"),
    ]
    seen = {}

    class Peek(notifsim.operators.Operator):
        def process(self, hooks):
            seen["dead"] = [r.id for r in hooks.list_notifications("dead")]
            seen["page"] = [r.id for r in hooks.list_notifications("dead", 2, 1)]
            seen["now"] = hooks.now
            yield hooks.timeout(0)

    notifsim.simulate(notifsim.Scenario(channels={"Slack": Scripted([])}, initial_rows=rows, operator=Peek()), I005, horizon="1m")
    assert seen["dead"] == ["recent", "older", "zero-a", "zero-b", "null"]
    assert seen["page"] == ["older", "zero-a"] and seen["now"] == 0


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"every": 0}, "Cadence.every"),
        ({"rule": "healthiest"}, "Cadence.rule"),
        ({"tab": "failed"}, "Cadence.tab"),
        ({"hours": [17, 9]}, "Cadence.hours[1]"),
        ({"hours": "9-17"}, "Cadence.hours"),
        ({"weekdays": [7]}, "Cadence.weekdays[0]"),
        ({"healthy_sends": 0}, "Cadence.healthy_sends"),
        ({"healthy_sends": 101}, "Cadence.healthy_sends"),
        ({"page_size": 0}, "Cadence.page_size"),
        ({"max_requeues": 0}, "Cadence.max_requeues"),
        ({"business_hours": "yes"}, "Cadence.business_hours"),
    ],
)
def test_cadence_validation_names_the_field(kwargs, field):
    with pytest.raises(ConfigError) as info:
        Cadence(**kwargs)
    assert info.value.field == field


def test_cadence_from_toml_table():
    scenario = notifsim.Scenario.from_dict(
        {
            "channels": {"Slack": {"model": "Bernoulli", "p_fail": 0.1}},
            "operator": {"model": "Cadence", "every": "2h", "rule": "healthy", "business_hours": True, "hours": [8, 18]},
        }
    )
    assert isinstance(scenario.operator, Cadence) and scenario.operator.every == 7200 and scenario.operator.hours == (8, 18)
    assert scenario.describe()["operator"]["model"] == "Cadence"
    with pytest.raises(ConfigError, match="allowed: Cadence, Scripted"):
        notifsim.Scenario.from_dict({"operator": {"model": "Cron"}})
    with pytest.raises(ConfigError, match="did you mean 'every'"):
        notifsim.Scenario.from_dict({"operator": {"model": "Cadence", "evry": "2h"}})


# -- invariants over random worlds --------------------------------------------------------------------------


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    # the tabs that fill within two hours under each policy: as built a failure is stranded at once (nothing dies);
    # the others arm the first failure (nothing is stranded) and die within the horizon but for sidekiq's 26 attempts
    pair=st.sampled_from([("certctl-asbuilt", "stranded"), ("certctl-i005", "dead"), ("sqs", "dead"), ("aws-sdk-standard", "dead")]),
    rule=st.sampled_from(["all", "healthy", "after_outage"]),
    p_fail=st.sampled_from([0.3, 0.9]),
    seed=st.integers(0, 1000),
)
def test_requeue_outcomes_invariants(pair, rule, p_fail, seed):
    policy, tab = pair
    scenario = notifsim.Scenario(
        channels={"Slack": Bernoulli(p_fail), "Email": [Bernoulli(0.1), Outages([("20m", "40m")])]},
        workload=Poisson(120, channels={"Slack": 1, "Email": 1}),
        operator=Cadence(every="15m", rule=rule, tab=tab, healthy_sends=2),
    )
    result = notifsim.simulate(scenario, policy, seed=seed, horizon="2h")
    out = result.requeue_outcomes()
    requeued = result.requeues[(result.requeues["action"] == "requeue") & (result.requeues["outcome"] == "requeued")]
    assume(len(out) > 0)  # the invariants are checked on worlds that requeue something (most of these do)
    assert out["notification_id"].is_unique and set(out["notification_id"]) == set(requeued["notification_id"])
    assert int(out["requeues"].sum()) == len(requeued)
    assert set(out["outcome"]) <= set(REQUEUE_OUTCOMES)
    assert ((out["outcome"].isin(["delivered", "duplicated"])) == (out["deliveries_after"] > 0)).all()
    assert ((out["outcome"] == "duplicated") <= out["delivered_before"]).all()
    assert (out["deliveries_after"] <= out["attempts_after"]).all()
    assert (out["time_to_delivery_s"].dropna() >= 0).all()
    from_status = set(out["from_status"])
    assert from_status <= ({"dead"} if tab == "dead" else {"failed"})
    assert summarize_requeues(out)["count"].sum() == len(out)
