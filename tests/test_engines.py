"""The batched engine writes exactly the reference engine's tables, value for value.

Random worlds draw every channel model (stateless and stateful, composed,
latencies zero, constant and log-normal, above the client timeouts and the
tick deadlines), every workload, both operators, database outages and write
errors, initial rows in every status, and every policy preset with random
switch flips; each world runs under ``engine="events"`` and
``engine="batched"`` and every result table, the counters and the lost
creations must be identical.  Constructed cases exercise the hand-over from
the batched path to the per-event path.  Every case runs twice: with the
batched engine laying out every tick and every arrival workload (its array
path at its fullest), and with its shipped thresholds (ticks listing a few
rows and sparse arrivals go one by one).
"""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest
from helpers import Observer
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import notifsim
from notifsim import channels as ch
from notifsim.certctl import CHANNELS, STATUSES, TYPES
from notifsim.database import Database
from notifsim.deployment import Deployment
from notifsim.engine.batched import BatchedEngine
from notifsim.engine.deferred import Deferred
from notifsim.operators import Cadence
from notifsim.operators import Scripted as ScriptedOperator
from notifsim.policy import DEDUP_READINGS, SWITCHES
from notifsim.workloads import Burst, Diurnal, Fleet, Poisson
from notifsim.workloads.base import Workload

TABLES = ("notifications", "attempts", "ticks", "requeues", "samples")


@pytest.fixture(autouse=True, params=["all-laid-out", "shipped-thresholds"])
def batching(request, monkeypatch):
    if request.param == "all-laid-out":
        monkeypatch.setattr(BatchedEngine, "SMALL_TICK", 0)
        monkeypatch.setattr(BatchedEngine, "DENSE", 0.0)
        monkeypatch.setattr(BatchedEngine, "CALLERS", 0)
        monkeypatch.setattr(BatchedEngine, "CREATE_TOGETHER", 0)
        monkeypatch.setattr(BatchedEngine, "SMALL_SKIP", 0)
    return request.param


def assert_same_run(scenario, policy, **kwargs) -> tuple[notifsim.Result, notifsim.Result]:
    """Run both engines and compare every table, column by column."""
    a = notifsim.simulate(scenario, policy, engine="events", run_name="r", **kwargs)
    b = notifsim.simulate(scenario, policy, engine="batched", run_name="r", **kwargs)
    for name in TABLES:
        x, y = getattr(a, name), getattr(b, name)
        assert list(x.columns) == list(y.columns), name
        assert len(x) == len(y), f"{name}: {len(x)} rows (events) vs {len(y)} (batched)"
        for column in x.columns:
            pd.testing.assert_series_equal(x[column], y[column], check_names=False, obj=f"{name}.{column}")
    assert a.counters == b.counters
    assert a.lost_creations == b.lost_creations
    assert a == b
    return a, b


LATENCY = st.sampled_from([0.0, 0.0, 0.05, 0.3, 1.5, 12.0, 45.0]) | st.builds(
    ch.LogNormal, st.sampled_from([0.1, 0.5, 2.0]), st.sampled_from([3.0, 15.0, 40.0])
)
ERRORS = st.sampled_from([None, "HTTP 503: busy", "550 5.1.1 <{recipient}>: unknown"])


@st.composite
def stateless_model(draw, http=True):
    kind = draw(st.sampled_from(["Bernoulli", "GilbertElliott", "Outages", "PermanentRecipients"]))
    latency = draw(LATENCY)
    error = draw(ERRORS)
    if kind == "Bernoulli":
        accept = draw(st.sampled_from([200, 200, 202])) if http else 200
        return ch.Bernoulli(draw(st.sampled_from([0.0, 0.1, 0.3, 0.7, 1.0])), latency=latency, error=error, accept_status=accept)
    if kind == "GilbertElliott":
        return ch.GilbertElliott(
            draw(st.sampled_from(["20m", "2h"])),
            draw(st.sampled_from(["5m", "40m"])),
            p_fail_up=draw(st.sampled_from([0.0, 0.05])),
            latency=latency,
            error=error,
        )
    if kind == "Outages":
        start = draw(st.sampled_from([0, 600, 3000]))
        return ch.Outages([(start, draw(st.sampled_from([60, 1800])))], latency=latency, error=error)
    return ch.PermanentRecipients(draw(st.sampled_from([0.1, 0.5])), latency=latency, error=error)


@st.composite
def stateful_model(draw):
    kind = draw(st.sampled_from(["Scripted", "TokenBucket", "MultiWindow", "Greylisting"]))
    if kind == "Scripted":
        return ch.Scripted(draw(st.lists(ERRORS, max_size=6)), then=draw(ERRORS), latency=draw(st.sampled_from([0.0, 0.5, 20.0])))
    if kind == "TokenBucket":
        return ch.TokenBucket(burst=draw(st.sampled_from([2, 10])), rate_per_s=draw(st.sampled_from([0.05, 1.0])))
    if kind == "MultiWindow":
        return ch.MultiWindow(limits=[(3, "1m"), (20, "1h")], teams_quirk=draw(st.booleans()))
    return ch.Greylisting(min_delay=draw(st.sampled_from(["1m", "10m"])))


@st.composite
def channel_model(draw, name="Slack"):
    http = name != "Email"
    if draw(st.integers(0, 4)) == 0:
        parts = draw(st.lists(stateless_model(http) | stateful_model(), min_size=2, max_size=3))
        return ch.Compose(parts)
    if draw(st.integers(0, 3)) == 0:
        return draw(stateful_model())
    return draw(stateless_model(http))


@st.composite
def workload(draw):
    kind = draw(st.sampled_from(["Poisson", "Poisson", "Diurnal", "Fleet", "Burst", None]))
    targets = draw(st.lists(st.sampled_from(CHANNELS), unique=True, min_size=1, max_size=3))
    if kind == "Poisson":
        types = draw(
            st.sampled_from(
                ["ExpirationWarning", {"RenewalFailure": 1.0, "Revocation": 1.0}, {"ExpirationWarning": 2.0, "RenewalSuccess": 1.0, "DeploymentFailure": 1.0}]
            )
        )
        return Poisson(
            draw(st.sampled_from([30.0, 300.0, 1500.0])), channels=dict.fromkeys(targets, 1.0), types=types, deadline=draw(st.sampled_from([20.0, 300.0]))
        )
    if kind == "Diurnal":
        return Diurnal(draw(st.sampled_from([100.0, 600.0])), channels=dict.fromkeys(targets, 1.0))
    matrix = {"informational": targets[:1], "warning": targets, "critical": targets[-1:]}
    if kind == "Fleet":
        return Fleet(
            certificates=draw(st.sampled_from([20, 80])),
            remaining_days=[0, 35],
            channels=matrix,
            renewal_failure_rate=draw(st.sampled_from([0.0, 0.5])),
            revocations_per_day=draw(st.sampled_from([0.0, 20.0])),
            job_concurrency=draw(st.sampled_from([1, 3, 25])),
            renewal_latency=draw(st.sampled_from([0.0, 1.0, 20.0])),
        )
    if kind == "Burst":
        return Burst(certificates=30, at=draw(st.sampled_from(["0s", "31d"])), spread="2h", channels=matrix)
    return None


@st.composite
def initial_rows(draw):
    rows = []
    for i in range(draw(st.integers(0, 6))):
        status = draw(st.sampled_from(STATUSES))
        nra = None if status == "dead" else draw(st.none() | st.sampled_from([-300.0, 0.0, 90.0, 2000.0]))
        rows.append(
            {
                "id": f"init-{i}",
                "channel": draw(st.sampled_from(CHANNELS)),
                "type": draw(st.sampled_from(TYPES)),
                "recipient": "ops@example.com",
                "status": status,
                "retry_count": draw(st.integers(0, 5)),
                "next_retry_at": nra,
                "last_error": None if nra is None else "old error",
                "sent_at": draw(st.sampled_from([None, "0001-01-01T00:00:00Z", -600.0])),
                "created_at": -3600.0,
            }
        )
    return rows


@st.composite
def policy(draw):
    base = notifsim.Policy.preset(draw(st.sampled_from(notifsim.Policy.presets())))
    changes = {}
    for name in SWITCHES:
        if draw(st.integers(0, 3)) == 0:
            if name == "pending_batch":
                changes[name] = draw(st.sampled_from([1, 5, 1000]))
            elif name == "dedup_statuses":
                changes[name] = draw(st.sampled_from([*DEDUP_READINGS, ("failed",), ("sent",), ()]))
            else:
                changes[name] = not getattr(base, name)
    if draw(st.integers(0, 4)) == 0:
        changes["retry_via_pending"] = True
    if draw(st.booleans()):
        changes["process_deadline"] = draw(st.sampled_from([5.0, 60.0]))
        changes["retry_deadline"] = draw(st.sampled_from([10.0, 120.0]))
    return base.replace(**changes) if changes else base


@st.composite
def world(draw):
    modelled = draw(st.lists(st.sampled_from(CHANNELS), unique=True, min_size=1, max_size=4))
    channels = {name: draw(channel_model(name)) for name in modelled}
    rows = draw(initial_rows())
    horizon = draw(st.sampled_from([600, 3600, 4 * 3600]))
    operator = None
    pick = draw(st.integers(0, 3))
    if pick == 1:
        ids = [r["id"] for r in rows] + ["missing"]
        actions = draw(st.lists(st.tuples(st.integers(0, horizon - 1), st.sampled_from(["requeue", "read"]), st.sampled_from(ids)), max_size=5))
        operator = ScriptedOperator(actions) if actions else None
    elif pick == 2:
        operator = Cadence(
            every=draw(st.sampled_from(["10m", "1h"])),
            rule=draw(st.sampled_from(["all", "healthy", "after_outage"])),
            tab=draw(st.sampled_from(["dead", "stranded"])),
        )
    database = None
    if draw(st.integers(0, 3)) == 0:
        database = Database(outages=draw(st.sampled_from([[], [(300, 120)], [(0, 60), (1800, 300)]])), write_error_rate=draw(st.sampled_from([0.0, 0.05])))
    deployment = None
    if draw(st.integers(0, 2)) == 0:
        deployment = notifsim.Deployment(
            replicas=draw(st.sampled_from([1, 2, 3])),
            stagger=draw(st.sampled_from([0, 0, 17.5, 60])),
            restarts=draw(st.sampled_from([(), ("7m",), (300, "50m"), "every 25m"])),
            drain=draw(st.sampled_from([0, 5, 30])),
        )
    scenario = notifsim.Scenario(
        "engines", channels=channels, workload=draw(workload()), initial_rows=rows, operator=operator, database=database, deployment=deployment
    )
    return {"scenario": scenario, "policy": draw(policy()), "seed": draw(st.integers(0, 2**31)), "horizon": horizon}


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(world())
def test_batched_equals_events_in_random_worlds(world):
    note(json.dumps({"scenario": world["scenario"].describe(), "rows": world["scenario"].initial_rows}, default=str))
    assert_same_run(world["scenario"], world["policy"], seed=world["seed"], horizon=world["horizon"], sample_interval="5m")


@pytest.mark.parametrize("preset", notifsim.Policy.presets())
@pytest.mark.parametrize("scenario", ["default", "provider-outage", "poison-recipients", "slack-rate-limit"])
def test_batched_equals_events_on_every_policy_preset(scenario, preset):
    assert_same_run(scenario, preset, seed=2, horizon="3h")


def test_fleet_presets_run_the_same_on_both_engines():
    assert_same_run("mass-expiry", "certctl-i005", seed=1, horizon=2 * 86400 + 3 * 3600)


def test_fleet_jobs_ending_together_run_the_same_on_both_engines():
    """Instant issuer calls and Email Sends of 0 or 2 s: many jobs end at one instant and hand their slots on then;
    alerts re-dispatched under the "delivered" reading; revocations on a context without a deadline."""
    fleet = Fleet(
        certificates=120,
        remaining_days=[0, 35],
        channels={"informational": ["Slack"], "warning": ["Slack", "Email"], "critical": ["PagerDuty"]},
        renewal_latency=0.0,
        deployment_latency=0.0,
        renewal_failure_rate=0.3,
        deployment_targets=2,
        job_concurrency=4,
        revocations_per_day=30,
    )
    scenario = notifsim.Scenario(
        "jobs",
        channels={"Slack": ch.Bernoulli(0.5, latency=0.0), "Email": ch.Bernoulli(0.2, latency=ch.Constant(2.0)), "PagerDuty": ch.Outages([(0, "3h")])},
        workload=fleet,
    )
    for reading in ("delivered", ("failed",)):
        assert_same_run(scenario, notifsim.Policy.preset("certctl-i005").replace(dedup_statuses=reading), seed=3, horizon="6h")


def test_revocation_email_listed_while_its_webhook_is_in_flight_is_handed_over():
    """A revocation's Email row is pending while its Webhook Send (90 s) is in flight, so the process tick at
    60 s sends it first; the creator then sends it again.  The batched engine hands the creator over to the
    per-event path; both engines agree, and the Email row is sent twice (process, then create)."""
    scenario = notifsim.Scenario(
        "handover",
        channels={"Webhook": ch.Bernoulli(0.0, latency=25.0), "Email": ch.Bernoulli(0.0, latency=2.0)},
        workload=Poisson(200, channels={"Email": 1}, types={"Revocation": 1.0}, deadline=600),
    )
    policy = notifsim.Policy.preset("certctl-i005").replace(pending_batch=1000)
    a, _ = assert_same_run(scenario, policy, seed=5, horizon="20m")
    emails = a.notifications.query("channel == 'Email'")
    twice = emails[emails["attempts"] >= 2]
    assert len(twice) > 0
    sends = a.attempts[a.attempts["notification_id"].isin(twice["id"])]
    assert set(sends["loop"]) == {"process", "create"}


def test_retry_sweep_and_process_tick_on_one_row_agree():
    """A row failing on its creator's Send is armed; an operator requeues it while the retry sweep has it listed
    (a hybrid row), and the process tick lists it too: both engines agree."""
    scenario = notifsim.Scenario(
        "hybrid",
        channels={"Slack": ch.Bernoulli(0.6, latency=4.0)},
        workload=Poisson(600, channels={"Slack": 1}),
        operator=Cadence(every="2m", rule="all", tab="dead"),
    )
    policy = notifsim.Policy.preset("certctl-i005").replace(requeue_any_status=True, backoff_base=1.0, max_attempts=2)
    assert_same_run(scenario, policy, seed=9, horizon="30m")


def test_unknown_engine_is_a_config_error():
    with pytest.raises(notifsim.ConfigError, match="engine"):
        notifsim.simulate("default", "certctl-i005", horizon="1h", engine="fast")


class Callers(Workload):
    """``k`` callers that each create and send one row at ``at`` seconds (``hooks.create_and_send_each``)."""

    def __init__(self, k: int, at: float, channel: str = "Email", with_message: bool = True, then=None, columns: bool = False):
        self.k, self.at, self.channel, self.with_message, self.then, self.columns = k, at, channel, with_message, then, columns

    def process(self, hooks):
        if self.at:
            yield hooks.timeout(self.at)
        specs = []
        for i in range(self.k):
            spec = dict(type="RenewalSuccess", channel=self.channel, recipient="o@example.com", certificate_id=f"mc-{i}")
            if self.with_message:
                spec["message"] = f"renewed {i}"
            specs.append(spec)
        then = self.then(hooks) if self.then else (lambda seq: None)
        if self.columns:  # the same rows as columns (hooks.create_and_send_columns)
            fields = {name: [spec[name] for spec in specs] for name in ("type", "recipient", "message", "certificate_id")}
            hooks.create_and_send_columns(
                [hooks.now + 60.0] * self.k,
                [then] * self.k,
                types=fields["type"],
                channel=self.channel,
                recipients=fields["recipient"],
                messages=fields["message"],
                certificate_ids=fields["certificate_id"],
            )
        else:
            hooks.create_and_send_each([hooks.now + 60.0] * self.k, specs, [then] * self.k)
        yield hooks.timeout(1)


@pytest.mark.parametrize("k", [3, 20, 70])
def test_callers_before_a_tick_of_the_same_instant_run_the_same_on_both_engines(k):
    """At 0 s the callers' rows are created before the process tick of 0 s lists them; that tick sends them
    again from 0 s, so its returns fall among the callers' (a quota policy makes the order visible)."""
    scenario = notifsim.Scenario("callers", channels={"Slack": ch.Bernoulli(1.0, latency=2.0)}, workload=Callers(k, 0.0, channel="Slack"))
    a, _ = assert_same_run(scenario, notifsim.Policy.preset("grpc").replace(retry_quota=10), seed=0, horizon="10s")
    assert (a.attempts["loop"] == "process").any()  # the tick did send the callers' rows again


@pytest.mark.parametrize("latency", [2.0, ch.LogNormal(1.0, 4.0)])
@pytest.mark.parametrize("at", [0.0, 5.0, 60.0])
@pytest.mark.parametrize("k", [3, 20, 70])
def test_callers_given_as_columns_are_the_callers_given_as_dicts(k, at, latency):
    """``create_and_send_columns`` is ``create_and_send_each`` of the same rows: the same tables on both engines,
    whichever path the batched engine takes (deferred at a fixed latency, created together or as arrays at a random
    one, per event with a tick still to come at that instant)."""
    runs = []
    for columns in (False, True):
        scenario = notifsim.Scenario("callers", channels={"Email": ch.Bernoulli(0.3, latency=latency)}, workload=Callers(k, at, columns=columns))
        runs.append(assert_same_run(scenario, "certctl-i005", seed=3, horizon="5m")[0])
    dicts, columns = runs
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(dicts, name), getattr(columns, name))


@pytest.mark.parametrize("k", [3, 20, 70])
def test_callers_without_a_message_run_the_same_on_both_engines(k):
    scenario = notifsim.Scenario(
        "no-message", channels={"Email": ch.Bernoulli(0.5, latency=ch.LogNormal(1.0, 4.0))}, workload=Callers(k, 5.0, with_message=False)
    )
    assert_same_run(scenario, "certctl-i005", seed=1, horizon="10m")


@pytest.mark.parametrize("engine", ["events", "batched"])
@pytest.mark.parametrize("k", [3, 20, 70])
def test_a_callback_called_at_once_may_not_create_a_row_itself(engine, k):
    def then(hooks):
        row = dict(type="Nested", channel="Email", recipient="n@x", message="n", certificate_id=None)
        return lambda seq: hooks.create_and_send_then(hooks.now + 60, lambda s: None, **row)

    scenario = notifsim.Scenario("nested", channels={"Email": ch.Bernoulli(0.0, latency=0.0)}, workload=Callers(k, 5.0, then=then))
    with pytest.raises(RuntimeError, match="created a notification itself"):
        notifsim.simulate(scenario, "certctl-asbuilt", seed=1, horizon="1m", engine=engine)


class CreatorBursts(Workload):
    """Bursts of creators (one process each, ``hooks.create_and_send``) at instants on the tick grids, on mixed
    channels with mixed deadlines; the bursts are drawn from ``random.Random(seed)``."""

    def __init__(self, k: int, seed: int):
        self.k, self.seed = k, seed

    def process(self, hooks):
        r = random.Random(self.seed)
        for at in [0, 60, 60.0, 120, 121, 600]:
            if at > hooks.now:
                yield hooks.timeout(at - hooks.now)
            k = r.choice([self.k, self.k // 2, 17, 64, 65])
            chans = [r.choice(["Email", "Webhook", "Slack", "Teams", "PagerDuty"]) for _ in range(k)]
            specs = [
                dict(type=r.choice(["A", "B"]), channel=c, recipient=f"o{r.randint(0, 3)}@x", message=f"m{at}-{i}", certificate_id=r.choice([None, f"c{i}"]))
                for i, c in enumerate(chans)
            ]
            if r.random() < 0.5:
                deadlines = [hooks.now + r.choice([0.5, 5.0, 30.0, 1e9])] * k
            else:
                deadlines = [hooks.now + r.choice([0.5, 5.0, 30.0]) for _ in range(k)]
            for deadline, spec in zip(deadlines, specs):
                hooks.process(hooks.create_and_send(deadline, **spec))


def test_a_tick_handed_over_and_still_running_at_the_horizon_keeps_its_counts():
    """Two replicas (the second 30 s later, both restarted at 5 min): a process tick at 1:59:10 lists 120 rows and
    is handed over to the per-event path while its first Send (an Email, 60 s) is in flight; the run ends before
    the Send returns.  Both engines record the tick with its rows and no Send returned (the batched engine once
    recorded 0 rows)."""
    scenario = notifsim.Scenario(
        "horizon",
        channels={
            "Email": ch.Bernoulli(0.3, latency=60.0),
            "Webhook": ch.Bernoulli(0.3, latency=8.0),
            "Slack": ch.GilbertElliott(mean_up="10m", mean_down="5m", p_fail_up=0.1, p_fail_down=0.9, latency=30.0),
            "PagerDuty": ch.Outages([(50, "2m")], latency=30.0),
        },
        workload=CreatorBursts(20, 64),
        deployment=Deployment(replicas=2, stagger=30, restarts=["5m"], drain=10),
    )
    a, _ = assert_same_run(scenario, "certctl-i005", seed=64, horizon="2h")
    ticks = a.ticks
    tick = ticks[(ticks["at"] == a.start + pd.Timedelta("1h59m10s")) & (ticks["loop"] == "process") & (ticks["replica"] == 0)].iloc[0]
    assert (tick["rows"], tick["sends"], pd.isna(tick["duration_s"])) == (120, 0, True)


# -- rows the batched engine defers (a fleet's job notifications) -----------------------------------------


def test_a_deferred_job_notification_listed_while_in_flight_hand_worked():
    """One certificate due at the first renewal check, its job notifications on an Email that takes 50 s.  The job
    tick at 30 s calls the issuer (1 s) and creates RenewalSuccess at 31 s; its Send is in flight at the process
    tick of 60 s, which lists and sends it too; the deployment job (tick 90 s, call 1 s) creates DeploymentSuccess
    at 91 s, listed again by the tick of 120 s.  As built every Email Send returns the QUIT error: both rows end
    failed and stranded.  The batched engine keeps each row out of the table until the tick that lists it."""
    fleet = Fleet(
        certificates=1,
        remaining_days=[10, 10],
        auto_renew=1.0,
        renewal_latency=1.0,
        deployment_latency=1.0,
        deployment_targets=1,
        channels={"informational": [], "warning": [], "critical": []},
    )
    scenario = notifsim.Scenario("deferred", channels={"Email": ch.Bernoulli(0.0, latency=50.0)}, workload=fleet)
    a, _ = assert_same_run(scenario, "certctl-asbuilt", seed=1, horizon="4m", sample_interval="1m")
    start = scenario.start.timestamp()
    sends = [(row.at.timestamp() - start, row.loop, row.outcome) for row in a.attempts.itertuples()]
    assert sends == [(31.0, "create", "error"), (60.0, "process", "error"), (91.0, "create", "error"), (120.0, "process", "error")]
    assert list(a.notifications["type"]) == ["RenewalSuccess", "DeploymentSuccess"]
    samples = a.samples[["pending", "failed", "stranded"]].to_numpy().tolist()
    assert samples == [[0, 0, 0], [1, 0, 0], [1, 1, 1], [0, 2, 2]]  # at 0, 60, 120 and 180 s


@st.composite
def deferring_fleet(draw) -> dict:
    """A fleet whose job notifications the batched engine may defer: channels of fixed latency, a database that never
    fails, policies without a retry quota; Sends long enough to be in flight at ticks, failures the retry sweep lists,
    operators and samples that look meanwhile."""
    fleet = Fleet(
        certificates=draw(st.sampled_from([20, 120])),
        remaining_days=[0, 35],
        lifetime_days=draw(st.sampled_from([3.0, 33.0])),
        channels={"informational": ["Slack"], "warning": ["Slack", "Email"], "critical": ["Webhook"]},
        renewal_latency=draw(st.sampled_from([0.0, 1.0, 30.0])),
        deployment_latency=draw(st.sampled_from([0.0, 1.0])),
        renewal_failure_rate=draw(st.sampled_from([0.0, 0.3])),
        deployment_targets=draw(st.sampled_from([0, 1, 2])),
        job_concurrency=draw(st.sampled_from([1, 4, 25])),
        job_processor_interval=draw(st.sampled_from(["30s", "60s"])),
        job_processor_deadline=draw(st.sampled_from(["2m", "40s"])),
        revocations_per_day=draw(st.sampled_from([0.0, 20.0])),
    )
    channels = {
        "Email": ch.Bernoulli(draw(st.sampled_from([0.0, 0.3])), latency=draw(st.sampled_from([0.5, 2.0, 45.0, 59.5, 61.0]))),
        "Slack": ch.Bernoulli(0.2, latency=draw(st.sampled_from([0.0, 0.3, 60.0]))),
        "Webhook": ch.Bernoulli(0.1, latency=draw(st.sampled_from([1.0, 12.0]))),
    }
    operator = draw(st.sampled_from([None, Cadence(every="10m", rule="all", tab="stranded"), Cadence(every="7m", rule="healthy", tab="stranded")]))
    return {
        "scenario": notifsim.Scenario("deferring", channels=channels, workload=fleet, operator=operator),
        "policy": draw(st.sampled_from(["certctl-asbuilt", "certctl-i005", "sidekiq", "svix", "k8s-crashloop"])),
        "seed": draw(st.integers(0, 2**31)),
        "horizon": draw(st.sampled_from([6 * 3600, 86400])),
        "sample_interval": draw(st.sampled_from(["1m", "7m", "15m"])),
    }


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(deferring_fleet())
def test_batched_equals_events_for_fleets_whose_rows_are_deferred(world):
    note(json.dumps(world["scenario"].describe(), default=str))
    assert_same_run(world["scenario"], world["policy"], seed=world["seed"], horizon=world["horizon"], sample_interval=world["sample_interval"])


class AlertCreators(Observer):
    """Creator processes that each create and send an expiry alert (``hooks.create_and_send``), then read the row
    back and ask the dedup lookup about its key and a neighbour's, as the renewal check does; a watcher reads the
    log of alerts that stopped suppressing.  Everything seen goes to ``seen`` (the batched engine defers alerts on
    channels of fixed latency and must show the same)."""

    def process(self, hooks):
        r = self.start()
        hooks.process(self.watcher(hooks))
        for at in sorted([*(r.uniform(0, 900) for _ in range(30)), 60.0, 60.0, 120.0]):  # and instants on the tick grids
            if at > hooks.now:
                yield hooks.timeout(at - hooks.now)
            for _ in range(r.choice([1, 2, 5])):
                cert, threshold, channel = r.choice([f"mc-{r.randint(0, 3)}"] * 5 + [None]), r.choice([30, 7]), r.choice(["Email", "Slack", "Webhook"])
                tagged = r.random() < 0.8  # an alert without the dedup tag (or a certificate) is logged, never found
                hooks.process(self.creator(hooks, cert, threshold, channel, r.choice([2.0, 45.0, 1e6]), tagged))

    def creator(self, hooks, cert, threshold, channel, deadline, tagged):
        seen = self.seen
        seen.append(("before", hooks.now, cert, threshold, channel, hooks.has_alert(cert, threshold, channel)))
        message = f"expires soon [threshold:{threshold}]" if tagged else "expires soon"
        spec = dict(type="ExpirationWarning", channel=channel, recipient="o@x", message=message, certificate_id=cert)
        row = yield from hooks.create_and_send(hooks.now + deadline, **spec)
        seen.append(("after", hooks.now, None if row is None else (row.status, row.retry_count, row.last_error)))
        seen.append(("same", hooks.has_alert(cert, threshold, channel), hooks.has_alert(cert, 37 - threshold, channel)))

    def watcher(self, hooks):
        cursor = 0
        while True:
            yield hooks.timeout(7.5)
            changed, cursor = hooks.unsuppressed_alerts_since(cursor)
            self.seen.append(("log", hooks.now, changed, cursor))


@pytest.mark.parametrize("dedup", ["any", "not-failed", "delivered"])
@pytest.mark.parametrize("seed", [1, 2])
def test_expiry_alerts_read_back_the_same_on_both_engines(dedup, seed):
    """Alerts a caller creates and sends, read back at once: the row (its Send's status write done), the dedup lookup
    on its own key (a deferred row must be found) and the log of rows that stopped suppressing."""
    workload = AlertCreators(seed)
    channels = {"Email": ch.Bernoulli(0.4, latency=1.5), "Slack": ch.Bernoulli(0.5, latency=30.0), "Webhook": ch.Bernoulli(0.3, latency=0.0)}
    scenario = notifsim.Scenario("alerts", channels=channels, workload=workload)
    policy = notifsim.Policy.preset("certctl-i005").replace(dedup_statuses=dedup)
    seen, deferred = [], []
    admit = Deferred.admit

    def counting(self, deadlines, columns, alerts=False):  # how many alerts the batched engine deferred
        first = admit(self, deadlines, columns, alerts)
        deferred.extend(t for t in columns[0] if first is not None and t == "ExpirationWarning")
        return first

    for engine in ("events", "batched"):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Deferred, "admit", counting)
            notifsim.simulate(scenario, policy, seed=seed, horizon="20m", engine=engine, sample_interval="1m")
        seen.append(workload.seen)
    assert len(deferred) > 20  # the batched engine did defer alerts (a Send on Email or Slack, off the tick grid)
    assert seen[0] == seen[1]
    assert_same_run(scenario, policy, seed=seed, horizon="20m", sample_interval="1m")
    after = [entry[2] for entry in seen[0] if entry[0] == "after"]
    assert any(row is not None and row[0] in ("sent", "failed") for row in after)  # read back after the write
    assert any(entry[1] for entry in seen[0] if entry[0] == "same")  # a lookup found the row just created


class _TwoGroups(Workload):
    """Callers on Slack (5 s Sends) at 9,999 s, then on Email at 10,001 s, just after that instant's sample."""

    def process(self, hooks):
        def specs(channel):
            return [dict(type="RenewalSuccess", channel=channel, recipient="o", message="m", certificate_id=None)] * 20

        yield hooks.timeout(9999.0)
        hooks.create_and_send_each([hooks.now + 600] * 20, specs("Slack"), [lambda seq: None] * 20)
        yield hooks.timeout(10000.5 - hooks.now)
        yield hooks.timeout(0.5)
        hooks.create_and_send_each([hooks.now + 600] * 20, specs("Email"), [lambda seq: None] * 20)
        yield hooks.timeout(1)


def test_a_send_that_returns_at_its_own_instant_is_not_deferred():
    """An Email of 1e-13 s returns at the very instant it begins (10,001 + 1e-13 = 10,001): its rows, created just
    after the sample of 10,001 s, are not in that sample (deferring them counted them in as already written)."""
    scenario = notifsim.Scenario("tiny", channels={"Slack": ch.Bernoulli(0.5, latency=5.0), "Email": ch.Bernoulli(0.5, latency=1e-13)}, workload=_TwoGroups())
    a, _ = assert_same_run(scenario, "certctl-i005", seed=1, horizon="10010s", sample_interval="1s")
    assert a.samples.iloc[10001][["pending", "sent", "failed"]].tolist() == [20, 0, 0]  # the Slack rows, in flight


@pytest.mark.parametrize("sample_interval", ["10m", "1h"])
def test_overlapping_database_outages_fail_every_tick_within_either(sample_interval):
    """A 1-minute outage inside a 3-hour one: the database is down throughout, so every tick's List fails, whether the
    batched engine skips a few empty ticks or many (a 1 h sampler lets it skip more than SMALL_SKIP at once)."""
    database = Database(outages=[(0, "3h"), ("5m", "1m")])
    scenario = notifsim.Scenario("nested", channels={"Email": ch.Bernoulli(0.9, latency=1.0)}, database=database)
    a, _ = assert_same_run(scenario, "certctl-i005", seed=1, horizon="3h", sample_interval=sample_interval)
    assert a.ticks["error"].notna().all() and len(a.ticks) > 200


def _row(message: str, channel: str = "Slack") -> dict:
    return dict(type="RenewalSuccess", channel=channel, recipient="o@example.com", message=message, certificate_id=None)


class _LateLook(Workload):
    """A row whose Send returns at 15 s, then, at 15 s, a creator process (it starts as an urgent event)."""

    def process(self, hooks):
        yield hooks.timeout(10)
        hooks.create_and_send_each([hooks.now + 60], [_row("first")], [lambda seq: None])
        yield hooks.timeout(5)
        hooks.process(hooks.create_and_send(hooks.now + 60, **_row("creator")))


class _LookingOperator(ScriptedOperator):
    """At 15 s, from an urgent event, marks read every row listed as pending."""

    def __init__(self):
        super().__init__([])

    def process(self, hooks):
        yield hooks.timeout(15)

        def look():
            for row in hooks.list_notifications("pending") or []:
                hooks.mark_as_read(row.id)

        hooks.soon(look)


def test_rows_looked_at_from_an_urgent_event_are_as_their_sends_left_them():
    """A Send returns at 15 s; the sampler, a creator process and an operator's urgent event look at 15 s after it:
    they see the row sent (the batched engine had kept it out of the table, and created it at the look)."""
    channels = {"Slack": ch.Bernoulli(0.0, latency=5.0)}
    a, _ = assert_same_run(notifsim.Scenario("late", channels=channels, workload=_LateLook()), "certctl-asbuilt", seed=1, horizon=30, sample_interval="15s")
    assert a.samples[["pending", "sent"]].to_numpy().tolist() == [[0, 0], [0, 1]]
    looked = notifsim.Scenario("looked", channels=channels, workload=Callers(1, 10.0, channel="Slack"), operator=_LookingOperator())
    b, _ = assert_same_run(looked, "certctl-asbuilt", seed=1, horizon=40)
    assert b.requeues.empty and list(b.notifications["status"]) == ["sent"]


class _FollowUps(Workload):
    """Two callers whose Sends return together; the first one's callback creates a row from an urgent event, the
    second one's creates a row at once."""

    def process(self, hooks):
        yield hooks.timeout(10)
        first = lambda seq: hooks.soon(lambda: hooks.create(deadline=60, **_row("after first")))  # noqa: E731
        second = lambda seq: hooks.create(deadline=60, **_row("after second"))  # noqa: E731
        hooks.create_and_send_each([hooks.now + 60] * 2, [_row("a"), _row("b")], [first, second])


@pytest.mark.parametrize("database", [None, Database(write_error_rate=0.01)])  # deferred, or created together
def test_what_a_callback_starts_now_runs_before_the_next_row_returns(database):
    """In the reference each row's Send returns in an event of its own, so what the first callback starts at that
    instant runs before the second row returns: its row is created first."""
    scenario = notifsim.Scenario("follow-ups", channels={"Slack": ch.Bernoulli(0.0, latency=2.0)}, workload=_FollowUps(), database=database)
    a, _ = assert_same_run(scenario, "certctl-asbuilt", seed=1, horizon=30)
    assert list(a.notifications["message"]) == ["a", "b", "after first", "after second"]


class _Nested(Workload):
    """A caller whose Send takes no time and whose callback creates and sends a row of its own at once."""

    def process(self, hooks):
        yield hooks.timeout(10)
        nested = lambda seq: hooks.create_and_send_each([hooks.now + 60], [_row("nested")], [lambda s: None])  # noqa: E731
        hooks.create_and_send_each([hooks.now + 60], [_row("outer", "Email")], [nested])


@pytest.mark.parametrize("engine", ["events", "batched"])
def test_a_callback_creating_a_row_at_once_is_refused_even_if_that_row_would_be_deferred(engine):
    scenario = notifsim.Scenario("nested", channels={"Email": ch.Bernoulli(0.0, latency=0.0), "Slack": ch.Bernoulli(0.0, latency=2.0)}, workload=_Nested())
    with pytest.raises(RuntimeError, match="created a notification itself"):
        notifsim.simulate(scenario, "certctl-i005", seed=1, horizon=30, engine=engine)
