"""Metric values (docs/results.md) against closed-form results on scenarios built here.

With zero latency a Send takes no time, so there is no double-send race and each
notification's fate is a sequence of independent Bernoulli(p) outcomes:

* as built, the first failure strands the row: stranded_rate = p, nothing is ever dead;
* as designed (I-005), a row is dead after 5 failed Sends: dead_letter_rate = p**5,
  and it takes a mean of (1 - p**5) / (1 - p) Sends.

Rates are checked against a 99.9 % binomial interval (normal approximation, 3.3 sigma)
computed from the number of notifications counted.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import notifsim
from notifsim import analysis
from notifsim.channels import Bernoulli, Scripted
from notifsim.workloads import Poisson

Z = 3.3  # two-sided 99.9 %
P = 0.5
RATE = 5000  # per hour
HORIZON_H = 5
SEED = 2024


def _bound(p: float, n: int) -> float:
    return Z * math.sqrt(p * (1 - p) / n)


def _retry_window(policy: notifsim.Policy) -> float:
    """Longest time from creation to the last Send of a row that keeps failing (I-005):
    every backoff, each rounded up to the next retry tick, plus slack."""
    waits = sum(policy.backoff(rc) for rc in range(policy.max_attempts - 1))
    return waits + policy.max_attempts * policy.retry_interval + 300


def _scenario(channel="Slack", p=P, latency=0.0, rate=RATE, extra_channels=None):
    channels = {channel: Bernoulli(p, latency=latency)}
    channels.update(extra_channels or {})
    return notifsim.Scenario(
        f"{channel}-bernoulli-{p}",
        channels=channels,
        workload=Poisson(rate, channels=channel, types="ExpirationWarning"),
    )


@pytest.fixture(scope="module")
def slack_runs():
    scenario = _scenario()
    return {policy: notifsim.simulate(scenario, policy, seed=SEED, horizon=f"{HORIZON_H}h") for policy in ("certctl-asbuilt", "certctl-i005")}


def _settled(result: notifsim.Result) -> pd.DataFrame:
    """Notifications created early enough to have finished their retries by the horizon."""
    policy = notifsim.Policy.preset(result.policy)
    cut = result.start + pd.Timedelta(seconds=result.horizon_s - _retry_window(policy))
    n = result.notifications
    return n[(n["origin"] == "created") & (n["created_at"] < cut)]


def _summarize_settled(result: notifsim.Result) -> pd.Series:
    settled = _settled(result)
    attempts = result.attempts[result.attempts["notification_id"].isin(settled["id"])]
    return analysis.summarize(settled, attempts)


# -- (a) Bernoulli(p) on Slack ------------------------------------------------------------


def test_asbuilt_strands_first_failures(slack_runs):
    s = slack_runs["certctl-asbuilt"].summary()
    n = s["notifications"]
    assert n > 20000
    assert abs(s["stranded_rate"] - P) <= _bound(P, n), (s["stranded_rate"], P, _bound(P, n))
    assert s["dead_letter_rate"] == 0 and s["dead_lettered"] == 0
    assert s["retrying"] == 0 and s["pending"] == 0
    # nothing is ever retried: exactly one Send per notification, and every non-stranded row was delivered once
    assert s["attempts"] == n and s["attempts_per_notification"] == 1
    assert s["delivery_rate"] == pytest.approx(1 - s["stranded_rate"], abs=1e-12)
    assert s["duplicate_rate"] == 0 and s["ghost_rate"] == 0


def test_i005_dead_letters_after_five_failures(slack_runs):
    result = slack_runs["certctl-i005"]
    s_all = result.summary()
    assert s_all["stranded"] == 0 and s_all["stranded_rate"] == 0  # every first failure is armed
    settled = _settled(result)
    s = _summarize_settled(result)
    n = s["notifications"]
    assert n > 20000
    expected = P**5
    assert abs(s["dead_letter_rate"] - expected) <= _bound(expected, n), (s["dead_letter_rate"], expected, _bound(expected, n))
    # rows created early enough have all finished: delivered or dead, nothing in between
    assert s["retrying"] == 0 and s["pending"] == 0 and s["stranded"] == 0
    assert s["delivered"] + s["dead_lettered"] == n
    assert s["delivery_rate"] == pytest.approx(1 - s["dead_letter_rate"], abs=1e-12)
    # mean Sends per notification of a geometric law truncated at 5
    k = np.arange(1, 6)
    pmf = np.where(k < 5, P ** (k - 1) * (1 - P), P**4)
    mean = float((k * pmf).sum())
    sd = math.sqrt(float((k**2 * pmf).sum()) - mean**2)
    assert mean == pytest.approx((1 - P**5) / (1 - P))
    assert abs(s["attempts_per_notification"] - mean) <= Z * sd / math.sqrt(n)
    # dead rows keep retry_count 4 and took exactly 5 Sends
    dead = settled[settled["status"] == "dead"]
    assert (dead["retry_count"] == 4).all() and (dead["attempts"] == 5).all()


def test_i005_retry_schedule_is_the_designed_backoff(slack_runs):
    """Sends of a dying row: creation, then waits of 1, 2, 4, 8 min, each rounded up to the 2-min retry grid."""
    result = slack_runs["certctl-i005"]
    dead = _settled(result)
    dead = dead[dead["status"] == "dead"]
    attempts = result.attempts[result.attempts["notification_id"].isin(dead["id"])]
    retry_s = 120.0
    for nid, group in list(attempts.groupby("notification_id"))[:200]:
        at = ((group["at"] - result.start).dt.total_seconds()).sort_values().to_numpy()
        assert group.sort_values("at")["retry_count_before"].tolist() == [0, 1, 2, 3, 4]
        for i, wait in enumerate([60, 120, 240, 480]):
            due = at[i] + wait
            assert at[i + 1] == pytest.approx(math.ceil(due / retry_s - 1e-9) * retry_s, abs=1e-5), (nid, i)


# -- (b) Webhook as built ----------------------------------------------------------------


def test_webhook_as_built_is_all_ghosts():
    result = notifsim.simulate(_scenario("Webhook", p=0.0, rate=600), "certctl-asbuilt", seed=SEED, horizon="3h")
    s = result.summary()
    assert s["notifications"] > 1000
    assert s["ghost_rate"] == 1 and s["ghost_sent"] == s["notifications"]
    assert s["attempts"] == 0 and len(result.attempts) == 0
    assert s["delivery_rate"] == 0 and np.isnan(s["time_to_delivery_p50_s"])


def test_webhook_as_designed_is_delivered():
    result = notifsim.simulate(_scenario("Webhook", p=0.0, rate=600), "certctl-i005", seed=SEED, horizon="3h")
    s = result.summary()
    assert s["ghost_rate"] == 0 and s["delivery_rate"] == 1
    assert s["attempts"] == s["notifications"]


# -- (c) Email as built: the SMTP QUIT defect ----------------------------------------------


@pytest.fixture(scope="module")
def email_runs():
    scenario = _scenario("Email", p=0.2, rate=3000)
    return {policy: notifsim.simulate(scenario, policy, seed=SEED, horizon="4h") for policy in ("certctl-asbuilt", "certctl-i005")}


def test_email_as_built_delivered_but_recorded_failed(email_runs):
    result = email_runs["certctl-asbuilt"]
    n = result.notifications
    delivered = n[n["deliveries"] > 0]
    assert len(delivered) > 1000
    assert (delivered["status"] == "failed").all()
    assert delivered["next_retry_at"].isna().all()  # and never retried
    s = result.summary()
    assert abs(s["delivery_rate"] - 0.8) <= _bound(0.8, s["notifications"])
    assert s["stranded_rate"] == 1  # every Email row ends failed, delivered or not
    assert s["duplicate_rate"] == 0
    attempts = result.attempts
    ok = attempts[attempts["delivered"]]
    assert (ok["outcome"] == "error").all() and ok["error"].str.startswith("failed to quit SMTP").all()


def test_email_as_designed_is_sent(email_runs):
    result = email_runs["certctl-i005"]
    settled = _settled(result)
    s = _summarize_settled(result)
    assert (settled.loc[settled["deliveries"] > 0, "status"] == "sent").all()
    assert abs(s["dead_letter_rate"] - 0.2**5) <= _bound(0.2**5, s["notifications"])


# -- (d) the metric names --------------------------------------------------------------------


def test_summary_index_is_the_metric_list(slack_runs):
    for result in slack_runs.values():
        assert tuple(result.summary().index) == analysis.METRICS
        assert tuple(result.summary(include_initial=True).index) == analysis.METRICS
        assert tuple(result.summary_by_channel().columns) == analysis.METRICS
    for name in (
        "delivery_rate",
        "dead_letter_rate",
        "stranded_rate",
        "ghost_rate",
        "duplicate_rate",
        "time_to_delivery_p50_s",
        "time_to_delivery_p95_s",
        "time_to_delivery_p99_s",
        "attempts_per_notification",
        "peak_send_rate_per_min",
    ):
        assert name in analysis.METRICS


def test_summary_by_channel_splits_counts():
    scenario = notifsim.Scenario(
        "two",
        channels={"Slack": Bernoulli(0.3), "Email": Bernoulli(0.1)},
        workload=Poisson(600, channels={"Slack": 1, "Email": 1}, types="ExpirationWarning"),
    )
    result = notifsim.simulate(scenario, "certctl-i005", seed=SEED, horizon="2h")
    by = result.summary_by_channel()
    total = result.summary()
    assert sorted(by.index) == ["Email", "Slack"]
    for count in ("notifications", "delivered", "dead_lettered", "attempts"):
        assert by[count].sum() == total[count], count


# -- (e) time to delivery -------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["certctl-asbuilt", "certctl-i005"])
def test_time_to_delivery_is_the_constant_latency_when_nothing_fails(policy):
    latency = 0.75
    result = notifsim.simulate(_scenario("Slack", p=0.0, latency=latency, rate=1200), policy, seed=SEED, horizon="2h")
    s = result.summary()
    assert s["delivery_rate"] == 1
    for q in ("time_to_delivery_p50_s", "time_to_delivery_p95_s", "time_to_delivery_p99_s"):
        assert s[q] == pytest.approx(latency, abs=2e-6), q


def test_time_to_delivery_counts_the_retry_wait():
    """One failure then success: first delivery at the first retry tick >= creation + 1 min."""
    scenario = notifsim.Scenario(
        "one",
        channels={"Slack": Scripted(["slack: 503"], then=None)},
        initial_rows=None,
        workload=None,
    )
    row = {"id": "n1", "channel": "Slack", "status": "pending", "created_at": 0.0}
    result = notifsim.simulate(scenario, "certctl-i005", seed=0, horizon="10m", initial_rows=[row])
    s = result.summary(include_initial=True)
    # the process tick at 0 sends and fails; armed for 60 s; the retry tick at 120 s delivers
    assert s["time_to_delivery_p50_s"] == pytest.approx(120.0)
    assert s["attempts"] == 2 and s["delivered"] == 1
