"""Issue 4: the policy space (schedules, jitter, budgets, classification), the industry presets and the what-if switches.

Schedules are checked twice: as pure arithmetic against the published formulas written out
here independently, and end to end — an always-failing notifier under each preset, on a fixed seed, must
send at exactly the times the formula gives, quantised to the preset's retry tick.  The jitter draw of a
Send is ``Streams(seed).keyed("jitter")`` at the Send's key (notification key + attempt number), the
same key as its outcome, so those times are computable here.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import notifsim
from notifsim import ConfigError, Policy
from notifsim.channels import Bernoulli, Scripted, TokenBucket, http_error
from notifsim.machine import NotificationService, NotificationTable
from notifsim.operators import Scripted as ScriptedOperator
from notifsim.policy import INDUSTRY_PRESETS, JITTERS, PERMANENT_ERRORS, SWITCHES, WHAT_IFS
from notifsim.streams import KeyedUniform, mix64, stable_key
from notifsim.workloads import Fleet, Poisson

ASBUILT = Policy.preset("certctl-asbuilt")
I005 = Policy.preset("certctl-i005")
INDUSTRY = [spec["name"] for spec in INDUSTRY_PRESETS]
FAIL = "slack: webhook returned HTTP 503: service unavailable"
README = Path(__file__).resolve().parents[1] / "README.md"


# -- the formulas, written out independently of notifsim.policy ----------------------------------------

FORMULAS = {
    # nominal wait after a failure at retry count c, and the jitter applied with a uniform u
    "certctl-asbuilt": (lambda c: min(60 * 2**c, 3600), lambda v, c, u: v),
    "certctl-i005": (lambda c: min(60 * 2**c, 3600), lambda v, c, u: v),
    "sidekiq": (lambda c: c**4 + 15, lambda v, c, u: v + math.floor(u * 10 * (c + 1))),
    "sqs": (lambda c: 30, lambda v, c, u: v),
    "pubsub": (lambda c: min(10 * 2**c, 600), lambda v, c, u: v),
    "celery": (lambda c: min(600, 1 * 2**c), lambda v, c, u: u * v),
    "grpc": (lambda c: min(1.0 * 1.6**c, 120), lambda v, c, u: v * (1 + 0.2 * (2 * u - 1))),
    "aws-sdk-standard": (lambda c: min(2**c, 20), lambda v, c, u: u * v),
    "svix": (lambda c: [5, 300, 1800, 7200, 18000, 36000, 36000][min(c, 6)], lambda v, c, u: v),
    "k8s-crashloop": (lambda c: min(10 * 2**c, 300), lambda v, c, u: v),
}
BUDGETS = {
    "certctl-asbuilt": 5,
    "certctl-i005": 5,
    "sidekiq": 26,
    "sqs": 5,
    "pubsub": 5,
    "celery": 4,
    "grpc": 10_000,
    "aws-sdk-standard": 3,
    "svix": 8,
    "k8s-crashloop": 10_000,
}


def test_every_preset_has_a_formula_here():
    assert set(FORMULAS) == set(Policy.presets()) == set(BUDGETS)


@pytest.mark.parametrize("name", list(FORMULAS))
def test_nominal_schedule_matches_formula(name):
    policy = Policy.preset(name)
    nominal, jitter = FORMULAS[name]
    assert policy.max_attempts == BUDGETS[name]
    for c in range(40):
        assert policy.backoff(c) == pytest.approx(nominal(c), rel=1e-12)
        for u in (0.0, 0.137, 0.5, 0.999):
            assert policy.jittered(c, u) == pytest.approx(jitter(nominal(c), c, u), rel=1e-12)


def test_published_schedules_literally():
    """The published numbers, as lists."""
    assert Policy.preset("sidekiq").waits(5) == [15, 16, 31, 96, 271]
    assert Policy.preset("sidekiq").backoff(24) == 331_791  # the 25th retry waits ≈ 3.84 d
    assert sum(Policy.preset("sidekiq").waits()) == 1_763_395  # Σ over 25 retries ≈ 20.4 days
    assert Policy.preset("svix").waits() == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert sum(Policy.preset("svix").waits()) / 3600 == pytest.approx(27.58, abs=0.01)
    assert [round(w, 2) for w in Policy.preset("grpc").waits(12)] == [1, 1.6, 2.56, 4.1, 6.55, 10.49, 16.78, 26.84, 42.95, 68.72, 109.95, 120]
    assert Policy.preset("k8s-crashloop").waits(8) == [10, 20, 40, 80, 160, 300, 300, 300]
    assert Policy.preset("celery").waits(12)[-3:] == [512, 600, 600]
    assert Policy.preset("pubsub").waits() == [10, 20, 40, 80]
    assert Policy.preset("aws-sdk-standard").waits() == [1, 2]
    assert Policy.preset("sqs").waits() == [30, 30, 30, 30]


def _expected_attempt_times(policy: Policy, seed: int, nid: str, horizon: float) -> tuple[list[float], bool]:
    """Send times of an initial pending row whose every Send fails at once (latency 0), from the formula.

    The process tick at 0 sends it; each failure at count c schedules next_retry_at = now + wait; the retry
    loop (ticks at k·retry_interval) sends it at the first tick at or after next_retry_at.  Returns the times
    and whether the row ends dead within the horizon.
    """
    nominal, jitter = FORMULAS[policy.name]
    draw = KeyedUniform(seed, "jitter")
    key = stable_key("initial", nid)
    times, t, c = [0.0], 0.0, 0
    while True:
        if c >= policy.max_attempts - 1:
            return times, True
        u = draw(mix64(key + c))
        nra = t + jitter(nominal(c), c, u)
        k = math.ceil(nra / policy.retry_interval - 1e-12)
        t = k * policy.retry_interval
        if t >= horizon:
            return times, False
        times.append(t)
        c += 1


HORIZON = {"sidekiq": "3h", "svix": "28h", "grpc": "30m", "k8s-crashloop": "1h", "certctl-asbuilt": "1h", "certctl-i005": "1h"}


@pytest.mark.parametrize("name", [n for n in FORMULAS if n != "certctl-asbuilt"])
def test_preset_schedule_end_to_end_equals_formula(name):
    policy = Policy.preset(name)
    seed = 11
    scenario = notifsim.Scenario(
        channels={"Slack": Scripted([], then=FAIL)},
        initial_rows=[{"id": "n1", "channel": "Slack", "status": "pending", "created_at": -1.0}],
    )
    horizon = notifsim.timeutil.parse_duration(HORIZON.get(name, "2h"), "horizon")
    result = notifsim.simulate(scenario, policy, seed=seed, horizon=horizon)
    expected, dead = _expected_attempt_times(policy, seed, "n1", horizon)
    got = (result.attempts["at"] - result.start).dt.total_seconds().to_numpy()
    np.testing.assert_allclose(got, expected, atol=2e-6)
    assert list(result.attempts["retry_count_before"]) == list(range(len(expected)))
    assert result.row("n1")["status"] == ("dead" if dead else "failed")
    assert len(expected) >= min(policy.max_attempts, 4)  # the check covers several waits


def test_asbuilt_first_failure_has_no_schedule():
    scenario = notifsim.Scenario(channels={"Slack": Scripted([], then=FAIL)}, initial_rows=[{"id": "n1", "channel": "Slack", "status": "pending"}])
    result = notifsim.simulate(scenario, ASBUILT, seed=11, horizon="1h")
    assert len(result.attempts) == 1 and result.row("n1")["status"] == "failed" and pd.isna(result.row("n1")["next_retry_at"])


@pytest.mark.parametrize("name", INDUSTRY)
def test_industry_presets_arm_first_failures_and_document_themselves(name):
    policy = Policy.preset(name)
    assert policy.arm_first_failure
    assert "Source:" in policy.description and "Approximations:" in policy.description
    assert 1.0 <= policy.retry_interval <= 120.0
    if policy.max_attempts >= 10_000:
        assert "bounded at 10,000 attempts" in policy.description
    # only the retry policy differs from certctl-i005
    assert {k for k, v in policy.to_dict().items() if I005.to_dict()[k] != v} <= {
        "name",
        "backoff_schedule",
        "backoff_table",
        "backoff_base",
        "backoff_multiplier",
        "backoff_cap",
        "jitter",
        "jitter_fraction",
        "max_attempts",
        "retry_interval",
        "retry_quota",
        "permanent_errors",
        "requeue_mode",
    }


def test_readme_presets_table_lists_every_preset():
    text = README.read_text()
    table = text[text.index("| preset |") :]
    table = table[: table.index("\n\n")]
    names = re.findall(r"^\| `([^`]+)` \|", table, flags=re.M)
    assert names == Policy.presets()


@pytest.mark.parametrize("name", list(FORMULAS))
def test_presets_round_trip_through_plain_values(name):
    policy = Policy.preset(name)
    assert Policy.from_dict(policy.to_dict()) == policy


# -- jitter: bounds (hypothesis) and means (confidence intervals) -----------------------------------------

JITTERED = {
    "full": Policy(jitter="full"),
    "equal": Policy(jitter="equal"),
    "decorrelated": Policy(jitter="decorrelated", backoff_base=5.0, backoff_cap=2000.0),
    "proportional": Policy(jitter="proportional", jitter_fraction=0.2, backoff_base=1.0, backoff_multiplier=1.6, backoff_cap=120.0),
    "sidekiq": Policy(backoff_schedule="sidekiq", jitter="sidekiq"),
}


def test_every_jitter_kind_is_covered():
    assert set(JITTERED) | {"none"} == set(JITTERS)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(sorted(JITTERED)), c=st.integers(0, 40), u=st.floats(0.0, 1.0, exclude_max=True), previous=st.none() | st.floats(5.0, 5000.0))
def test_jitter_stays_within_its_bounds(kind, c, u, previous):
    policy = JITTERED[kind]
    lo, hi = policy.jitter_bounds(c, previous)
    wait = policy.jittered(c, u, previous)
    assert lo - 1e-9 <= wait <= hi + 1e-9
    v = policy.backoff(c)
    if kind == "full":
        assert (lo, hi) == (0.0, v)
    elif kind == "equal":
        assert (lo, hi) == (v / 2, v)
    elif kind == "proportional":
        assert (lo, hi) == pytest.approx((0.8 * v, 1.2 * v))
    elif kind == "sidekiq":
        assert wait == int(wait) and (lo, hi) == (c**4 + 15, c**4 + 15 + 10 * (c + 1) - 1)
    else:
        prev = 5.0 if previous is None else previous
        assert (lo, hi) == (5.0, min(2000.0, 3 * prev))


def _expected_mean(kind: str, policy: Policy, c: int, previous: float | None) -> float:
    v = policy.backoff(c)
    if kind == "full":
        return v / 2
    if kind == "equal":
        return 3 * v / 4
    if kind == "proportional":
        return v
    if kind == "sidekiq":
        return v + (10 * (c + 1) - 1) / 2
    base, cap = policy.backoff_base, policy.backoff_cap
    top = 3 * (base if previous is None else previous)  # E[min(cap, U(base, top))]
    if top <= cap:
        return (base + top) / 2
    p_below = (cap - base) / (top - base)
    return p_below * (base + cap) / 2 + (1 - p_below) * cap


@pytest.mark.parametrize("kind", sorted(JITTERED))
@pytest.mark.parametrize("c, previous", [(0, None), (3, 40.0), (9, 1500.0)])
def test_jitter_mean_within_confidence_interval(kind, c, previous):
    """Mean of 20,000 waits drawn with the engine's keyed jitter stream: within 4 standard errors (and 1 %) of the formula."""
    policy = JITTERED[kind]
    draw = KeyedUniform(2024, "jitter")
    waits = np.array([policy.jittered(c, draw(mix64(k)), previous) for k in range(20_000)])
    expected = _expected_mean(kind, policy, c, previous)
    se = waits.std(ddof=1) / math.sqrt(len(waits))
    assert abs(waits.mean() - expected) <= 4 * se + 1e-9
    assert abs(waits.mean() - expected) <= 0.01 * expected


def test_decorrelated_jitter_remembers_the_previous_wait():
    """AWS decorrelated jitter: sleep = min(cap, U(base, 3·sleep)); the machine keeps each row's last wait."""
    policy = I005.replace(jitter="decorrelated", backoff_base=5.0, backoff_cap=2000.0, max_attempts=10)
    table = NotificationTable()
    table.insert(id="n1", type="RenewalFailure", channel="Slack", recipient="r", status="pending", retry_count=0)
    service = NotificationService(table, policy, ["Slack"])
    us = [0.9, 0.9, 0.1, 0.9]
    prev, now = 5.0, 0.0
    row = service.finish_send("n1", FAIL, now, jitter_u=us[0])
    for i, u in enumerate(us):
        expected = min(2000.0, 5.0 + u * (3 * prev - 5.0))
        assert row.next_retry_at - now == pytest.approx(expected)
        prev, now = expected, row.next_retry_at
        if i + 1 < len(us):
            row = service.finish_retry("n1", row.retry_count, FAIL, now, jitter_u=us[i + 1])


def test_jitter_draws_are_keyed_by_the_send_not_by_traffic():
    """Common random numbers: an unrelated extra notification does not move a row's jittered retry times."""
    policy = Policy.preset("grpc")
    row = {"id": "n1", "channel": "Slack", "status": "pending"}
    quiet = notifsim.Scenario(channels={"Slack": Scripted([], then=FAIL), "Email": Bernoulli(0.5)}, initial_rows=[row])
    busy = notifsim.Scenario(
        channels={"Slack": Scripted([], then=FAIL), "Email": Bernoulli(0.5)},
        initial_rows=[row],
        workload=Poisson(600, channels={"Email": 1.0}),
    )
    a = notifsim.simulate(quiet, policy, seed=5, horizon="20m").attempts
    b = notifsim.simulate(busy, policy, seed=5, horizon="20m").attempts
    times = lambda att: list(att.loc[att["notification_id"] == "n1", "at"])  # noqa: E731
    assert len(times(a)) > 8 and times(a) == times(b)


# -- budgets: the retry quota ------------------------------------------------------------------------------


def _failing_rows(n: int, channel: str = "Slack") -> list[dict]:
    return [{"id": f"n{i}", "channel": channel, "status": "pending", "created_at": -10.0} for i in range(n)]


@pytest.mark.parametrize("empty", ["dead", "stranded"])
def test_quota_that_runs_dry_stops_retries(empty):
    """20 tokens at 5 a retry: the first four failures are retried, then nothing is (AWS SDK RetryQuotaReached).

    The process tick at 0 sends n0..n9 in order: n0-n3 take 5 tokens each, n4-n9 find the bucket empty and go
    ``retry_quota_empty`` at once; the retries of n0-n3 fail again and cannot be paid for either.
    """
    policy = I005.replace(retry_quota=20, retry_quota_cost=5, max_attempts=3, retry_quota_empty=empty)
    scenario = notifsim.Scenario(channels={"Slack": Scripted([], then=FAIL)}, initial_rows=_failing_rows(10))
    result = notifsim.simulate(scenario, policy, horizon="1h")
    n = result.notifications.set_index("id")
    assert list(n["attempts"]) == [2, 2, 2, 2, 1, 1, 1, 1, 1, 1]
    assert list(n["retry_count"]) == [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    if empty == "dead":
        assert (n["status"] == "dead").all()
    else:
        assert (n["status"] == "failed").all() and n["next_retry_at"].isna().all()
        assert (n["last_error"] == FAIL).all()
    # without the quota every row gets its 3 attempts
    free = notifsim.simulate(scenario, policy.replace(retry_quota=0), horizon="1h")
    assert (free.notifications["attempts"] == 3).all()


def test_quota_timeouts_cost_more():
    """A timeout costs 10 tokens (botocore _TIMEOUT_RETRY_REQUEST): 20 tokens pay for two timeout retries."""
    timeout = "slack: request failed: Client.Timeout exceeded while awaiting headers (10s)"
    policy = I005.replace(retry_quota=20, max_attempts=3)
    scenario = notifsim.Scenario(channels={"Slack": Scripted([], then=timeout)}, initial_rows=_failing_rows(4))
    result = notifsim.simulate(scenario, policy, horizon="1h")
    assert list(result.notifications["attempts"]) == [2, 2, 1, 1]


def test_quota_refunds_on_success():
    """botocore release_retry_quota: +1 after a success without retry, the last retry's cost after one that retried."""
    policy = I005.replace(retry_quota=10, max_attempts=5)
    table = NotificationTable()
    for nid in ("a", "b", "c"):
        table.insert(id=nid, type="RenewalFailure", channel="Slack", recipient="r", status="pending", retry_count=0)
    service = NotificationService(table, policy, ["Slack"])
    service.finish_send("a", FAIL, 1.0)
    assert service.quota_tokens("Slack") == 5
    service.finish_send("b", None, 2.0)  # clean success
    assert service.quota_tokens("Slack") == 6
    service.finish_retry("a", 1, None, 70.0)  # success after a retry: its 5 tokens come back
    assert service.quota_tokens("Slack") == 10  # capped at the capacity (6 + 5 > 10)
    service.finish_send("c", None, 71.0)
    assert service.quota_tokens("Slack") == 10
    assert service.quota_tokens("Email") == 10  # one bucket per channel
    assert NotificationService(table, I005, ["Slack"]).quota_tokens("Slack") is None


def test_aws_sdk_standard_preset_quota_drains_under_an_outage():
    """500 tokens, 5 a retry: ≈100 retries drain it; after that failures are dead at once."""
    scenario = notifsim.Scenario(channels={"Slack": Scripted([], then=FAIL)}, initial_rows=_failing_rows(150))
    result = notifsim.simulate(scenario, "aws-sdk-standard", horizon="10m")
    n = result.notifications
    assert (n["status"] == "dead").all()
    # each retried row took 5 tokens per retry: 500 / 5 = 100 retries paid in all
    assert int((n["attempts"] - 1).sum()) == 100


# -- Retry-After ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "retry_after, cap, honour, wait",
    [(45.0, 60.0, True, 45.0), (500.0, 60.0, True, 60.0), (10.0, 60.0, True, 30.0), (500.0, 60.0, False, 30.0), (None, 60.0, True, 30.0)],
)
def test_retry_after_honoured_up_to_the_cap_pure(retry_after, cap, honour, wait):
    policy = Policy.preset("sqs").replace(honor_retry_after=honour, retry_after_cap=cap)
    assert policy.delay(0, retry_after=retry_after) == wait


@pytest.mark.parametrize("honour, cap, first_retry_at", [(False, 3600.0, 120.0), (True, 600.0, 600.0), (True, 3600.0, 1080.0)])
def test_retry_after_honoured_and_capped_end_to_end(honour, cap, first_retry_at):
    """A token bucket of one token refilled every 1000 s: the second alert gets a 429 with Retry-After 1000 s.

    certctl-i005's own wait would be 60 s (retry at the 120 s tick); honoured up to 600 s the retry waits for
    the 600 s tick; honoured up to an hour it waits the full 1000 s (first retry tick at or after: 1080 s).
    """
    policy = I005.replace(honor_retry_after=honour, retry_after_cap=cap)
    scenario = notifsim.Scenario(channels={"Slack": TokenBucket(burst=1, rate_per_s=0.001)}, initial_rows=_failing_rows(2))
    result = notifsim.simulate(scenario, policy, horizon="40m")
    att = result.attempts[result.attempts["notification_id"] == "n1"]
    assert att.iloc[0]["error"].startswith("slack: webhook returned HTTP 429")
    assert (att.iloc[1]["at"] - result.start).total_seconds() == first_retry_at


# -- error classification ------------------------------------------------------------------------------------


def test_permanent_errors_go_straight_to_dead_transient_ones_retry():
    gone = http_error("Slack", 404, "no_service")
    scenario = notifsim.Scenario(
        channels={"Slack": Scripted([], then=gone), "PagerDuty": Scripted([], then=http_error("PagerDuty", 503, "unavailable"))},
        initial_rows=[*_failing_rows(1, "Slack"), {"id": "p0", "channel": "PagerDuty", "status": "pending"}],
    )
    classified = I005.replace(permanent_errors=PERMANENT_ERRORS)
    result = notifsim.simulate(scenario, classified, horizon="1h")
    assert result.row("n0")["status"] == "dead" and result.row("n0")["attempts"] == 1 and result.row("n0")["retry_count"] == 0
    assert result.row("p0")["status"] == "dead" and result.row("p0")["attempts"] == 5
    plain = notifsim.simulate(scenario, I005, horizon="1h")
    assert plain.row("n0")["attempts"] == 5  # certctl has no classification
    # as built, classification turns a stranded permanent failure into a dead one (and nothing else)
    asbuilt = notifsim.simulate(scenario, ASBUILT.replace(permanent_errors=PERMANENT_ERRORS), horizon="1h")
    assert asbuilt.row("n0")["status"] == "dead" and asbuilt.row("p0")["status"] == "failed"


@pytest.mark.parametrize(
    "error, permanent",
    [
        (http_error("Slack", 404, "no_service"), True),
        (http_error("PagerDuty", 400, "Invalid routing key"), True),
        (http_error("Slack", 429, "rate_limited"), False),
        (http_error("Slack", 408, "Request Timeout"), False),
        (http_error("Teams", 503, "service unavailable"), False),
        ("failed to set recipient: 550 5.1.1 <x@example.com>: Recipient address rejected: User unknown", True),
        ("failed to set recipient: 451 4.7.1 <x@example.com>: Greylisted, try again later", False),
        ("email: recipient address is required", True),
        ("failed to connect via TLS: dial tcp: connection refused", False),
        ("context deadline exceeded", False),
    ],
)
def test_permanent_error_class(error, permanent):
    assert I005.replace(permanent_errors=PERMANENT_ERRORS).is_permanent(error) is permanent
    assert I005.is_permanent(error) is False


# -- validation ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, field, mentions",
    [
        ({"backoff_schedule": "polynomial"}, "policy.backoff_schedule", "exponential, fixed, sidekiq, table"),
        ({"jitter": "fuzzy"}, "policy.jitter", "decorrelated, equal, full, none, proportional, sidekiq"),
        ({"jitter_fraction": 1.5}, "policy.jitter_fraction", "[0, 1]"),
        ({"backoff_schedule": "table"}, "policy.backoff_table", "at least one wait"),
        ({"backoff_table": [5, "soon"]}, "policy.backoff_table[1]", "duration"),
        ({"retry_quota": -1}, "policy.retry_quota", ">= 0"),
        ({"retry_quota_cost": 2.5}, "policy.retry_quota_cost", "integer"),
        ({"retry_quota_empty": "limbo"}, "policy.retry_quota_empty", "dead, stranded"),
        ({"permanent_errors": ["HTTP 4("]}, "policy.permanent_errors[0]", "regular expression"),
        ({"permanent_errors": "HTTP 404"}, "policy.permanent_errors", "list"),
        ({"honor_retry_after": "yes"}, "policy.honor_retry_after", "true or false"),
        ({"retry_after_cap": 0}, "policy.retry_after_cap", "> 0"),
        ({"requeue_mode": "twice"}, "policy.requeue_mode", "one_more, reset"),
    ],
)
def test_invalid_policy_space_values_name_field_and_allowed(changes, field, mentions):
    with pytest.raises(ConfigError) as info:
        I005.replace(**changes)
    assert info.value.field == field
    assert mentions in str(info.value)


def test_policy_from_toml_table_with_the_new_fields():
    policy = Policy.from_dict(
        {
            "preset": "certctl-i005",
            "backoff_schedule": "table",
            "backoff_table": ["5s", "5m", "30m"],
            "jitter": "equal",
            "permanent_errors": list(PERMANENT_ERRORS),
        }
    )
    assert policy.backoff_table == (5.0, 300.0, 1800.0) and policy.waits() == [5, 300, 1800, 1800]
    assert policy.is_permanent(http_error("Slack", 404, "x"))


# -- the what-if table: each switch flipped alone changes exactly what it names -------------------------------

_BACKLOG = [
    dict(id=f"backlog-{i}", channel="Slack", type="ExpirationWarning", recipient="ops@example.com", status="pending", created_at=-3600.0) for i in range(80)
]
_ARMED = [
    dict(
        id=f"armed-{i}",
        channel="Slack",
        type="RenewalFailure",
        recipient="ops@example.com",
        status="failed",
        retry_count=1,
        next_retry_at=-60.0,
        last_error="old",
        sent_at="0001-01-01T00:00:00Z",
        created_at=-600.0,
    )
    for i in range(20)
]
_SENT = [dict(id="sent-1", channel="Slack", type="RenewalSuccess", recipient="ops@example.com", status="sent", sent_at=-60.0, created_at=-120.0)]

WHAT_IF = notifsim.Scenario(
    "what-if",
    channels={"Slack": Bernoulli(0.3, latency=0.3), "Email": Bernoulli(0.05, latency=1.5), "Webhook": Bernoulli(0.1, latency=0.5)},
    workload=Poisson(120, channels={"Slack": 0.5, "Email": 0.3, "Webhook": 0.2}, types={"ExpirationWarning": 0.7, "RenewalSuccess": 0.3}),
    initial_rows=_BACKLOG + _ARMED + _SENT,  # a pending backlog (> 50), rows already armed for retry, a sent row
    operator=ScriptedOperator([(1800, "requeue", "sent-1")]),
)

WHAT_IF_FLEET = notifsim.Scenario(
    "what-if-fleet",
    channels={"Slack": Bernoulli(0.3, latency=0.3)},
    workload=Fleet(
        certificates=200, remaining_days=[0, 10], auto_renew=0.0, thresholds=[7, 0], channels={t: ["Slack"] for t in ("informational", "warning", "critical")}
    ),
)


def _metrics(result) -> dict[str, int]:
    n, a, t, q = result.notifications, result.attempts, result.ticks, result.requeues
    s = result.summary(include_initial=True)
    return {
        "stranded": int(s["stranded"]),
        "dead": int(s["dead_lettered"]),
        "ghost": int(s["ghost_sent"]),
        "delivered": int(s["delivered"]),
        "duplicated": int(s["duplicated"]),
        "attempts": len(a),
        "retry_sends": int((a["loop"] == "retry").sum()),
        "webhook_sends": int((a["channel"] == "Webhook").sum()),
        "email_delivered_reported_failed": int(((a["channel"] == "Email") & a["delivered"] & (a["outcome"] == "error")).sum()),
        "max_process_batch": int(t.loc[t["loop"] == "process", "rows"].max()),
        "refused_requeues": int((q["outcome"] == "refused").sum()),
        "stale_sent_rows": int(((n["status"] == "sent") & (n["next_retry_at"].notna() | n["last_error"].notna())).sum()),
        "alerts": int((n["type"] == "ExpirationWarning").sum()),
    }


#: switch -> the metrics flipping it on certctl-asbuilt (to its certctl-i005 value) must change, on WHAT_IF
EXPECTED_CHANGES = {
    # first failures retried: nothing stranded, Email (quit defect) retried to dead with a delivery each time,
    # more sends and deliveries, and rows sent by the retry sweep keep stale retry fields (as built)
    "arm_first_failure": {"stranded", "dead", "delivered", "duplicated", "attempts", "retry_sends", "email_delivered_reported_failed", "stale_sent_rows"},
    "pending_batch": {"max_process_batch"},  # the 80-row backlog goes out in one tick instead of two
    # Webhook rows are really sent: no ghosts, deliveries, and its failures strand (as built)
    "webhook_notifier": {"ghost", "webhook_sends", "delivered", "attempts", "stranded"},
    "dedup_statuses": set(),  # only the Fleet workload dedups (WHAT_IF_FLEET)
    "email_quit_defect": {"email_delivered_reported_failed", "stranded"},  # delivered Emails are now sent, not failed
    # the requeue of the sent row is refused: it is not re-sent, so it stays a ghost and is not delivered
    "requeue_any_status": {"refused_requeues", "attempts", "delivered", "ghost"},
    "success_clears_retry_fields": {"stale_sent_rows"},
}


#: what-if switch (off in both profiles) -> the metrics turning it on certctl-asbuilt must change, on WHAT_IF
EXPECTED_WHAT_IF_CHANGES = {
    "retry_via_pending": {"retry_sends"},  # due rows go back to pending: the process loop sends them, the sweep never does
}


def test_what_if_table_covers_every_switch():
    assert set(EXPECTED_CHANGES) == set(SWITCHES)
    assert set(EXPECTED_WHAT_IF_CHANGES) == set(WHAT_IFS)


@pytest.mark.parametrize("switch", WHAT_IFS)
def test_what_if_switches_off_in_both_profiles_change_exactly_what_they_name(switch, what_if_runs):
    assert getattr(ASBUILT, switch) is False and getattr(I005, switch) is False
    flipped = _metrics(notifsim.simulate(WHAT_IF, ASBUILT.replace(**{switch: True}), seed=3, horizon="3h"))
    base = _metrics(what_if_runs["base"])
    changed = {k for k in base if base[k] != flipped[k]}
    assert changed == EXPECTED_WHAT_IF_CHANGES[switch], {k: (base[k], flipped[k]) for k in changed ^ EXPECTED_WHAT_IF_CHANGES[switch]}


@pytest.fixture(scope="module")
def what_if_runs():
    runs = {"base": notifsim.simulate(WHAT_IF, ASBUILT, seed=3, horizon="3h")}
    for switch in SWITCHES:
        runs[switch] = notifsim.simulate(WHAT_IF, ASBUILT.replace(**{switch: getattr(I005, switch)}), seed=3, horizon="3h")
    return runs


@pytest.mark.parametrize("switch", SWITCHES)
def test_what_if_each_switch_changes_exactly_what_it_names(switch, what_if_runs):
    base, flipped = _metrics(what_if_runs["base"]), _metrics(what_if_runs[switch])
    changed = {k for k in base if base[k] != flipped[k]}
    assert changed == EXPECTED_CHANGES[switch], {k: (base[k], flipped[k]) for k in changed ^ EXPECTED_CHANGES[switch]}


def test_what_if_arm_first_failure_is_the_documented_replace():
    fixed = Policy.preset("certctl-asbuilt").replace(arm_first_failure=True)
    assert fixed.name == "certctl-asbuilt+arm_first_failure=True"
    assert fixed.switches() == {**ASBUILT.switches(), "arm_first_failure": True}


def test_what_if_row_level_exactness(what_if_runs):
    """Common random numbers make the unaffected parts identical row for row, not just in total."""
    base = what_if_runs["base"].notifications.set_index("id")
    # success_clears_retry_fields touches only next_retry_at / last_error of sent rows
    cleared = what_if_runs["success_clears_retry_fields"].notifications.set_index("id")
    pd.testing.assert_frame_equal(base.drop(columns=["next_retry_at", "last_error"]), cleared.drop(columns=["next_retry_at", "last_error"]))
    unsent = base["status"] != "sent"
    pd.testing.assert_frame_equal(base.loc[unsent, ["next_retry_at", "last_error"]], cleared.loc[unsent, ["next_retry_at", "last_error"]])
    # pending_batch moves the backlog's sends in time, never their outcomes
    batched = what_if_runs["pending_batch"].notifications.set_index("id")
    pd.testing.assert_series_equal(base["status"], batched["status"])
    pd.testing.assert_series_equal(base["attempts"], batched["attempts"])
    # dedup_statuses without the Fleet workload: the very same run
    pd.testing.assert_frame_equal(base, what_if_runs["dedup_statuses"].notifications.set_index("id"))


def test_what_if_dedup_statuses_on_a_fleet():
    """Failed expiry alerts suppress re-dispatch as built; with the switch flipped they are re-created next renewal check."""
    base = _metrics(notifsim.simulate(WHAT_IF_FLEET, ASBUILT, seed=3, horizon="6h"))
    changed = {}
    for switch in SWITCHES:
        flipped = _metrics(notifsim.simulate(WHAT_IF_FLEET, ASBUILT.replace(**{switch: getattr(I005, switch)}), seed=3, horizon="6h"))
        changed[switch] = {k for k in base if base[k] != flipped[k]}
    assert changed["dedup_statuses"] == {"alerts", "stranded", "delivered", "attempts"}
    assert "alerts" not in set().union(*(v for k, v in changed.items() if k != "dedup_statuses"))
    # the fleet has no Webhook, Email, backlog, requeues or retried rows: those switches change nothing
    for switch in ("pending_batch", "webhook_notifier", "email_quit_defect", "requeue_any_status", "success_clears_retry_fields"):
        assert changed[switch] == set(), switch
    # as built no alert row is ever dead, and none is still pending at a renewal check (Slack answers in 0.3 s):
    # the "delivered" reading creates exactly the rows "not-failed" does, value for value
    not_failed = notifsim.simulate(WHAT_IF_FLEET, ASBUILT.replace(dedup_statuses="not-failed"), seed=3, horizon="6h")
    delivered = notifsim.simulate(WHAT_IF_FLEET, ASBUILT.replace(dedup_statuses="delivered"), seed=3, horizon="6h")
    pd.testing.assert_frame_equal(not_failed.notifications, delivered.notifications)
    # under certctl-i005 a failed alert is retried to dead within 16 minutes: "not-failed" lets the dead row suppress,
    # "delivered" re-alerts it at the next check
    i005 = {r: _metrics(notifsim.simulate(WHAT_IF_FLEET, I005.replace(dedup_statuses=r), seed=3, horizon="6h")) for r in ("not-failed", "delivered")}
    assert i005["delivered"]["alerts"] > i005["not-failed"]["alerts"] and i005["delivered"]["delivered"] > i005["not-failed"]["delivered"]
