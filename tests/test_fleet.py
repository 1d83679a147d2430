"""Fleet: certctl's expiry alerting (renewal.go sendThresholdAlerts), renewal/deployment notifications and revocations.

The first group reproduces certctl's ``renewal_expiry_alerts_test.go`` cases
of certctl internal/service/renewal_expiry_alerts_test.go through :func:`notifsim.simulate`: a certificate expiring now
(``ExpiresAt = now + 0d``) crosses every threshold in the first renewal
tick.  certctl's mock notifiers count successful sends; here every channel
has a notifier that always succeeds (``Scripted([])``) unless a case says
otherwise, and the Email quit defect is off so a delivered Email is ``sent``.
"""

from __future__ import annotations

import math
import random

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import notifsim
from notifsim import ConfigError
from notifsim.certctl import DAY_S, STATUSES, alert_message
from notifsim.channels import Bernoulli, Scripted
from notifsim.errors import NotifsimWarning
from notifsim.machine import CHANNELS
from notifsim.workloads import Fleet

POLICY = notifsim.Policy.preset("certctl-asbuilt").replace(email_quit_defect=False, webhook_notifier=True)
PER_TIER = {"informational": ["Slack"], "warning": ["Slack", "Email"], "critical": ["PagerDuty", "OpsGenie", "Email"]}
FAIL = "boom: HTTP 500"


def all_ok(**overrides):
    """Every one of certctl's six channels has a notifier (certctl's six channelMockNotifiers)."""
    channels = {ch: Scripted([]) for ch in CHANNELS}
    channels.update(overrides)
    return channels


def run(fleet, *, channels=None, policy=POLICY, horizon="30m", seed=0, initial_rows=None):
    scenario = notifsim.Scenario("fleet-test", channels=all_ok() if channels is None else channels, workload=fleet)
    return notifsim.simulate(scenario, policy, seed=seed, horizon=horizon, initial_rows=initial_rows)


def alerts(result) -> pd.DataFrame:
    rows = result.notifications
    rows = rows[rows["type"] == "ExpirationWarning"].copy()
    rows["threshold"] = rows["message"].str.extract(r"\[threshold:(\d+)\]")[0].astype(int)
    return rows


def per_channel(result, *, delivered: bool = True) -> dict[str, int]:
    """Successful sends per channel (what certctl's mock notifiers count), or rows when ``delivered`` is False."""
    if delivered:
        a = result.attempts
        counts = a[a["delivered"] & (a["outcome"] == "ok")]["channel"].value_counts()
    else:
        counts = alerts(result)["channel"].value_counts()
    return {ch: int(counts.get(ch, 0)) for ch in CHANNELS}


def expected(**counts) -> dict[str, int]:
    return {ch: counts.get(ch, 0) for ch in CHANNELS}


# -- certctl internal/service/renewal_expiry_alerts_test.go -----------------------------------------------


def test_default_matrix_email_only():
    result = run(Fleet(expires_in_days=[0.0], auto_renew=0))
    assert per_channel(result) == expected(Email=4)
    rows = alerts(result)
    assert sorted(rows["threshold"]) == [0, 7, 14, 30]
    assert (rows["created_at"] == result.start).all()  # all crossed thresholds fire in the first tick


def test_nil_policy_falls_to_default_matrix():
    fleet = Fleet(expires_in_days=[0.0], auto_renew=0, channels=None, severity=None)
    assert per_channel(run(fleet)) == expected(Email=4)


def test_per_tier_fan_out():
    result = run(Fleet(expires_in_days=[0.0], auto_renew=0, channels=PER_TIER))
    assert per_channel(result) == expected(Slack=3, Email=3, PagerDuty=1, OpsGenie=1)
    pd_rows = alerts(result).query("channel == 'PagerDuty'")
    assert list(pd_rows["threshold"]) == [0] and list(pd_rows["status"]) == ["sent"]


def test_per_channel_dedup_across_ticks_and_runs():
    fleet = Fleet(expires_in_days=[5.0], auto_renew=0, channels=PER_TIER)
    first = run(fleet, horizon="6h")  # six renewal ticks
    rows = alerts(first)
    assert per_channel(first, delivered=False) == expected(Slack=3, Email=2)  # 30, 14, 7 crossed at 5 days
    assert (rows["created_at"] == first.start).all()  # nothing new in the five later ticks
    # a second run on the table the first one left: every (certificate, threshold, channel) exists
    snapshot = first.notifications[list(notifsim.machine.COLUMNS)]
    second = run(fleet, horizon="3h", initial_rows=snapshot)
    assert second.summary()["created"] == 0
    assert second.counters.get("alerts_created", 0) == 0 and second.counters["alerts_deduped"] == 5


def test_one_channel_fails_others_still_fire():
    fleet = Fleet(expires_in_days=[0.0], auto_renew=0, thresholds=[0], channels={"critical": ["PagerDuty", "Slack", "Email"]})
    result = run(fleet, channels=all_ok(PagerDuty=Scripted([], then=FAIL)))
    assert per_channel(result) == expected(Slack=1, Email=1)
    rows = alerts(result).set_index("channel")
    assert rows.loc["PagerDuty", "status"] == "failed"
    assert rows.loc["Slack", "status"] == rows.loc["Email", "status"] == "sent"


@pytest.mark.filterwarnings("ignore:.*is not one of certctl's channels")  # a misspelt name on purpose
def test_off_enum_channel_dropped():
    fleet = Fleet(expires_in_days=[0.0], auto_renew=0, thresholds=[0], channels={"critical": ["PagerD", "Slack"]})
    result = run(fleet)
    assert per_channel(result) == expected(Slack=1)
    assert set(result.notifications["channel"]) == {"Slack"}
    assert result.counters["alerts_skipped_invalid_channel"] == 1


def test_threshold_to_tier_mapping():
    """MetricCounterIncrements: thresholds [30, 14, 0] → Slack/30, Email/14, PagerDuty/0."""
    matrix = {"informational": ["Slack"], "warning": ["Email"], "critical": ["PagerDuty"]}
    rows = alerts(run(Fleet(expires_in_days=[0.0], auto_renew=0, thresholds=[30, 14, 0], channels=matrix)))
    assert sorted(zip(rows["channel"], rows["threshold"])) == [("Email", 14), ("PagerDuty", 0), ("Slack", 30)]


def test_operator_opt_out_of_tier():
    matrix = {"informational": [], "warning": ["Email"], "critical": ["PagerDuty"]}
    fleet = Fleet(expires_in_days=[0.0], auto_renew=0, channels=matrix)
    result = run(fleet)
    assert per_channel(result) == expected(Email=2, PagerDuty=1)
    assert result.counters["alerts_skipped_no_channels"] == 1


def test_dedups_on_a_preexisting_row():
    """renewal_test DeduplicatesAlerts: an existing sent [threshold:7] Email row suppresses that alert."""
    existing = [
        {
            "id": "seed-1",
            "type": "ExpirationWarning",
            "certificate_id": "mc-000000",
            "channel": "Email",
            "recipient": "owner-1@example.com",
            "status": "sent",
            "sent_at": -3600.0,
            "created_at": -3600.0,
            "message": alert_message("svc-000000.example.com", 7, 7, "2026-01-06"),
        }
    ]
    result = run(Fleet(expires_in_days=[5.0], auto_renew=0), initial_rows=existing, horizon="2h")
    assert sorted(alerts(result).query("origin == 'created'")["threshold"]) == [14, 30]


# -- message text, truncation, statuses ------------------------------------------------


def test_messages_are_certctls():
    rows = alerts(run(Fleet(expires_in_days=[5.5], auto_renew=0, thresholds=[7])))
    assert rows["message"].iloc[0] == (
        "The certificate for svc-000000.example.com will expire in 5 days (2026-01-06).\n\nPlease schedule renewal.\n\n[threshold:7]"
    )
    rows = alerts(run(Fleet(expires_in_days=[-0.5], auto_renew=0, thresholds=[0])))
    assert rows["message"].iloc[0] == (
        "[EXPIRED] The certificate for svc-000000.example.com has expired (2025-12-31).\n\nImmediate action required.\n\n[threshold:0]"
    )


@pytest.mark.parametrize(
    ("days", "threshold", "first_tick_h"),
    [
        (8.0, 7, 1),  # int(8.0) = 8 > 7 at t=0; int(7.96) = 7 one hour later
        (7.99, 7, 0),  # int() truncates: 7.99 days is "7"
        (1.0, 0, 1),  # threshold 0 is crossed with less than one full day left
        (0.5, 0, 0),
        (31.0, 30, 1),  # not listed at t=0 (expires_at < now + 31 d is false), then int(30.96) = 30
        (31.5, 45, 13),  # thresholds above 30 fire only once the certificate enters the 31-day listing window
    ],
)
def test_threshold_crossing_uses_go_truncation(days, threshold, first_tick_h):
    rows = alerts(run(Fleet(expires_in_days=[days], auto_renew=0, thresholds=[threshold]), horizon="24h"))
    assert len(rows) == 1
    assert (rows["created_at"].iloc[0] - pd.Timestamp("2026-01-01", tz="UTC")) == pd.Timedelta(hours=first_tick_h)


def test_expired_certificate_is_skipped_by_later_ticks():
    """updateCertExpiryStatus marks it Expired before the alerts; a failed alert is never re-dispatched then."""
    policy = POLICY.replace(dedup_statuses="not-failed")
    fleet = Fleet(expires_in_days=[0.0], auto_renew=0, thresholds=[0])
    result = run(fleet, channels=all_ok(Email=Scripted([], then=FAIL)), policy=policy, horizon="5h")
    assert len(alerts(result)) == 1 and result.counters["alerts_created"] == 1


# -- dedup_statuses: certctl as built vs its readings (more in tests/test_dedup_readings.py) ----------------


def test_failed_alert_is_never_resent_when_dedup_matches_any_status():
    fleet = Fleet(expires_in_days=[5.0], auto_renew=0, thresholds=[7])
    result = run(fleet, channels=all_ok(Email=Scripted([], then=FAIL)), horizon="5h")
    rows = alerts(result)
    assert len(rows) == 1 and rows["status"].iloc[0] == "failed"
    assert result.attempts["notification_id"].nunique() == 1 and len(result.attempts) == 1


def test_failed_alert_is_redispatched_next_tick_when_dedup_ignores_failed_rows():
    policy = POLICY.replace(dedup_statuses="not-failed")
    fleet = Fleet(expires_in_days=[5.0], auto_renew=0, thresholds=[7])
    always = run(fleet, channels=all_ok(Email=Scripted([], then=FAIL)), policy=policy, horizon="5h")
    hours = (alerts(always)["created_at"] - always.start) / pd.Timedelta(hours=1)
    assert list(hours) == [0, 1, 2, 3, 4]  # one new row per renewal tick, each failed
    once = run(fleet, channels=all_ok(Email=Scripted([FAIL])), policy=policy, horizon="5h")
    rows = alerts(once)
    assert list(rows["status"]) == ["failed", "sent"]  # re-sent at the next tick, then the sent row dedups
    assert list((rows["created_at"] - once.start) / pd.Timedelta(hours=1)) == [0, 1]


def test_i005_dead_alert_still_suppresses_redispatch():
    """certctl-i005 ignores only *failed* rows: the alert retries, goes dead within the hour, and the dead row dedups."""
    fleet = Fleet(expires_in_days=[5.0], auto_renew=0, thresholds=[7])
    result = run(fleet, channels=all_ok(Email=Scripted([], then=FAIL)), policy="certctl-i005", horizon="5h")
    rows = alerts(result)
    assert len(rows) == 1
    assert rows["status"].iloc[0] == "dead" and rows["retry_count"].iloc[0] == 4
    assert rows["attempts"].iloc[0] == 5
    # while the row is still failed (retrying), a renewal tick does create a second row
    fast = Fleet(expires_in_days=[5.0], auto_renew=0, thresholds=[7], renewal_check_interval="3m")
    rows = alerts(run(fast, channels=all_ok(Email=Scripted([], then=FAIL)), policy="certctl-i005", horizon="4m"))
    assert len(rows) == 2 and list(rows["retry_count"]) == [2, 1]  # the first one retried at the 2-min sweep


# -- renewal, deployment, revocation -----------------------------------------------------


def test_renewed_certificate_is_never_alerted_again():
    """The dedup key has no time window and a renewed certificate keeps its id (renewal.go, sendThresholdAlerts)."""
    fleet = Fleet(expires_in_days=[20.0], lifetime_days=40, auto_renew=1.0, deployment_targets=1)
    result = run(fleet, horizon="60d")
    types = result.notifications["type"].value_counts()
    assert types["ExpirationWarning"] == 1  # [threshold:30] in the first lifetime only
    assert types["RenewalSuccess"] == 7 and types["DeploymentSuccess"] == 7  # renewed every 40 - 31 = 9 days
    assert result.counters["alerts_deduped"] == 6  # each later cycle enters the window and finds the old row
    renewal_times = result.notifications.query("type == 'RenewalSuccess'")["created_at"] - result.start
    assert renewal_times.iloc[0] == pd.Timedelta(seconds=31)  # job tick at 30 s + 1 s issuer call


def test_renewal_job_processor_timing_and_exhausted_renewals():
    """Failures retried by the 5-minute job retry loop, 3 attempts; then RenewalInProgress for good."""
    fleet = Fleet(expires_in_days=[20.0], auto_renew=1.0, renewal_failure_rate=1.0)
    result = run(fleet, horizon="25d")
    rows = result.notifications
    failures = rows.query("type == 'RenewalFailure'")["created_at"] - result.start
    assert list(failures.dt.total_seconds()) == [31.0, 331.0, 631.0]
    assert list(rows.query("type == 'ExpirationWarning'")["message"].str[-14:]) == ["[threshold:30]"]
    assert result.counters["renewals_abandoned"] == 1  # no 14/7/0 alerts although it expires at day 20
    manual = run(Fleet(expires_in_days=[20.0], auto_renew=0.0), horizon="25d")
    assert sorted(alerts(manual)["threshold"]) == [0, 7, 14, 30]


def test_deployment_notifications_follow_a_renewal():
    fleet = Fleet(expires_in_days=[10.0], auto_renew=1.0, deployment_targets=2, deployment_failure_rate=1.0)
    rows = run(fleet, horizon="1h").notifications
    fails = rows.query("type == 'DeploymentFailure'")
    assert len(fails) == 2 * 3  # two targets, three attempts each
    assert fails["message"].str.contains("failed to deploy to target-").all()
    assert (rows["channel"][rows["type"] != "ExpirationWarning"] == "Email").all()


def test_revocation_fans_out_webhook_then_email_and_silences_the_certificate():
    fleet = Fleet(certificates=50, remaining_days=[0, 5], auto_renew=0, revocations_per_day=40, thresholds=[0])
    result = run(fleet, horizon="1d")
    rev = result.notifications.query("type == 'Revocation'")
    assert len(rev) == 2 * result.counters["revocations"] > 0
    for _, pair in rev.groupby("certificate_id"):
        assert list(pair["channel"]) == ["Webhook", "Email"]
    revoked_at = rev.groupby("certificate_id")["created_at"].min()
    later = alerts(result).merge(revoked_at.rename("revoked_at"), left_on="certificate_id", right_index=True)
    assert (later["created_at"] < later["revoked_at"]).all()


# -- event-driven == brute force ---------------------------------------------------------------


def brute_force(expires_s, thresholds, matrix, ticks, *, failing=(), suppressing=STATUSES):
    """certctl's CheckExpiringCertificates run naively: every tick lists and checks the whole fleet.

    Every Send takes no time, so at a tick each earlier row is ``failed`` (its channel fails) or ``sent``.
    """
    fleet = Fleet(expires_in_days=[0.0], thresholds=thresholds, channels=matrix)
    status = ["Active"] * len(expires_s)
    rows = []  # (cert, threshold, channel, t)
    statuses: dict[tuple, list[str]] = {}  # (cert, threshold, channel) -> statuses of its rows
    for k in range(ticks):
        t = k * 3600.0
        listed = sorted((e, c) for c, e in enumerate(expires_s) if e < t + 31 * DAY_S)
        for exp, c in listed:
            if status[c] == "Expired":
                continue
            days = (exp - t) / 3600.0 / 24.0
            status[c] = "Expired" if days <= 0 else "Expiring"
            for threshold in thresholds:
                if int(days) > threshold:
                    continue
                for ch in fleet.channels_for(threshold):
                    if ch not in CHANNELS:
                        continue
                    key = (c, threshold, ch)
                    if not any(s in suppressing for s in statuses.get(key, [])):
                        rows.append((c, threshold, ch, t))
                        statuses.setdefault(key, []).append("failed" if ch in failing else "sent")
    return sorted((f"mc-{c:06d}", thr, ch, t) for c, thr, ch, t in rows)


MATRICES = [None, PER_TIER, {"informational": ["Teams", "Slak"], "critical": ["Webhook", "Email"]}]
READINGS = ["any", "not-failed", "delivered", ("sent",), ("failed",), ()]


@pytest.mark.filterwarnings("ignore:.*is not one of certctl's channels")  # a misspelt name on purpose
@pytest.mark.parametrize("seed", range(6))
def test_event_driven_counts_equal_brute_force(seed):
    rnd = random.Random(seed)
    n = 60
    expires = [rnd.uniform(-2, 40) * DAY_S for _ in range(n)]
    thresholds = rnd.sample([45, 30, 21, 14, 7, 3, 1, 0], k=rnd.randint(1, 5))
    matrix = MATRICES[seed % len(MATRICES)]
    policy = POLICY.replace(dedup_statuses=READINGS[seed])
    failing = ("Slack", "Email") if seed % 3 else ()
    channels = all_ok(**{ch: Scripted([], then=FAIL) for ch in failing})
    fleet = Fleet(expires_in_days=[e / DAY_S for e in expires], thresholds=thresholds, channels=matrix, auto_renew=0)
    hours = 24 * 12
    result = run(fleet, channels=channels, policy=policy, horizon=hours * 3600.0)
    rows = alerts(result)
    got = sorted(zip(rows["certificate_id"], rows["threshold"], rows["channel"], (rows["created_at"] - result.start).dt.total_seconds()))
    assert got == brute_force(expires, thresholds, matrix, hours, failing=failing, suppressing=policy.dedup_statuses)
    # event-driven: far fewer certificate visits than ticks x certificates, unless alert rows stop suppressing
    # (a row created pending under a reading without pending, or failing under one without failed)
    if "pending" in policy.dedup_statuses and ("failed" in policy.dedup_statuses or not failing):
        assert result.counters["visits"] < hours * n / 20


@pytest.mark.parametrize("engine", ["events", "batched"])
def test_a_certificate_entering_the_window_during_a_tick_is_listed_by_the_next(engine):
    """Expiring at 31 d + 120 s: it enters the 31-day listing window at 120 s, within tick 0's 5-minute deadline,
    so tick 0 takes it from the calendar (one visit) but its listing (at 0 s) does not return it: no alert.
    Tick 3600 lists it (31 d - 3480 s left: 30 days): the 30-day alert.  A second certificate (40 d) is
    untouched.  Worked by hand: 2 ticks, 2 visits, 1 alert created at 3600 s."""
    fleet = Fleet(expires_in_days=[31 + 120 / DAY_S, 40], thresholds=[30], channels={"informational": ["Slack"]}, auto_renew=0)
    scenario = notifsim.Scenario("fleet-test", channels=all_ok(), workload=fleet)
    result = notifsim.simulate(scenario, POLICY, seed=0, horizon="90m", engine=engine)
    assert result.counters["renewal_ticks"] == 2 and result.counters["visits"] == 2
    rows = alerts(result)
    assert list(rows["threshold"]) == [30] and list(rows["channel"]) == ["Slack"]
    assert list((rows["created_at"] - result.start).dt.total_seconds()) == [3600.0]


@pytest.mark.parametrize("engine", ["events", "batched"])
def test_a_renewed_certificate_re_dispatched_by_a_failed_alert_is_passed_over_once(engine):
    """Under ``certctl-i005`` a failed alert row does not suppress, so the log of such rows re-dispatches its
    certificate.  Worked by hand: tick 0 lists the certificate (10 days left): the 30-day alert (Slack fails every
    Send) and a renewal job, which renews it to 90 days.  The alert's Sends fail at 0, 1, 3, 7 and 15 min (dead
    after five).  Tick 3600 re-dispatches it; it expires beyond the listing window, so the tick passes over it (a
    visit) and it waits in the calendar until 59 days: ticks at 2-5 h have nothing to do.  2 ticks, 2 visits."""
    fleet = Fleet(expires_in_days=[10], thresholds=[30], channels={"informational": ["Slack"]}, auto_renew=1.0, renewal_failure_rate=0.0, deployment_targets=0)
    scenario = notifsim.Scenario("fleet-test", channels={"Email": Bernoulli(0.0, latency=1.5), "Slack": Bernoulli(1.0, latency=0.3)}, workload=fleet)
    result = notifsim.simulate(scenario, "certctl-i005", seed=1, horizon="6h", engine=engine)
    assert result.counters["renewal_ticks"] == 2 and result.counters["visits"] == 2 and result.counters["renewals"] == 1
    alerts = result.notifications[result.notifications["type"] == "ExpirationWarning"]
    assert alerts["status"].tolist() == ["dead"] and alerts["retry_count"].tolist() == [4]


def test_ticks_touch_no_certificate_far_from_expiry():
    fleet = Fleet(certificates=5000, remaining_days=[60, 90], auto_renew=0.5)
    result = run(fleet, horizon="2d")
    assert result.counters.get("visits", 0) == 0 and result.counters.get("renewal_ticks", 0) == 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    days=st.lists(st.floats(-3, 35, allow_nan=False), min_size=1, max_size=25),
    thresholds=st.lists(st.integers(0, 40), min_size=1, max_size=5, unique=True),
    p_fail=st.sampled_from([0.0, 0.3, 1.0]),
    latency=st.sampled_from([0.0, 2.0, 40.0]),
    matrix=st.sampled_from(MATRICES),
)
@pytest.mark.filterwarnings("ignore:.*is not one of certctl's channels")  # a misspelt name on purpose
def test_dedup_on_any_status_gives_at_most_one_row_per_key(days, thresholds, p_fail, latency, matrix):
    """Invariant: with certctl's dedup, one row per (certificate, threshold, channel), each created once crossed."""
    channels = {ch: Bernoulli(p_fail, latency=latency) for ch in CHANNELS}
    fleet = Fleet(expires_in_days=days, thresholds=thresholds, channels=matrix, auto_renew=0)
    result = run(fleet, channels=channels, horizon="2d")
    rows = alerts(result)
    assert not rows.duplicated(["certificate_id", "threshold", "channel"]).any()
    expiry = rows["certificate_id"].str[3:].astype(int).map(lambda c: days[c] * DAY_S)
    at = (rows["created_at"] - result.start).dt.total_seconds()
    days_left = ((expiry - at) / 3600.0 / 24.0).map(math.trunc)
    assert (days_left <= rows["threshold"]).all()


# -- common random numbers, determinism, validation -------------------------------------------------


def test_policy_does_not_change_the_fleet():
    """Expiries, owners, renewal outcomes and revocations come from fleet streams, not from the policy."""
    fleet = Fleet(certificates=300, renewal_failure_rate=0.3, revocations_per_day=3, owners=7)
    a = run(fleet, policy="certctl-asbuilt", horizon="3d", seed=5).notifications
    b = run(fleet, policy="certctl-i005", horizon="3d", seed=5).notifications
    key = ["type", "certificate_id", "channel", "recipient", "message", "created_at"]
    assert a[key].reset_index(drop=True).equals(b[key].reset_index(drop=True))


def test_same_seed_same_rows_different_seed_different_fleet():
    fleet = Fleet(certificates=200, renewal_failure_rate=0.2)
    a, b, c = (run(fleet, horizon="2d", seed=s).notifications for s in (1, 1, 2))
    assert a.drop(columns=["id"]).equals(b.drop(columns=["id"]))
    assert not a["certificate_id"].equals(c["certificate_id"])


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        ({"certificates": -1}, "Fleet.certificates", "[0, 10000000]"),
        ({"lifetime_days": 0}, "Fleet.lifetime_days", "(0, 3650]"),
        ({"auto_renew": 1.5}, "Fleet.auto_renew", "[0, 1]"),
        ({"renewal_failure_rate": -0.1}, "Fleet.renewal_failure_rate", "[0, 1]"),
        ({"deployment_failure_rate": 2}, "Fleet.deployment_failure_rate", "[0, 1]"),
        ({"renewal_attempts": 0}, "Fleet.renewal_attempts", "[1, 100]"),
        ({"thresholds": [30, 30]}, "Fleet.thresholds", "repeat"),
        ({"thresholds": [30, -1]}, "Fleet.thresholds[1]", "[0, 3650]"),
        ({"thresholds": []}, "Fleet.thresholds", "non-empty"),
        ({"severity": {30: "urgent"}}, "Fleet.severity.30", "informational"),
        ({"severity": {"x": "warning"}}, "Fleet.severity key", "whole number"),
        ({"channels": {"urgent": ["Email"]}}, "Fleet.channels key", "critical"),
        ({"channels": {"critical": [3]}}, "Fleet.channels.critical", "Email"),
        ({"renewal_check_interval": "30s"}, "Fleet.renewal_check_interval", "at least 1 minute"),
        ({"revocations_per_cert_year": -1}, "Fleet.revocations_per_cert_year", "[0, 365]"),
        ({"expires_in_days": [1, "x"]}, "Fleet.expires_in_days[1]", "number"),
        ({"expires_in_days": [1, 2], "certificates": 3}, "Fleet.certificates", "len(expires_in_days)"),
        ({"remaining_days": [10, 5]}, "Fleet.remaining_days[1]", "[10, 3650]"),
        ({"owners": 0}, "Fleet.owners", "in [1, 1000000]"),
        ({"burst_spread": -1}, "Fleet.burst_spread", ">= 0"),
    ],
)
def test_bad_values_name_the_field_and_range(kwargs, field, text):
    with pytest.raises(ConfigError) as info:
        Fleet(**kwargs)
    assert info.value.field == field
    assert text in str(info.value)


def test_fleet_from_toml_rejects_unknown_keys_with_a_suggestion():
    with pytest.raises(ConfigError, match="did you mean 'lifetime_days'"):
        notifsim.Scenario.from_dict({"workload": {"model": "Fleet", "lifetime_day": 90}})
    scenario = notifsim.Scenario.from_dict(
        {
            "channels": {"Email": {"model": "Bernoulli", "p_fail": 0}},
            "workload": {"model": "Fleet", "certificates": 10, "severity": {"30": "critical"}, "channels": {"critical": ["Email"]}},
        }
    )
    assert scenario.workload.tier(30) == "critical" and scenario.workload.channels_for(14) == []


def test_database_outage_defers_the_renewal_check_and_the_job_processor():
    """GetExpiringCertificates / ClaimPendingJobs fail during the outage; the next tick after it does the work."""
    from notifsim.database import Database

    fleet = Fleet(expires_in_days=[5.0, 25.0], auto_renew=0.0, thresholds=[30, 7])
    fleet_renew = Fleet(expires_in_days=[25.0], auto_renew=1.0)
    outage = Database(outages=[(0, "90m")])
    for f in (fleet, fleet_renew):
        scenario = notifsim.Scenario("db", channels=all_ok(), workload=f, database=outage)
        result = notifsim.simulate(scenario, POLICY, horizon="3h")
        created = (result.notifications["created_at"] - result.start).dt.total_seconds()
        assert created.min() == 2 * 3600.0  # ticks at 0 and 1 h fail; the 2 h tick alerts
        assert result.counters["renewal_ticks_db_error"] == 2
    assert len(alerts(result)) == 1
    renewal = result.notifications.query("type == 'RenewalSuccess'")
    assert (renewal["created_at"] - result.start).dt.total_seconds().tolist() == [2 * 3600.0 + 31]
    # an outage from 10 s to 70 s: the job ticks at 30 s and 60 s cannot claim, the one at 90 s renews
    f = Fleet(expires_in_days=[25.0], auto_renew=1.0)
    scenario = notifsim.Scenario("db", channels=all_ok(), workload=f, database=Database(outages=[("10s", "60s")]))
    result = notifsim.simulate(scenario, POLICY, horizon="1h")
    renewal = result.notifications.query("type == 'RenewalSuccess'")
    assert (renewal["created_at"] - result.start).dt.total_seconds().tolist() == [91.0]


@pytest.mark.parametrize("engine", ["events", "batched"])
def test_expiry_status_write_during_an_outage_fails_and_the_next_tick_alerts(engine):
    """Two expired certificates, Email only, each Send 5 s; the database is down from 3 s to 63 s.
    Tick 0 lists both (the query at 0 s succeeds).  mc-000000 (expired 1 d ago) is marked Expired at 0 s
    and its 30-day alert sent 0-5 s; from 5 s every dedup List fails, so its other thresholds are skipped
    and, already Expired, it is never listed again (certctl skips Expired certificates).  mc-000001 is
    visited at 5 s: updateCertExpiryStatus fails too, so it stays listable, and the 1 h tick marks it
    Expired and sends all four alerts, 5 s apart.  Worked by hand: 5 rows."""
    from notifsim.database import Database

    fleet = Fleet(expires_in_days=[-1.0, -0.5], auto_renew=0.0)
    channels = {"Email": Scripted([], latency=5.0)}
    scenario = notifsim.Scenario("db", channels=channels, workload=fleet, database=Database(outages=[(3.0, 60.0)]))
    result = notifsim.simulate(scenario, POLICY, horizon="3h", engine=engine)
    rows = alerts(result)
    got = list(zip(rows["certificate_id"], rows["threshold"], (rows["created_at"] - result.start).dt.total_seconds()))
    assert got == [
        ("mc-000000", 30, 0.0),
        ("mc-000001", 30, 3600.0),
        ("mc-000001", 14, 3605.0),
        ("mc-000001", 7, 3610.0),
        ("mc-000001", 0, 3615.0),
    ]


def test_renewal_tick_and_process_tick_at_one_instant_do_not_double_send():
    """The hourly renewal check and the per-minute process loop tick at the same instants. certctl's
    process List runs before the renewal check's certificate query returns, so the first alert of a
    renewal tick is not listed by the process tick of that instant: one Send per alert."""
    # enters the 31-day listing window 30 min in: the 30-day alert fires at the 1 h renewal tick,
    # the same instant as a process tick
    fleet = Fleet(certificates=1, remaining_days=[31 + 1 / 48, 31 + 1 / 48], lifetime_days=90)
    result = run(fleet, channels={"Email": Scripted([], then=None, latency=2.0)}, horizon="2h")
    a = result.attempts
    rows = alerts(result)
    assert list(rows["threshold"]) == [30] and (rows["created_at"] == result.start + pd.Timedelta(hours=1)).all()
    assert list(a.loc[a["notification_id"].isin(rows["id"]), "loop"]) == ["create"]


def test_a_channel_name_certctl_does_not_have_is_kept_with_a_warning():
    """certctl skips a channel name outside its six at dispatch (audited, nothing sent); the Fleet keeps it, as
    certctl does, but warns once, naming the tier and the closest channel (most likely a typo).  Worked by
    hand: 0.5 days left crosses 30 (informational: not in the matrix, no channels), 14 and 7 (warning: Email
    sent, Pigeon skipped) and 0 (critical: Slakc skipped)."""
    with pytest.warns(NotifsimWarning, match=r"channels\.critical: 'Slakc' \(did you mean 'Slack'\?\).*\(and 1 more\)"):
        fleet = Fleet(expires_in_days=[0.5], auto_renew=0, channels={"critical": ["Slakc"], "warning": ["Email", "Pigeon"]})
    result = run(fleet, horizon="10m")
    counters = result.counters
    assert (counters["alerts_created"], counters["alerts_skipped_invalid_channel"], counters["alerts_skipped_no_channels"]) == (2, 3, 1)
    assert sorted(alerts(result)["threshold"]) == [7, 14] and set(result.notifications["channel"]) == {"Email"}
