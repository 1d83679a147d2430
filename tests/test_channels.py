"""Channel failure models: long-run statistics against their parameters, exact edges, validation.

Models are driven directly (``model.bind(channel, Streams(seed))`` then
``send(now, recipient)``) and through :func:`notifsim.simulate`.  Statistical
checks compare against the parameters with a 4-sigma band computed from
the model's own variance (the seeds are fixed, so the checks are
deterministic; a wrong formula or an off-by-one still fails them).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import notifsim
from notifsim.channels import (
    TEAMS_LIMITS,
    Bernoulli,
    Compose,
    Constant,
    GilbertElliott,
    Greylisting,
    LogNormal,
    MultiWindow,
    Outages,
    PermanentRecipients,
    Scripted,
    SendResult,
    TokenBucket,
    timeout_error,
)
from notifsim.errors import ConfigError
from notifsim.streams import Streams, normal_quantile, normal_quantile_one
from notifsim.workloads import Poisson


def seconds(result, column="at"):
    """A timestamp column of a result as seconds since the run start."""
    return ((result.attempts[column] - result.start).dt.total_seconds()).to_numpy()


# -- SendResult --------------------------------------------------------------


def test_send_result_fields_and_retry_after_defaults_to_none():
    delivered, error, latency, retry_after = SendResult(True, None, 0.5)
    assert (delivered, error, latency, retry_after) == (True, None, 0.5, None)
    assert SendResult(False, "429", 0.1, 7.0).retry_after == 7.0


# -- Bernoulli and plain latencies -------------------------------------------


def test_bernoulli_plain_number_latency_still_works():
    state = Bernoulli(0.0, latency=0.3).bind("Slack", Streams(1))
    assert state.send(0.0, "a")[:3] == (True, None, 0.3)
    assert Bernoulli(0.0, latency="300ms").bind("Slack", Streams(1)).send(0.0, "a").latency == pytest.approx(0.3)
    assert Bernoulli(0.1, latency=0.3).describe()["latency"] == 0.3


def test_bernoulli_failure_fraction_within_ci():
    p, n = 0.07, 40_000
    state = Bernoulli(p).bind("Email", Streams(3))
    fails = sum(state.send(float(i), "a").error is not None for i in range(n))
    assert abs(fails / n - p) < 4 * math.sqrt(p * (1 - p) / n)


# -- latency distributions ---------------------------------------------------


def test_lognormal_median_and_p99_match_parameters():
    median, p99, n = 0.3, 2.0, 200_000
    state = Bernoulli(0.0, latency=LogNormal(median, p99)).bind("Slack", Streams(5))
    draws = np.array([state.send(0.0, "a").latency for _ in range(n)])
    assert abs((draws <= median).mean() - 0.5) < 4 * math.sqrt(0.25 / n)
    assert abs((draws <= p99).mean() - 0.99) < 4 * math.sqrt(0.99 * 0.01 / n)


def test_lognormal_latency_uses_the_channel_latency_stream_only():
    """The same seed gives the same latencies whatever the failure probability (outcomes use another stream)."""
    a = Bernoulli(0.0, latency=LogNormal(1, 4)).bind("Slack", Streams(9))
    b = Bernoulli(0.9, latency=LogNormal(1, 4)).bind("Slack", Streams(9))
    assert [a.send(0.0, "x").latency for _ in range(50)] == [b.send(0.0, "x").latency for _ in range(50)]


def test_a_send_at_a_time_draws_the_latencies_of_many_sends_at_once():
    """The per-event path (one Send) and the batched path (arrays of Sends) give the same float for each key."""
    state = Bernoulli(0.0, latency=LogNormal(0.3, 40.0)).bind("Slack", Streams(4))
    keys = np.random.default_rng(1).integers(0, 2**63, 20_000, dtype=np.uint64)
    many = state.send_many(np.zeros(len(keys)), np.zeros(len(keys), np.int32), keys, None).latency
    assert [state.send(0.0, "x", int(k)).latency for k in keys.tolist()] == many.tolist()


@settings(max_examples=2000, deadline=None)
@given(st.floats(min_value=1e-300, max_value=1 - 2**-53) | st.sampled_from([0.075, 0.925, 0.5, 1e-300, 1 - 2**-53, 1e-12, 1 - 1e-12]))
def test_normal_quantile_of_one_probability_is_the_arrays_float(p):
    assert normal_quantile_one(p) == float(normal_quantile(np.array([p]))[0])


def test_constant_latency_and_duration_strings():
    assert Constant("2s").seconds == 2.0
    state = GilbertElliott("1h", "1m", latency=Constant(1.5)).bind("Slack", Streams(0))
    assert state.send(0.0, "a").latency == 1.5


def slow_scenario(channel, latency, p_fail=0.0, rate=600):
    return notifsim.Scenario(
        channels={channel: Bernoulli(p_fail, latency=latency)},
        workload=Poisson(rate, channels=channel, recipients=50),
    )


def test_send_slower_than_client_timeout_fails_after_exactly_the_timeout():
    """Slack's client timeout is 10 s (notifier adapters): a 12 s send fails at 10 s with the timeout error."""
    result = notifsim.simulate(slow_scenario("Slack", 12.0, rate=60), "certctl-asbuilt", seed=1, horizon="1h")
    attempts = result.attempts
    assert len(attempts) > 20
    assert (attempts["latency_s"] == 10.0).all()
    assert (attempts["error"].fillna("") == timeout_error("Slack", 10.0)).all()
    assert not attempts["delivered"].any()


def test_webhook_answer_slower_than_its_response_header_timeout_fails_at_10_s():
    """The Webhook connector (wired under certctl-i005) has a 30 s client but a 10 s response-header timeout:
    a 15 s answer fails at 10 s, delivering nothing; a 9 s answer is delivered."""
    slow = notifsim.simulate(slow_scenario("Webhook", 15.0, rate=60), "certctl-i005", seed=1, horizon="1h").attempts
    assert len(slow) > 20 and (slow["latency_s"] == 10.0).all() and not slow["delivered"].any()
    errors = slow["error"].value_counts()  # a Send begun 10 s before its tick's context ends is cut by the context
    assert set(errors.index) <= {"webhook: request failed: net/http: timeout awaiting response headers (10s)", "context deadline exceeded"}
    assert errors["webhook: request failed: net/http: timeout awaiting response headers (10s)"] >= len(slow) - 2
    fast = notifsim.simulate(slow_scenario("Webhook", 9.0, rate=60), "certctl-i005", seed=1, horizon="1h").attempts
    assert len(fast) > 20 and (fast["latency_s"] == 9.0).all() and fast["delivered"].all()


def test_email_has_no_client_timeout():
    result = notifsim.simulate(slow_scenario("Email", 12.0, rate=60), "certctl-i005", seed=1, horizon="1h")
    attempts = result.attempts
    assert (attempts["latency_s"] == 12.0).all()
    assert attempts["error"].isna().all() and attempts["delivered"].all()


def test_lognormal_tail_becomes_timeouts_at_the_rate_the_distribution_predicts():
    median, p99 = 5.0, 30.0
    result = notifsim.simulate(slow_scenario("Slack", LogNormal(median, p99)), "certctl-asbuilt", seed=2, horizon="2h")
    a = result.attempts
    timed_out = (a["error"].fillna("") == timeout_error("Slack", 10.0)).to_numpy(dtype=bool)
    assert (a.loc[timed_out, "latency_s"] == 10.0).all()
    assert (a.loc[~timed_out, "latency_s"] <= 10.0).all() and a.loc[~timed_out, "error"].isna().all()
    sigma = math.log(p99 / median) / 2.3263478740408408
    expected = 0.5 * math.erfc(math.log(10.0 / median) / sigma / math.sqrt(2))
    n = len(a)
    assert n > 1000
    assert abs(timed_out.mean() - expected) < 4 * math.sqrt(expected * (1 - expected) / n)


# -- Gilbert–Elliott ---------------------------------------------------------


def test_gilbert_elliott_time_down_matches_stationary_probability():
    mean_up, mean_down, horizon = 3600.0, 1200.0, 2000 * 3600.0
    state = GilbertElliott(mean_up, mean_down).bind("Slack", Streams(11))
    intervals = state.down_intervals(horizon)
    frac = sum(e - s for s, e in intervals) / horizon
    p = mean_down / (mean_up + mean_down)
    # asymptotic variance of the time-average of a two-state Markov indicator: 2 p (1-p) / ((a+b) H)
    sd = math.sqrt(2 * p * (1 - p) / ((1 / mean_up + 1 / mean_down) * horizon))
    assert abs(frac - p) < 4 * sd
    downs = np.array([e - s for s, e in intervals[:-1]])
    ups = np.array([intervals[i + 1][0] - intervals[i][1] for i in range(len(intervals) - 1)])
    assert abs(downs.mean() - mean_down) < 4 * mean_down / math.sqrt(len(downs))
    assert abs(ups.mean() - mean_up) < 4 * mean_up / math.sqrt(len(ups))


def test_gilbert_elliott_failure_fraction_is_the_stationary_weighted_probability():
    model = GilbertElliott("1h", "20m", p_fail_up=0.02, p_fail_down=0.9)
    horizon, step = 2000 * 3600.0, 60.0
    state = model.bind("Slack", Streams(12))
    times = np.arange(0.0, horizon, step)
    fails = sum(state.send(float(t), "a").error is not None for t in times)
    p = model.p_down
    assert model.failure_fraction == pytest.approx((1 - p) * 0.02 + p * 0.9)
    var_state = (0.9 - 0.02) ** 2 * 2 * p * (1 - p) / ((1 / 3600 + 1 / 1200) * horizon)
    var_draws = model.failure_fraction * (1 - model.failure_fraction) / len(times)
    assert abs(fails / len(times) - model.failure_fraction) < 4 * math.sqrt(var_state + var_draws)


def test_gilbert_elliott_fails_exactly_in_down_periods_when_probabilities_are_0_and_1():
    state = GilbertElliott("30m", "5m").bind("PagerDuty", Streams(4))
    intervals = state.down_intervals(86400.0)
    assert intervals
    starts = [s for s, _ in intervals]
    for t in np.arange(0.0, 86400.0, 7.0):
        i = np.searchsorted(starts, t, side="right") - 1
        down = i >= 0 and t < intervals[i][1]
        result = state.send(float(t), "a")
        assert (result.error is not None) == down
        assert result.error is None or "HTTP 503" in result.error


def test_gilbert_elliott_state_path_does_not_depend_on_how_many_sends_are_made():
    """Common random numbers: the up/down path is a function of time only."""
    model = GilbertElliott("10m", "2m", p_fail_up=0.0, p_fail_down=1.0)
    busy = model.bind("Slack", Streams(21))
    idle = model.bind("Slack", Streams(21))
    for t in range(20_000):
        busy.send(float(t), "a")
        if t % 97 == 0:
            assert idle.is_down(float(t)) == busy.is_down(float(t))
    assert busy.down_intervals(20_000.0) == idle.down_intervals(20_000.0)
    other_channel = model.bind("Teams", Streams(21))
    assert other_channel.down_intervals(20_000.0) != busy.down_intervals(20_000.0)


# -- Outages -------------------------------------------------------------------


def test_outage_windows_are_exact_and_half_open():
    model = Outages([("1h", "30m"), (7200, 600), (7500, "10m")], error="slack: request failed: connection refused")
    state = model.bind("Slack", Streams(0))
    assert state.send(3599.999, "a").error is None
    assert state.send(3600.0, "a").error == "slack: request failed: connection refused"
    assert state.send(5399.999, "a").error is not None
    assert state.send(5400.0, "a").error is None
    # overlapping windows merge: [7200, 7800) ∪ [7500, 8100)
    assert state.send(7799.0, "a").error is not None
    assert state.send(8099.999, "a").error is not None
    assert state.send(8100.0, "a").error is None


def test_outage_latency_applies_inside_windows_only():
    state = Outages([(100, 100)], latency=30).bind("Slack", Streams(0))
    assert state.send(50.0, "a")[:3] == (True, None, 0.0)
    assert state.send(150.0, "a").latency == 30.0


def test_outage_through_simulate_fails_every_send_in_the_window_and_none_outside():
    window = (3600.0, 1800.0)
    scenario = notifsim.Scenario(
        channels={"Slack": [Bernoulli(0.0, latency=0.2), Outages([window])]},
        workload=Poisson(300, channels="Slack", recipients=20),
    )
    result = notifsim.simulate(scenario, "certctl-i005", seed=3, horizon="3h")
    at = seconds(result)
    inside = (at >= window[0]) & (at < window[0] + window[1])
    failed = result.attempts["error"].notna().to_numpy()
    assert inside.sum() > 50
    assert failed[inside].all()
    assert not failed[~inside].any()


# -- rate limits -----------------------------------------------------------------


@pytest.mark.parametrize(("burst", "rate", "step", "window"), [(25, 1.0, 0.25, 100.0), (10, 2.0, 0.125, 50.0), (1, 0.5, 0.5, 64.0)])
def test_token_bucket_admits_exactly_burst_plus_rate_times_t(burst, rate, step, window):
    state = TokenBucket(burst=burst, rate_per_s=rate).bind("Slack", Streams(0))
    calls = np.arange(0.0, window + step / 2, step)  # back-to-back calls from t=0 to t=window inclusive
    admitted = sum(state.send(float(t), "a").error is None for t in calls)
    assert admitted == burst + math.floor(rate * window)


def test_token_bucket_refuses_with_429_and_retry_after():
    state = TokenBucket(burst=3, rate_per_s=0.25).bind("Slack", Streams(0))
    assert all(state.send(0.0, "a").error is None for _ in range(3))
    refused = state.send(0.0, "a")
    assert refused.error == "slack: webhook returned HTTP 429: rate_limited"
    assert not refused.delivered
    assert refused.retry_after == 4.0  # one token every 4 s
    assert state.send(3.0, "a").retry_after == 1.0  # whole seconds, at least 1
    assert state.send(4.0, "a").error is None
    fixed = TokenBucket(burst=1, rate_per_s=1.0, retry_after="30s").bind("Teams", Streams(0))
    fixed.send(0.0, "a")
    assert fixed.send(0.0, "a").retry_after == 30.0


def test_token_bucket_refills_to_burst_and_no_further():
    state = TokenBucket(burst=5, rate_per_s=1.0).bind("Slack", Streams(0))
    assert sum(state.send(1000.0, "a").error is None for _ in range(20)) == 5


@pytest.mark.parametrize(("span", "expected"), [(1.0, 4), (30.0, 30), (3600.0, 100), (7200.0, 150), (86400.0, 1800)])
def test_teams_windows_admit_their_documented_counts(span, expected):
    """One call per second (four per second for the 1 s window) against 4/1s, 60/30s, 100/h, 150/2h, 1800/day."""
    state = MultiWindow(teams_quirk=False).bind("Teams", Streams(0))
    step = 0.1 if span == 1.0 else 1.0
    admitted = sum(state.send(float(t), "a").error is None for t in np.arange(0.0, span, step))
    assert admitted == expected


def test_teams_throttle_without_quirk_returns_429_and_time_to_window_reset():
    state = MultiWindow(limits=[(2, 10)], teams_quirk=False).bind("Teams", Streams(0))
    state.send(1.0, "a"), state.send(2.0, "a")
    refused = state.send(4.0, "a")
    assert refused.error.startswith("teams: webhook returned HTTP 429")
    assert refused.retry_after == 6.0
    assert state.send(10.0, "a").error is None


def test_teams_quirk_answers_200_so_the_send_is_silently_lost():
    state = MultiWindow(limits=[(1, 60)], teams_quirk=True).bind("Teams", Streams(0))
    assert state.send(0.0, "a")[:3] == (True, None, 0.0)
    lost = state.send(1.0, "a")
    assert lost.error is None and lost.delivered is False


def test_teams_quirk_through_simulate_makes_ghosts():
    """certctl counts 200 as success: throttled rows are marked sent and nothing arrives."""
    scenario = notifsim.Scenario(
        channels={"Teams": MultiWindow(limits=[(1, "1h")], teams_quirk=True)},
        workload=Poisson(20, channels="Teams", recipients=5),
    )
    result = notifsim.simulate(scenario, "certctl-i005", seed=4, horizon="3h")
    a, n = result.attempts, result.notifications
    lost = a["error"].isna() & ~a["delivered"]
    assert a["delivered"].sum() == 3  # the first send of each hour
    assert lost.sum() == len(a) - 3 > 20
    assert (n["status"] == "sent").all()
    summary = result.summary()
    assert summary["ghost_sent"] == lost.sum()
    assert summary["ghost_rate"] == pytest.approx(lost.sum() / len(n))


def test_rate_limiter_default_error_per_channel():
    for channel, needle in [("PagerDuty", "pagerduty: API returned HTTP 429"), ("OpsGenie", "opsgenie: API returned HTTP 429"), ("Email", "451")]:
        state = TokenBucket(burst=1, rate_per_s=1.0).bind(channel, Streams(0))
        state.send(0.0, "owner@example.com")
        assert needle in state.send(0.0, "owner@example.com").error


# -- permanent recipients and greylisting ---------------------------------------------


def test_permanent_fraction_within_ci_and_stable():
    fraction, n = 0.1, 20_000
    recipients = [f"owner-{k}" for k in range(n)]
    state = PermanentRecipients(fraction).bind("Email", Streams(8))
    bad = [state.send(0.0, r).error is not None for r in recipients]
    assert abs(sum(bad) / n - fraction) < 4 * math.sqrt(fraction * (1 - fraction) / n)
    again = PermanentRecipients(fraction).bind("Email", Streams(8))  # same seed, e.g. another policy
    assert [again.send(99.0, r).error is not None for r in recipients[::-1]] == bad[::-1]
    other_seed = PermanentRecipients(fraction).bind("Email", Streams(9))
    assert [other_seed.send(0.0, r).error is not None for r in recipients] != bad


def test_permanent_recipient_always_fails_with_550_naming_it():
    state = PermanentRecipients(1.0).bind("Email", Streams(0))
    for t in (0.0, 60.0, 86400.0):
        result = state.send(t, "owner-42")
        assert result.error == "failed to set recipient: 550 5.1.1 <owner-42>: Recipient address rejected: User unknown"
    assert PermanentRecipients(0.0).bind("Email", Streams(0)).send(0.0, "owner-42").error is None


def test_greylisting_delay_is_exact_per_recipient():
    state = Greylisting(min_delay="5m").bind("Email", Streams(0))
    first = state.send(100.0, "a@example.com")
    assert first.error.startswith("failed to set recipient: 451 4.7.1 <a@example.com>")
    assert "reylisted" in first.error
    assert state.send(399.999, "a@example.com").error is not None
    assert state.send(200.0, "b@example.com").error is not None  # b's own clock starts now
    assert state.send(400.0, "a@example.com").error is None
    assert state.send(401.0, "a@example.com").error is None
    assert state.send(499.999, "b@example.com").error is not None
    assert state.send(500.0, "b@example.com").error is None


# -- composition -------------------------------------------------------------------


def test_compose_first_failure_decides_and_latency_is_the_deciders_or_the_max():
    state = Compose([Scripted([None, "base down", None], latency=0.5), Outages([(10, 10)], error="outage", latency=3.0), Scripted([], latency=2.0)]).bind(
        "Slack", Streams(0)
    )
    assert state.send(0.0, "a")[:3] == (True, None, 2.0)  # all deliver: the max latency
    assert state.send(12.0, "a")[:3] == (False, "base down", 0.5)  # the first failing model decides
    assert state.send(13.0, "a")[:3] == (False, "outage", 3.0)


def test_compose_rate_limiter_counts_calls_failed_by_an_earlier_model():
    state = Compose([Outages([(0, 10)]), TokenBucket(burst=5, rate_per_s=0.001)]).bind("Slack", Streams(0))
    for t in range(5):
        assert state.send(float(t), "a").error.endswith("503: service unavailable")
    throttled = state.send(10.0, "a")
    assert "429" in throttled.error and throttled.retry_after is not None


def test_compose_keeps_the_first_models_draws():
    """Adding an outage after a base model leaves the base model's outcomes unchanged outside the window."""
    alone = Bernoulli(0.3).bind("Slack", Streams(6))
    composed = Compose([Bernoulli(0.3), Outages([(500, 100)])]).bind("Slack", Streams(6))
    for t in range(1000):
        a, c = alone.send(float(t), "x"), composed.send(float(t), "x")
        if not 500 <= t < 600:
            assert a == c


def test_scenario_accepts_a_list_of_models():
    scenario = notifsim.Scenario(channels={"Slack": [Bernoulli(0.01), Outages([("1h", "5m")])]})
    assert isinstance(scenario.channels["Slack"], Compose)
    assert [m["model"] for m in scenario.describe()["channels"]["Slack"]["models"]] == ["Bernoulli", "Outages"]


def test_describe_is_plain_json_for_every_model():
    models = [
        GilbertElliott("6h", "30m", latency=LogNormal(0.3, 2)),
        Outages([("1h", "30m")]),
        TokenBucket(),
        MultiWindow(),
        PermanentRecipients(0.1),
        Greylisting(),
        Compose([Bernoulli(0.1), TokenBucket()]),
    ]
    text = json.dumps([m.describe() for m in models])
    assert '"LogNormal"' in text and '"median": 0.3' in text
    assert MultiWindow().describe()["limits"] == [list(pair) for pair in TEAMS_LIMITS]


# -- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "field", "allowed"),
    [
        (lambda: GilbertElliott(-5, 60), "GilbertElliott.mean_up", "> 0"),
        (lambda: GilbertElliott("1h", "nope"), "GilbertElliott.mean_down", "'15m'"),
        (lambda: GilbertElliott("1h", "1m", p_fail_down=1.5), "GilbertElliott.p_fail_down", "[0, 1]"),
        (lambda: GilbertElliott("1h", "1m", p_fail_up=-0.1), "GilbertElliott.p_fail_up", "[0, 1]"),
        (lambda: Bernoulli(0.1, latency=-1), "Bernoulli.latency", ">= 0"),
        (lambda: LogNormal(0, 1), "LogNormal.median", "> 0"),
        (lambda: LogNormal(2, 1), "LogNormal.p99", ">= median"),
        (lambda: Outages([("1h",)]), "Outages.windows[0]", "pair"),
        (lambda: Outages([("1h", 0)]), "Outages.windows[0].duration", "> 0"),
        (lambda: Outages("1h"), "Outages.windows", "list"),
        (lambda: TokenBucket(burst=0), "TokenBucket.burst", ">= 1"),
        (lambda: TokenBucket(rate_per_s=-1.0), "TokenBucket.rate_per_s", "> 0"),
        (lambda: MultiWindow(limits=[(0, 1)]), "MultiWindow.limits[0].count", ">= 1"),
        (lambda: MultiWindow(limits=[(4, -1)]), "MultiWindow.limits[0].window", "> 0"),
        (lambda: MultiWindow(limits=[]), "MultiWindow.limits", "non-empty"),
        (lambda: PermanentRecipients(2), "PermanentRecipients.fraction", "[0, 1]"),
        (lambda: Greylisting(min_delay=-5), "Greylisting.min_delay", ">= 0"),
        (lambda: Compose([]), "Compose.models", "non-empty"),
        (lambda: Compose([Bernoulli(0.1), 3]), "Compose.models[1]", "channel model"),
        (lambda: Compose([{"model": "TokenBuckett"}]), "Compose.models[0].model", "did you mean 'TokenBucket'"),
        (lambda: Bernoulli(0.1, latency={"model": "LogNormal", "median": 1, "p98": 2}), "Bernoulli.latency key", "did you mean 'p99'"),
    ],
)
def test_bad_parameters_name_the_field_and_the_allowed_range(build, field, allowed):
    with pytest.raises(ConfigError) as info:
        build()
    assert info.value.field == field
    assert allowed in str(info.value)
    assert "\n" not in str(info.value)


def test_attempts_record_retry_after_of_throttled_sends():
    """A 429 from the token bucket carries its Retry-After into the attempts table; other sends have none."""
    scenario = notifsim.Scenario(
        channels={"Slack": TokenBucket(burst=2, rate_per_s=0.5)},
        initial_rows=[{"id": f"n{i}", "channel": "Slack", "status": "pending"} for i in range(6)],
    )
    result = notifsim.simulate(scenario, "certctl-asbuilt", horizon="30s")
    a = result.attempts
    throttled = a["error"].fillna("").str.contains("429")
    assert throttled.sum() == 4 and (~throttled).sum() == 2
    assert (a.loc[throttled, "retry_after_s"] > 0).all()
    assert a.loc[~throttled, "retry_after_s"].isna().all()


@pytest.mark.parametrize(
    "model",
    [
        notifsim.channels.Bernoulli(1.0, error="550 5.1.1 <{recipient}>: user unknown"),
        notifsim.channels.GilbertElliott("1h", "1h", p_fail_up=1.0, p_fail_down=1.0, error="550 5.1.1 <{recipient}>: user unknown"),
        notifsim.channels.Outages([(0, "1d")], error="550 5.1.1 <{recipient}>: user unknown"),
        notifsim.channels.Scripted([], then="550 5.1.1 <{recipient}>: user unknown"),
    ],
    ids=lambda m: type(m).__name__,
)
def test_recipient_placeholder_in_error_texts_names_the_recipient(model):
    state = model.bind("Email", Streams(1))
    result = state.send(10.0, "owner-7@example.com", key=3)
    assert result.error == "550 5.1.1 <owner-7@example.com>: user unknown"
