"""certctl's creators beyond the renewal check: the job processor's concurrency and contexts, where job
notifications go, and revocations on a request context without a deadline.  Every case is worked by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import notifsim
from notifsim import ConfigError, Policy
from notifsim.certctl import JOB_NOTIFICATION_TYPES
from notifsim.channels import Bernoulli, Scripted
from notifsim.workloads import Diurnal, Fleet, Poisson
from notifsim.workloads.arrivals import creator_deadline

# certctl's mock notifiers: the Email quit defect off.  The process loop ticks at 0 and then once a day, so no tick
# lists a row while its creator's Send is in flight (no double sends) in these runs.
QUIET = Policy.preset("certctl-asbuilt").replace(email_quit_defect=False, webhook_notifier=True, process_interval="1d")
SLACK_ALERTS = {"informational": ["Slack"]}


def seconds(result, column: pd.Series) -> list[float]:
    return list((column - result.start).dt.total_seconds())


# -- the job processor: up to job_concurrency jobs at once, each on its own 2-minute context ------------------------

# 30 certificates 20 days from expiry (certificate c expires c milliseconds-of-a-day later than c-1, so the renewal
# check lists and claims them in id order).  The check at 0 s gives each its 30-day alert on Slack (no time) and a
# renewal job; the job processor's first grid point after that is 30 s.  Each renewal is a 10 s issuer call, then
# a RenewalSuccess Email whose Send takes the Email script's next latency (calls are numbered in Send order).
LATENCY = [3.0, 1.0, 1.0] + [20.0] * 22 + [100.0, 30.0, 30.0, 30.0, 30.0]


def renewing_fleet(certificates: int, concurrency: int, **options) -> Fleet:
    """``certificates`` certificates 20 days from expiry, listed in id order; 10 s issuer calls."""
    expiries = [20.0 + c * 1e-3 for c in range(certificates)]
    return Fleet(expires_in_days=expiries, thresholds=[30], channels=SLACK_ALERTS, renewal_latency=10.0, job_concurrency=concurrency, **options)


def thirty_jobs(concurrency: int):
    fleet = renewing_fleet(30, concurrency, deployment_targets=0)
    scenario = notifsim.Scenario("jobs", channels={"Slack": Scripted([]), "Email": Scripted([], latency=LATENCY)}, workload=fleet)
    result = notifsim.simulate(scenario, QUIET, horizon="30m")
    rows = result.notifications.query("type == 'RenewalSuccess'").sort_values("certificate_id")
    assert list(rows["certificate_id"]) == [f"mc-{c:06d}" for c in range(30)]
    return result, rows


def test_thirty_jobs_with_25_slots_start_in_claim_order_as_slots_free():
    """Jobs 0-24 start at 30 s and create their Emails at 40 s (Sends 0-24: 3, 1, 1, then 20 s each).

    At 41 s jobs 1 and 2 end: jobs 25 and 26 start and create at 51 s.  At 43 s job 0 ends: job 27, 53 s.
    At 60 s jobs 3-24 end, 22 slots at once: jobs 28 and 29 start and create at 70 s.  Job 25's Send takes
    100 s and returns at 151 s, inside its own context (started 41 s, ends 161 s) though after the 150 s a
    tick-wide context would have ended, so its row is sent.  The tick ends with it: one job tick in all.
    """
    result, rows = thirty_jobs(25)
    assert seconds(result, rows["created_at"]) == [40.0] * 25 + [51.0, 51.0, 53.0, 70.0, 70.0]
    assert (rows["status"] == "sent").all()
    assert seconds(result, rows["sent_at"])[:4] == [43.0, 41.0, 41.0, 60.0]
    assert seconds(result, rows["sent_at"])[25:] == [151.0, 81.0, 83.0, 100.0, 100.0]
    assert result.counters["job_ticks"] == 1 and result.counters["renewals"] == 30


def test_thirty_jobs_with_30_slots_all_start_at_the_tick():
    result, rows = thirty_jobs(30)
    assert seconds(result, rows["created_at"]) == [40.0] * 30
    assert (rows["status"] == "sent").all()


def test_one_slot_runs_the_jobs_one_after_the_other_each_on_its_own_context():
    """Job k starts when job k-1 ends: 30 s + the sum of (10 s + latency) before it.  Job 6 starts at 155 s,
    past the 150 s a tick-wide context would have allowed, yet every job has its own 2 minutes: all are sent."""
    result, rows = thirty_jobs(1)
    starts = 30.0 + np.concatenate([[0.0], np.cumsum([10.0 + latency for latency in LATENCY])[:-1]])
    assert seconds(result, rows["created_at"])[:10] == list(starts[:10] + 10.0)
    assert (rows["status"] == "sent").sum() == len(rows)


def test_a_job_whose_email_outlives_its_context_leaves_the_row_pending():
    """A 100 s issuer call, then a 30 s Email: the Send returns 130 s into the job's 120 s context, so the
    status write fails and the row stays pending (Email ignores the context; the write does not)."""
    fleet = Fleet(expires_in_days=[20.0], thresholds=[30], channels=SLACK_ALERTS, renewal_latency=100.0, deployment_targets=0)
    scenario = notifsim.Scenario("late", channels={"Slack": Scripted([]), "Email": Bernoulli(0.0, latency=30.0)}, workload=fleet)
    result = notifsim.simulate(scenario, QUIET, horizon="10m")
    row = result.notifications.query("type == 'RenewalSuccess'").iloc[0]
    assert seconds(result, pd.Series([row["created_at"]])) == [130.0]
    assert row["status"] == "pending" and row["deliveries"] == 1


@pytest.mark.parametrize("engine", ["events", "batched"])
@pytest.mark.parametrize("n", [20, 70])
def test_jobs_started_together_create_and_send_together(engine, n):
    """n certificates, n slots: the n renewals start at the 30 s grid point, their 10 s issuer calls return
    at 40 s, and their n RenewalSuccess Emails are created then (ids in claim order) and sent in 2 s.  The
    deployment jobs they add wait for the job tick to end (42 s): the next grid point, 60 s, starts all n;
    their 5 s calls return at 65 s and their Emails are sent at 67 s.  (The batched engine creates such a
    group's rows in one go, and from 64 rows on draws their Sends as arrays too: the same table.)"""
    fleet = renewing_fleet(n, n, deployment_latency=5.0)
    scenario = notifsim.Scenario("together", channels={"Slack": Scripted([]), "Email": Bernoulli(0.0, latency=2.0)}, workload=fleet)
    result = notifsim.simulate(scenario, QUIET, horizon="30m", engine=engine)
    rows = result.notifications  # in creation order
    renewals, deployments = rows.query("type == 'RenewalSuccess'"), rows.query("type == 'DeploymentSuccess'")
    assert list(renewals["certificate_id"]) == [f"mc-{c:06d}" for c in range(n)] == list(deployments["certificate_id"])
    assert seconds(result, renewals["created_at"]) == [40.0] * n and seconds(result, renewals["sent_at"]) == [42.0] * n
    assert seconds(result, deployments["created_at"]) == [65.0] * n and seconds(result, deployments["sent_at"]) == [67.0] * n
    assert result.counters["job_ticks"] == 2


@pytest.mark.parametrize("value", [0, 2.5, "many", True])
def test_job_concurrency_must_be_a_positive_integer(value):
    with pytest.raises(ConfigError) as info:
        Fleet(job_concurrency=value)
    assert info.value.field == "Fleet.job_concurrency"
    assert "must be an integer in [1, 100000]" in str(info.value)


def test_revocation_deadline_is_gone():
    with pytest.raises(ConfigError, match="unknown value 'revocation_deadline'"):
        notifsim.Scenario.from_dict({"workload": {"model": "Fleet", "revocation_deadline": "30s"}})


# -- revocations: the request context has no deadline ----------------------------------------------------------------


def _revocations(result) -> pd.DataFrame:
    return result.notifications.query("type == 'Revocation'")


def test_fleet_revocation_sends_run_to_completion():
    """Webhook Sends take 8 s, Email Sends 100 s; a revocation's Webhook row is sent, then its Email row,
    with no deadline: the Email row is written sent 108 s after the revocation (a 30-second context, the old
    model, would have left it pending)."""
    fleet = Fleet(certificates=20, remaining_days=[60, 90], auto_renew=0, revocations_per_day=40)
    scenario = notifsim.Scenario("revoke", channels={"Webhook": Bernoulli(0.0, latency=8.0), "Email": Bernoulli(0.0, latency=100.0)}, workload=fleet)
    result = notifsim.simulate(scenario, QUIET, horizon="12h", seed=4)
    rev = _revocations(result)
    assert result.counters["revocations"] > 3 and len(rev) == 2 * result.counters["revocations"]
    late = rev["created_at"] < result.start + pd.Timedelta(hours=12) - pd.Timedelta(seconds=108)
    done = rev[late]
    assert (done["status"] == "sent").all()
    webhook, email = done[done["channel"] == "Webhook"], done[done["channel"] == "Email"]
    assert ((webhook["sent_at"] - webhook["created_at"]).dt.total_seconds() == 8.0).all()
    assert ((email["sent_at"] - email["created_at"]).dt.total_seconds() == 108.0).all()


def test_arrival_revocations_ignore_the_alert_deadline():
    """Poisson's deadline (20 s here) is the expiry alerts' context; revocations have none."""
    scenario = notifsim.Scenario(
        "revoke",
        channels={"Webhook": Bernoulli(0.0, latency=8.0), "Email": Bernoulli(0.0, latency=100.0)},
        workload=Poisson(30, channels={"Email": 1}, types={"Revocation": 1.0}, deadline=20),
    )
    result = notifsim.simulate(scenario, QUIET, horizon="50m", seed=1)
    rev = _revocations(result)
    done = rev[rev["created_at"] < result.start + pd.Timedelta(minutes=50) - pd.Timedelta(seconds=108)]
    assert len(done) > 10 and (done["status"] == "sent").all()
    assert (result.attempts["outcome"] == "ok").all()  # no Send cut by a context


# -- where job notifications go, and on which context, in arrival workloads ------------------------------------------


def test_creator_contexts_per_type():
    assert creator_deadline("ExpirationWarning", 300.0) == 300.0
    assert creator_deadline("PolicyViolation", 42.0) == 42.0
    assert [creator_deadline(t, 300.0) for t in JOB_NOTIFICATION_TYPES] == [120.0] * 4
    assert creator_deadline("Revocation", 300.0) == math.inf


@pytest.mark.parametrize("workload", [Poisson, Diurnal])
def test_job_notifications_go_to_email_whatever_the_channel_mix(workload):
    """Renewal and deployment notifications ignore the channel pick, as a revocation does; expiry alerts use it.
    The pick is still drawn, so the alerts' channels are the same as without job notifications in the mix."""
    types = {"ExpirationWarning": 2.0, "RenewalSuccess": 1.0, "RenewalFailure": 1.0, "DeploymentSuccess": 1.0, "DeploymentFailure": 1.0}
    model = workload(600, channels={"Slack": 1.0, "PagerDuty": 1.0}, types=types)
    arrivals = model.arrivals(np.random.default_rng(3), 6 * 3600.0)
    kind, channel = arrivals["type"], arrivals["channel"]
    job = np.isin(kind, JOB_NOTIFICATION_TYPES)
    assert job.sum() > 100 and (channel[job] == "Email").all()
    assert set(channel[~job]) == {"Slack", "PagerDuty"}
    picked = np.array(["Slack", "PagerDuty"], dtype=object)[arrivals["channel_index"]]
    assert (picked[~job] == channel[~job]).all()
    scenario = notifsim.Scenario("mix", channels={"Slack": Bernoulli(0.1), "PagerDuty": Bernoulli(0.1), "Email": Bernoulli(0.1)}, workload=model)
    for engine in ("events", "batched"):
        rows = notifsim.simulate(scenario, QUIET, horizon="1h", seed=2, engine=engine).notifications
        assert (rows.loc[rows["type"].isin(JOB_NOTIFICATION_TYPES), "channel"] == "Email").all()
        assert set(rows.loc[rows["type"] == "ExpirationWarning", "channel"]) == {"Slack", "PagerDuty"}


def test_job_notifications_send_on_the_jobs_two_minute_context():
    """Email Sends take 130 s.  An expiry alert (deadline 300 s) is written sent; a renewal notification's
    write comes 130 s into its 120 s context and fails, so the row stays pending, delivered once."""
    scenario = notifsim.Scenario(
        "contexts",
        channels={"Email": Bernoulli(0.0, latency=130.0)},
        workload=Poisson(20, channels={"Email": 1}, types={"ExpirationWarning": 1.0, "RenewalSuccess": 1.0}, deadline=300),
    )
    for engine in ("events", "batched"):
        result = notifsim.simulate(scenario, QUIET, horizon="50m", seed=5, engine=engine)
        rows = result.notifications[result.notifications["created_at"] > result.start]  # the tick at 0 lists nothing
        alerts, renewals = rows[rows["type"] == "ExpirationWarning"], rows[rows["type"] == "RenewalSuccess"]
        assert len(alerts) > 3 and len(renewals) > 3
        done = alerts["created_at"] < result.start + pd.Timedelta(minutes=50) - pd.Timedelta(seconds=130)
        assert (alerts.loc[done, "status"] == "sent").all()
        finished = renewals["created_at"] < result.start + pd.Timedelta(minutes=50) - pd.Timedelta(seconds=130)
        assert (renewals["status"] == "pending").all() and (renewals.loc[finished, "deliveries"] == 1).all()


def test_arrival_run_answers_channel_and_type_questions_from_its_codes():
    """What the batched engine asks of the arrivals (on which channels, of which type) agrees with their texts."""
    from notifsim.workloads.arrivals import ArrivalRun

    types = {"ExpirationWarning": 2.0, "RenewalSuccess": 1.0, "Revocation": 1.0, "DeploymentFailure": 1.0}
    model = Poisson(600, channels={"Slack": 1.0, "PagerDuty": 1.0, "Email": 0.5}, types=types)
    run = ArrivalRun(model, model.arrivals(np.random.default_rng(5), 3 * 3600.0), hooks=None)  # type: ignore[arg-type]
    for names in ({"Email"}, {"Slack"}, {"Slack", "Email"}, {"Webhook"}, set()):
        assert (run.on_channels(names) == np.isin(run.channel, sorted(names))).all(), names
    for name in ("Revocation", "RenewalSuccess", "RenewalFailure"):
        assert (run.of_type(name) == (run.type == name)).all(), name
    assert run.on_channels({"Email"}).sum() > run.of_type("RenewalSuccess").sum() > 0


# -- a workload's own Create calls ----------------------------------------------------------------------------------


class _OneCreate(notifsim.workloads.Workload):
    """Creates one row from ``spec`` at 1 s through the public hooks."""

    def __init__(self, spec: dict):
        self.spec = spec

    def process(self, hooks):
        yield hooks.timeout(1.0)
        hooks.create_batch([self.spec], 60.0)


def _create_once(spec: dict, engine: str) -> notifsim.Result:
    scenario = notifsim.Scenario("one", channels={"Slack": Bernoulli(0.0)}, workload=_OneCreate(spec))
    return notifsim.simulate(scenario, QUIET, horizon="10s", engine=engine)


@pytest.mark.parametrize("engine", ["events", "batched"])
def test_a_workload_create_keeps_a_given_id_and_refuses_an_unknown_field(engine):
    spec = dict(type="ExpirationWarning", channel="Slack", recipient="ops@example.com", message="m", certificate_id="mc-1")
    given = _create_once({**spec, "id": "given-1"}, engine)
    assert list(given.notifications["id"]) == ["given-1"]
    assert list(given.notifications["status"]) == ["sent"]
    assert _create_once(spec, engine).notifications["id"].str.fullmatch(r"notif-\d+-1").all()
    misspelt = {k: v for k, v in spec.items() if k != "certificate_id"} | {"certificate": "mc-1"}
    with pytest.raises(TypeError, match="certificate"):
        _create_once(misspelt, engine)
