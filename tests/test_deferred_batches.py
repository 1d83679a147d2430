"""A creator's batch (``hooks.create_batch``, a revocation's fan-out) deferred by the batched engine: the same tables.

Rows whose channel has no notifier come first and are written ``sent`` at
once; then at most one row goes to a channel of fixed latency.  The batched
engine keeps such a batch out of the table with the rows deferred before it,
instead of creating them all at once (:mod:`notifsim.engine.deferred`).
Creators read their rows back at once and later, samples of the same instant
come before and after a creation, operators and ticks look meanwhile; every
table and everything read must be the reference engine's.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from helpers import Observer

import notifsim
from notifsim import channels as ch
from notifsim.engine.deferred import Deferred
from notifsim.operators import Cadence
from notifsim.workloads import Fleet
from notifsim.workloads.base import Workload

TABLES = ("notifications", "attempts", "ticks", "requeues", "samples")

#: Batches as channel lists: Webhook has no notifier in these worlds.  The last two are never deferred (two rows
#: sent, a row sent before a no-notifier one); a creator's context of 1 s (shorter than an Email) keeps any out.
BATCHES = [["Webhook", "Email"], ["Webhook", "Webhook", "Slack"], ["Webhook"], ["Email"], ["Webhook", "Email", "Slack"], ["Email", "Webhook"]]


def _spec(channel: str, n: int) -> dict:
    return dict(type="Revocation", channel=channel, recipient="o@example.com", message=f"revoked {n}", certificate_id=f"mc-{n % 7}")


class Fanouts(Observer):
    """Creators of batches at random instants (and on the sampler's and ticks' whole seconds); each reads its rows
    back at once and again later, into ``seen``."""

    def process(self, hooks):
        r = self.start()
        instants = sorted([*(r.uniform(0, 600) for _ in range(40)), *(float(r.randint(0, 600)) for _ in range(20)), 60.0, 60.0, 120.0])
        for n, at in enumerate(instants):
            if at > hooks.now:
                yield hooks.timeout(at - hooks.now)
            channels = r.choice(BATCHES)
            deadline = r.choice([math.inf, 600.0, 1.0])
            if len(channels) == 1 and r.random() < 0.5:
                rows = [hooks.create(deadline=deadline, **_spec(channels[0], n))]
            else:
                rows = hooks.create_batch([_spec(channel, n) for channel in channels], deadline)
            self.seen.append(("now", hooks.now, [(row.status, row.sent_at) for row in rows]))
            hooks.process(self.reader(hooks, rows, r.choice([0.5, 1.5, 2.0, 61.0])))

    def reader(self, hooks, rows, after):
        yield hooks.timeout(after)
        self.seen.append(("later", hooks.now, [(row.status, row.sent_at, row.retry_count) for row in rows]))


def _same_run(scenario, policy, **kwargs) -> notifsim.Result:
    a = notifsim.simulate(scenario, policy, engine="events", run_name="r", **kwargs)
    seen = list(getattr(scenario.workload, "seen", []))
    b = notifsim.simulate(scenario, policy, engine="batched", run_name="r", **kwargs)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)
    assert a.counters == b.counters and a.lost_creations == b.lost_creations
    assert seen == list(getattr(scenario.workload, "seen", []))
    return a


@pytest.fixture
def deferred_batches(monkeypatch) -> list[int]:
    """The rows of each batch the batched engine deferred with leading no-notifier rows."""
    counted: list[int] = []
    admit = Deferred.admit

    def spy(self, deadlines, columns, alerts=False, written=0):
        first = admit(self, deadlines, columns, alerts, written)
        if written and first is not None:
            counted.append(len(deadlines))
        return first

    monkeypatch.setattr(Deferred, "admit", spy)
    return counted


@pytest.mark.parametrize("policy", ["certctl-asbuilt", "certctl-i005", "sidekiq"])
@pytest.mark.parametrize("sample_interval", ["1s", "7s", "1m"])
@pytest.mark.parametrize("seed", [1, 2])
def test_batches_with_rows_written_at_once_run_the_same_on_both_engines(deferred_batches, policy, sample_interval, seed):
    scenario = notifsim.Scenario(
        "fan-outs",
        channels={"Email": ch.Bernoulli(0.3, latency=1.5), "Slack": ch.Bernoulli(0.2, latency=[0.3, 12.0][seed % 2])},
        workload=Fanouts(seed),
        operator=Cadence(every="2m", rule="all", tab="stranded"),
    )
    a = _same_run(scenario, policy, seed=seed, horizon="15m", sample_interval=sample_interval)
    shapes = {1, 2} if seed % 2 else {1, 2, 3}  # a Slack Send of 12 s (over its client timeout) is not deferred
    assert shapes <= set(deferred_batches)
    assert (a.notifications["channel"] == "Webhook").any() and (a.notifications["status"] == "failed").any()


@pytest.mark.parametrize("policy", ["certctl-asbuilt", "certctl-i005"])
def test_a_fleets_revocations_without_a_webhook_notifier_run_the_same_on_both_engines(deferred_batches, policy):
    """The benchmark's shape: no Webhook notifier, Email of 1.5 s; revocations among deferred job notifications."""
    fleet = Fleet(
        certificates=120,
        remaining_days=[0, 35],
        lifetime_days=33.0,
        channels={"informational": ["Slack"], "warning": ["Slack", "Email"], "critical": ["Email"]},
        deployment_targets=1,
        job_concurrency=4,
        revocations_per_day=300.0,
    )
    scenario = notifsim.Scenario("revoking", channels={"Email": ch.Bernoulli(0.2, latency=1.5), "Slack": ch.Bernoulli(0.1, latency=0.3)}, workload=fleet)
    a = _same_run(scenario, policy, seed=4, horizon=86400, sample_interval="7m")
    assert deferred_batches and (a.notifications["type"] == "Revocation").sum() > 100


class _AfterASample(Workload):
    """Revocation fan-outs at 9.5 s and 10 s: the sampler's 10 s sample (scheduled at 9 s) comes before the second."""

    def process(self, hooks):
        for n, at in enumerate([9.5, 10.0]):
            yield hooks.timeout(at - hooks.now)
            hooks.create_batch([_spec("Webhook", n), _spec("Email", n)], math.inf)


def test_a_row_written_at_once_just_after_a_sample_is_not_in_it():
    """The 10 s sample sees the first fan-out's Webhook row sent and its Email pending (then failed: the QUIT defect); the second, created
    after it at that instant, is in the next sample only (deferring its Webhook row counted it in as written)."""
    scenario = notifsim.Scenario("sampled", channels={"Email": ch.Bernoulli(0.0, latency=1.5)}, workload=_AfterASample())
    a = _same_run(scenario, "certctl-asbuilt", seed=1, horizon="15s", sample_interval="1s")
    assert a.samples[["pending", "sent"]].to_numpy().tolist()[9:13] == [[0, 0], [1, 1], [1, 2], [0, 2]]  # at 9, 10, 11, 12 s
