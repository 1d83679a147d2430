"""Invariants over random small worlds (hypothesis).

Random channels (Scripted and Bernoulli, with latencies that cross the client
timeouts and tick deadlines), random initial rows in random statuses, random
operator requeues/reads, random flips of the certctl switches and retry knobs,
random horizons up to a few hours.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import notifsim
from notifsim.channels import Bernoulli, Scripted
from notifsim.machine import CHANNELS, STATUSES, TYPES
from notifsim.operators import Scripted as ScriptedOperator
from notifsim.policy import SWITCHES
from notifsim.workloads import Poisson

ERRORS = st.sampled_from(["boom: HTTP 503", "connection refused"])
LATENCY = st.sampled_from([0.0, 0.0, 0.3, 2.0, 12.0, 45.0, 75.0])


@st.composite
def channel_models(draw):
    if draw(st.booleans()):
        outcomes = draw(st.lists(st.none() | ERRORS, max_size=12))
        then = draw(st.none() | ERRORS)
        latency = draw(LATENCY | st.lists(LATENCY, min_size=1, max_size=4))
        return Scripted(outcomes, then=then, latency=latency)
    return Bernoulli(draw(st.sampled_from([0.0, 0.2, 0.5, 0.9, 1.0])), latency=draw(LATENCY))


@st.composite
def initial_rows(draw):
    rows = []
    for i in range(draw(st.integers(0, 8))):
        status = draw(st.sampled_from(STATUSES))
        sent_at = draw(st.sampled_from([None, "0001-01-01T00:00:00Z", -1800.0, -60.0]))
        nra = None if status == "dead" else draw(st.none() | st.sampled_from([-300.0, 0.0, 59.0, 600.0, 5000.0]))
        rows.append(
            {
                "id": f"init-{i}",
                "channel": draw(st.sampled_from(CHANNELS)),
                "type": draw(st.sampled_from(TYPES)),
                "recipient": draw(st.sampled_from(["", "ops@example.com"])),
                "status": status,
                "retry_count": draw(st.integers(0, 6)),
                "next_retry_at": nra,
                "last_error": None if nra is None else "old error",
                "sent_at": sent_at,
                "created_at": draw(st.sampled_from([-7200.0, -100.0, 0.0])),
            }
        )
    return rows


@st.composite
def policies(draw):
    base = notifsim.Policy.preset(draw(st.sampled_from(["certctl-asbuilt", "certctl-i005"])))
    changes = {}
    for name in SWITCHES:
        if draw(st.booleans()):
            if name == "pending_batch":
                changes[name] = draw(st.sampled_from([1, 3, 50, 1000]))
            elif name == "dedup_statuses":
                changes[name] = draw(st.sampled_from(["any", "not-failed", "delivered", ("sent",), ()]))
            else:
                changes[name] = not getattr(base, name)
    changes["max_attempts"] = draw(st.integers(1, 6))
    changes["backoff_base"] = draw(st.sampled_from([1.0, 30.0, 60.0]))
    changes["process_interval"] = draw(st.sampled_from([30.0, 60.0, 97.0]))
    changes["retry_interval"] = draw(st.sampled_from([45.0, 120.0]))
    changes["process_deadline"] = draw(st.sampled_from([5.0, 60.0]))
    changes["retry_deadline"] = draw(st.sampled_from([10.0, 120.0]))
    return base.replace(**changes)


@st.composite
def worlds(draw):
    modelled = draw(st.lists(st.sampled_from(CHANNELS), unique=True, max_size=4))
    channels = {ch: draw(channel_models()) for ch in modelled}
    workload = None
    if draw(st.integers(0, 4)) > 0:
        # mostly channels with a model, sometimes one without a notifier
        pool = st.sampled_from(modelled) if modelled and draw(st.integers(0, 3)) > 0 else st.sampled_from(CHANNELS)
        targets = draw(st.lists(pool, unique=True, min_size=1, max_size=3))
        workload = Poisson(
            draw(st.sampled_from([10.0, 60.0, 200.0])),
            channels=dict.fromkeys(targets, 1.0),
            types=draw(st.sampled_from(["ExpirationWarning", {"RenewalFailure": 1.0, "Revocation": 1.0}])),
            deadline=draw(st.sampled_from([30.0, 300.0])),
        )
    rows = draw(initial_rows())
    horizon = draw(st.integers(60, 4 * 3600))
    ids = [r["id"] for r in rows] + ["no-such-id"]
    actions = draw(st.lists(st.tuples(st.integers(0, horizon - 1), st.sampled_from(["requeue", "read"]), st.sampled_from(ids)), max_size=6))
    scenario = notifsim.Scenario(
        "prop",
        channels=channels,
        workload=workload,
        initial_rows=rows,
        operator=ScriptedOperator(actions) if actions else None,
    )
    return {
        "scenario": scenario,
        "rows": rows,
        "policy": draw(policies()),
        "horizon": horizon,
        "seed": draw(st.integers(0, 2**32)),
        "sample_interval": draw(st.sampled_from([60, 300, 900, 3600])),
    }


def _seconds(series: pd.Series, start) -> np.ndarray:
    return (series - pd.Timestamp(start)).dt.total_seconds().to_numpy()


def _grid(interval: float, horizon: float) -> np.ndarray:
    return np.arange(0, math.ceil(horizon / interval) + 1) * interval


def check_invariants(world, result: notifsim.Result) -> bool:
    policy, horizon, scenario = world["policy"], world["horizon"], world["scenario"]
    start = result.start
    n, att, ticks, samples, req = result.notifications, result.attempts, result.ticks, result.samples, result.requeues
    initial = {r["id"]: r for r in world["rows"]}
    created = n[n["origin"] == "created"]
    assert set(n.loc[n["origin"] == "initial", "id"]) == set(initial)
    assert n["id"].is_unique
    # Send calls in the order they returned (start + latency; times are kept to the microsecond)
    returned = (att["at"] - start).dt.total_seconds().to_numpy() + att["latency_s"].to_numpy()
    assert (np.diff(returned) >= -1e-6).all()

    # -- statuses and sample counts ------------------------------------------------
    assert set(n["status"]) <= set(STATUSES)
    final = {s: int((n["status"] == s).sum()) for s in STATUSES}
    final["stranded"] = int(((n["status"] == "failed") & n["next_retry_at"].isna()).sum())
    s_all = result.summary(include_initial=True)
    assert s_all["pending"] + s_all["retrying"] + s_all["stranded"] + s_all["dead_lettered"] + final["sent"] + final["read"] == len(n)

    sample_at = _seconds(samples["at"], start)
    grid = _grid(world["sample_interval"], horizon)
    np.testing.assert_allclose(sample_at, grid[grid < horizon], atol=1e-6)
    created_at = _seconds(created["created_at"], start)
    for i, at in enumerate(sample_at):
        row = samples.iloc[i]
        assert sum(int(row[s]) for s in STATUSES) == len(initial) + int((created_at <= at).sum())
        assert 0 <= row["stranded"] <= row["failed"]
    # if nothing could change a row after the last sample, the final table matches it
    last = sample_at[-1]
    done = _seconds(att["at"], start) + att["latency_s"].to_numpy()
    busy = ticks[ticks["rows"] > 0]
    busy_end = _seconds(busy["at"], start) + busy["duration_s"].to_numpy()
    quiet = (
        (created_at < last).all()
        and (done < last).all()
        and not np.isnan(busy_end).any()
        and (busy_end < last).all()
        and (_seconds(req["at"], start) < last).all()
    )
    if quiet:
        assert {k: int(samples.iloc[-1][k]) for k in final} == final

    # -- retry bookkeeping ----------------------------------------------------------
    cap = policy.max_attempts - 1
    assert (created["retry_count"] <= cap).all()
    for _, row in n[n["origin"] == "initial"].iterrows():
        assert row["retry_count"] <= max(initial[row["id"]]["retry_count"], cap)
    retry_sends = att[att["loop"] == "retry"]
    assert (retry_sends["retry_count_before"] < policy.max_attempts).all()
    assert n.loc[n["status"] == "dead", "next_retry_at"].isna().all()
    if policy.arm_first_failure:
        assert not ((created["status"] == "failed") & created["next_retry_at"].isna()).any()

    # -- per-notification counters agree with the attempts table ------------------------
    assert (n["deliveries"] <= n["attempts"]).all()
    per = att.groupby("notification_id").size()
    assert (n.set_index("id")["attempts"] == per.reindex(n["id"]).fillna(0).astype(int).values).all()
    delivered = att[att["delivered"]]
    per_d = delivered.groupby("notification_id").size()
    assert (n.set_index("id")["deliveries"] == per_d.reindex(n["id"]).fillna(0).astype(int).values).all()
    assert (n["first_delivered_at"].notna() == (n["deliveries"] > 0)).all()
    if len(delivered):
        first = (delivered["at"] + pd.to_timedelta(delivered["latency_s"], unit="s")).groupby(delivered["notification_id"]).min()
        got = n.set_index("id").loc[first.index, "first_delivered_at"]
        assert ((got - first).abs() <= pd.Timedelta(microseconds=2)).all()
    assert ((att["outcome"] == "ok") == att["error"].isna()).all()
    assert set(att["loop"]) <= {"create", "process", "retry"}
    at_s = _seconds(att["at"], start)
    assert ((at_s >= 0) & (at_s < horizon)).all()
    # delivered yet reported failed: only Email with the QUIT defect
    odd = att[att["delivered"] & (att["outcome"] == "error")]
    assert (odd["channel"] == "Email").all()
    if not policy.email_quit_defect:
        assert odd.empty

    # -- ticks ------------------------------------------------------------------------
    for loop, interval in (("process", policy.process_interval), ("retry", policy.retry_interval)):
        t = ticks[ticks["loop"] == loop]
        grid = _grid(interval, horizon)
        np.testing.assert_allclose(np.sort(_seconds(t["at"], start)), grid[grid < horizon], atol=1e-6)
        skipped = t[t["skipped"]]
        assert (skipped["sends"] == 0).all() and (skipped["rows"] == 0).all()
        assert (t["sends"] <= t["rows"]).all()
        assert int(t["sends"].sum()) == int((att["loop"] == loop).sum())
    limit = {"process": policy.pending_batch, "retry": policy.sweep_limit}
    assert all(ticks.loc[ticks["loop"] == lp, "rows"].max() <= limit[lp] for lp in limit if (ticks["loop"] == lp).any())

    # -- rows without a notifier are never sent to --------------------------------------
    notifier = set(scenario.channels)
    if not policy.webhook_notifier:
        notifier.discard("Webhook")
    silent = n[~n["channel"].isin(list(notifier))]
    assert (silent["attempts"] == 0).all() and (silent["deliveries"] == 0).all()
    assert att["channel"].isin(list(notifier)).all()

    # -- operator actions --------------------------------------------------------------
    requeued = req[(req["action"] == "requeue") & (req["outcome"] == "requeued")]
    assert int(n["requeues"].sum()) == len(requeued)
    refused = req[req["outcome"] == "refused"]
    if policy.requeue_any_status:
        assert refused.empty
    else:
        assert set(refused["from_status"]) <= {"sent", "read"}
        assert not ((req["action"] == "requeue") & req["from_status"].isin(["sent", "read"]) & (req["outcome"] != "refused")).any()
    assert (req.loc[req["notification_id"] == "no-such-id", "outcome"] == "not_found").all()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(worlds())
def test_invariants_hold_in_random_worlds(world):
    result = notifsim.simulate(
        world["scenario"],
        world["policy"],
        seed=world["seed"],
        horizon=world["horizon"],
        sample_interval=world["sample_interval"],
    )
    check_invariants(world, result)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(worlds())
def test_same_world_same_tables(world):
    """Determinism over random worlds, including Scripted channels bound afresh per run."""
    kw = dict(seed=world["seed"], horizon=world["horizon"], sample_interval=world["sample_interval"])
    a = notifsim.simulate(world["scenario"], world["policy"], **kw)
    b = notifsim.simulate(world["scenario"], world["policy"], **kw)
    for name in ("notifications", "attempts", "ticks", "requeues", "samples"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)
