"""Determinism and common random numbers (docs/architecture.md).

* same seed + same config ⇒ identical tables, row for row (also across processes
  with different hash seeds);
* a different seed gives a different world;
* the arrival stream does not depend on the policy;
* each channel draws its outcomes from its own stream, so changing one channel's
  model leaves every other channel's outcomes alone.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import notifsim
from notifsim.channels import Bernoulli, Scripted
from notifsim.operators import Scripted as ScriptedOperator
from notifsim.workloads import Poisson

TABLES = ("notifications", "attempts", "ticks", "requeues", "samples")


def _initial_rows():
    """A snapshot exercising the retry sweep, the dead-letter queue and requeues."""
    return [
        {
            "id": "armed-1",
            "channel": "Slack",
            "recipient": "a@example.com",
            "status": "failed",
            "retry_count": 1,
            "next_retry_at": 30.0,
            "last_error": "slack: webhook returned HTTP 503",
            "sent_at": "0001-01-01T00:00:00Z",
            "created_at": -600.0,
        },
        {
            "id": "armed-2",
            "channel": "Email",
            "recipient": "b@example.com",
            "status": "failed",
            "retry_count": 3,
            "next_retry_at": 200.0,
            "last_error": "boom",
            "sent_at": "0001-01-01T00:00:00Z",
            "created_at": -3600.0,
        },
        {
            "id": "dead-1",
            "channel": "Slack",
            "recipient": "c@example.com",
            "status": "dead",
            "retry_count": 4,
            "last_error": "gone",
            "sent_at": "0001-01-01T00:00:00Z",
            "created_at": -7200.0,
        },
        {"id": "stranded-1", "channel": "Webhook", "recipient": "d@example.com", "status": "failed", "sent_at": "0001-01-01T00:00:00Z", "created_at": -100.0},
    ]


def _scenario() -> notifsim.Scenario:
    base = notifsim.Scenario.preset("default")
    return notifsim.Scenario(
        "determinism",
        channels=base.channels,
        workload=base.workload,
        start=base.start,
        initial_rows=_initial_rows(),
        operator=ScriptedOperator(
            [("10m", "requeue", "dead-1"), ("20m", "requeue", "stranded-1"), ("30m", "read", "armed-2"), ("40m", "requeue", "no-such-id")]
        ),
    )


def _run(policy="certctl-i005", seed=11, horizon="6h", scenario=None) -> notifsim.Result:
    return notifsim.simulate(scenario or _scenario(), policy, seed=seed, horizon=horizon)


def assert_same_run(a: notifsim.Result, b: notifsim.Result) -> None:
    """Every table and every metadata field equal, except the run id and timings."""
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True, obj=name)
    for field in ("scenario", "policy", "seed", "horizon_s", "start", "config", "experiment", "replication"):
        assert getattr(a, field) == getattr(b, field), field


@pytest.mark.parametrize("policy", ["certctl-asbuilt", "certctl-i005"])
def test_same_seed_same_config_identical_tables(policy):
    a = _run(policy)
    b = _run(policy)
    assert a.run_id != b.run_id
    # the run is not trivial: every table has rows, so equality means something
    for name in TABLES:
        assert len(getattr(a, name)) > 0, name
    assert_same_run(a, b)
    pd.testing.assert_series_equal(a.summary(), b.summary())


def test_same_seed_identical_with_fresh_objects():
    """Equal configs built separately (not the same objects) give the same run."""
    a = _run(scenario=_scenario(), policy=notifsim.Policy.preset("certctl-i005").replace(pending_batch=200))
    b = _run(scenario=_scenario(), policy=notifsim.Policy.preset("certctl-i005").replace(pending_batch=200))
    assert_same_run(a, b)


_DIGEST_SCRIPT = textwrap.dedent(
    """
    import hashlib, sys
    import notifsim
    r = notifsim.simulate("default", "certctl-i005", seed=5, horizon="3h")
    h = hashlib.sha256()
    for name in ("notifications", "attempts", "ticks", "requeues", "samples"):
        h.update(getattr(r, name).to_csv(index=False).encode())
    print(h.hexdigest())
    """
)


def test_identical_across_processes_and_hash_seeds():
    """No dependence on set/dict iteration order of str hashes (PYTHONHASHSEED) or process state."""
    digests = set()
    for hash_seed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = subprocess.run([sys.executable, "-c", _DIGEST_SCRIPT], env=env, capture_output=True, text=True, check=True)
        digests.add(out.stdout.strip())
    r = notifsim.simulate("default", "certctl-i005", seed=5, horizon="3h")
    h = hashlib.sha256()
    for name in TABLES:
        h.update(getattr(r, name).to_csv(index=False).encode())
    digests.add(h.hexdigest())
    assert len(digests) == 1


def test_different_seed_changes_the_world():
    a = _run(seed=11)
    b = _run(seed=12)
    created_a = a.notifications[a.notifications["origin"] == "created"]
    created_b = b.notifications[b.notifications["origin"] == "created"]
    assert not created_a["created_at"].reset_index(drop=True).equals(created_b["created_at"].reset_index(drop=True))
    # outcomes differ too, not just arrival times
    assert not a.attempts["outcome"].reset_index(drop=True).equals(b.attempts["outcome"].reset_index(drop=True))


def _arrivals(result: notifsim.Result) -> pd.DataFrame:
    n = result.notifications
    created = n[n["origin"] == "created"]
    return created[["id", "created_at", "channel", "type", "recipient", "certificate_id", "message"]].reset_index(drop=True)


@pytest.mark.parametrize("seed", [0, 3])
def test_arrival_stream_identical_across_profiles(seed):
    asbuilt = _run("certctl-asbuilt", seed=seed)
    i005 = _run("certctl-i005", seed=seed)
    assert len(_arrivals(asbuilt)) > 100
    pd.testing.assert_frame_equal(_arrivals(asbuilt), _arrivals(i005))
    # ... while the profiles really behaved differently on that world
    assert asbuilt.summary()["stranded"] > 0
    assert i005.summary()["stranded"] == 0


def test_arrival_stream_independent_of_channel_models():
    """Arrivals come from the 'arrivals' stream only: failure models do not shift them."""
    wl = Poisson(600, channels={"Slack": 1, "Email": 1}, types="ExpirationWarning")
    a = _run(scenario=notifsim.Scenario("a", channels={"Slack": Bernoulli(0.1), "Email": Bernoulli(0.2)}, workload=wl), horizon="2h")
    b = _run(scenario=notifsim.Scenario("b", channels={"Slack": Bernoulli(0.9, latency=2.0), "Email": Scripted([], then="x")}, workload=wl), horizon="2h")
    pd.testing.assert_frame_equal(_arrivals(a), _arrivals(b))


# -- per-channel streams --------------------------------------------------------------


def _two_channel(slack_model, email_model=None, *, policy="certctl-i005", horizon="4h", seed=21):
    scenario = notifsim.Scenario(
        "crn",
        channels={"Slack": slack_model, "Email": email_model or Bernoulli(0.4)},
        workload=Poisson(900, channels={"Slack": 1, "Email": 1}, types="ExpirationWarning"),
    )
    return notifsim.simulate(scenario, policy, seed=seed, horizon=horizon)


def _channel_rows(result, channel):
    n = result.notifications
    return n[n["channel"] == channel].reset_index(drop=True)


def _channel_attempts(result, channel):
    a = result.attempts
    return a[a["channel"] == channel].reset_index(drop=True)


@pytest.mark.parametrize("policy", ["certctl-asbuilt", "certctl-i005"])
def test_changing_one_channel_model_leaves_other_channel_untouched_without_latency(policy):
    """With zero latency a send takes no time, so Email's sends happen at the same
    instants whatever Slack does; Email's own outcome stream then makes every Email
    row and every Email Send call identical."""
    a = _two_channel(Bernoulli(0.1), policy=policy)
    b = _two_channel(Bernoulli(0.7, error="slack: other error"), policy=policy)
    # Slack really changed
    assert not _channel_attempts(a, "Slack")["outcome"].equals(_channel_attempts(b, "Slack")["outcome"])
    email_a, email_b = _channel_rows(a, "Email"), _channel_rows(b, "Email")
    assert (email_a["status"] == "failed").any()
    pd.testing.assert_frame_equal(email_a, email_b)
    pd.testing.assert_frame_equal(_channel_attempts(a, "Email"), _channel_attempts(b, "Email"))


def _outcome_by_attempt(result, channel):
    """{(notification_id, attempt number): outcome} for one channel's Send calls."""
    a = _channel_attempts(result, channel).sort_values("at", kind="stable")
    number = a.groupby("notification_id").cumcount()
    return dict(zip(zip(a["notification_id"], number), a["outcome"]))


def test_changing_one_channel_model_keeps_other_channels_outcomes_per_attempt():
    """With latency, Email's sends shift in time when Slack's sends change, but the k-th Send of an
    Email notification draws the same number whatever else happened: per-attempt outcomes agree."""
    a = _two_channel(Bernoulli(0.1, latency=3.0), Bernoulli(0.4, latency=1.0))
    b = _two_channel(Bernoulli(0.8, latency=3.0), Bernoulli(0.4, latency=1.0))
    assert not _channel_attempts(a, "Slack")["outcome"].equals(_channel_attempts(b, "Slack")["outcome"])
    out_a, out_b = _outcome_by_attempt(a, "Email"), _outcome_by_attempt(b, "Email")
    common = out_a.keys() & out_b.keys()
    assert len(common) > 1000
    assert all(out_a[k] == out_b[k] for k in common)


def test_policies_on_one_seed_share_each_attempts_outcome():
    """Common random numbers down to the attempt: the first Send of every Slack alert succeeds or fails
    alike under certctl as built and as designed; i005's later attempts are the world's next draws."""
    a = _two_channel(Bernoulli(0.3), policy="certctl-asbuilt")
    b = _two_channel(Bernoulli(0.3), policy="certctl-i005")
    out_a, out_b = _outcome_by_attempt(a, "Slack"), _outcome_by_attempt(b, "Slack")
    first = [k for k in out_a if k[1] == 0]
    assert len(first) > 1000 and all(k in out_b for k in first)
    assert all(out_a[k] == out_b[k] for k in first)
    # the failures are the same alerts: as built they are stranded, under i005 they are retried
    failed_first = {k[0] for k in first if out_a[k] == "error"}
    stranded = set(a.notifications.loc[(a.notifications["status"] == "failed") & (a.notifications["channel"] == "Slack"), "id"])
    assert failed_first == stranded


def test_results_compare_with_equals():
    """Two runs of one configuration are equal; another seed or policy is not; a stored run equals the original."""
    a = notifsim.simulate("default", "certctl-i005", seed=4, horizon="2h", run_name="x")
    b = notifsim.simulate("default", "certctl-i005", seed=4, horizon="2h", run_name="x")
    assert a == b
    assert not a.__ne__(b)
    assert a != notifsim.simulate("default", "certctl-i005", seed=5, horizon="2h", run_name="x")
    assert a != notifsim.simulate("default", "certctl-asbuilt", seed=4, horizon="2h", run_name="x")
    assert a != notifsim.simulate("default", "certctl-i005", seed=4, horizon="2h", run_name="y")
    assert a != "not a result"


@given(st.lists(st.lists(st.integers(0, 2**64 - 1), min_size=5, max_size=5), min_size=1, max_size=20))
@settings(max_examples=200, deadline=None)
def test_keys_folded_as_arrays_equal_keys_folded_one_by_one(rows):
    """A row's key (streams.combine of its parts) is the same whether folded in Python or as arrays (how rows created
    together get their keys)."""
    from notifsim.streams import combine, combine_many

    expected = [combine(*parts) for parts in rows]
    columns = [np.array(column, np.uint64) for column in zip(*rows)]
    assert combine_many(*columns).tolist() == expected


@given(st.lists(st.one_of(st.none(), st.text(max_size=300)), max_size=30))
@settings(max_examples=200, deadline=None)
def test_texts_hashed_together_equal_texts_hashed_one_by_one(texts):
    """A row's message hash is the same whether hashed alone or with the other rows created together, and it is the
    blake2b digest (8 bytes, little-endian) of the UTF-8 text, with None hashed as its own marker."""
    from notifsim.streams import text_hash, text_hashes

    expected = [int.from_bytes(hashlib.blake2b(b"\x00none" if t is None else t.encode(), digest_size=8).digest(), "little") for t in texts]
    assert [text_hash(t) for t in texts] == expected
    hashed = text_hashes(texts)
    assert hashed.dtype == np.uint64 and hashed.tolist() == expected
