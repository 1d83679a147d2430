"""The batched engine's arrivals: an arrival workload's rows and creator Sends laid out once, created as time passes.

An arrival workload's arrivals, their rows and their creators' Sends depend
on nothing that happens during the run, so when they are dense enough to pay
for it (:attr:`~notifsim.engine.batched.BatchedEngine.DENSE` per process
interval) they are laid out once, at the start (:func:`prepare_arrivals`),
and created block by block, each just before the first event that comes
after it (:func:`create_arrivals`).  Arrivals on stateful channels are
created one by one, as the reference engine does.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np

from ..record import LOOP_CODE
from ..streams import combine_many, mix64_many
from ..workloads.arrivals import ArrivalRun
from .agenda import Chain, key_sorted, lay_out, prefix, subset
from .clock import arrival_order
from .timeline import SEND, timelines

if TYPE_CHECKING:
    from .batched import BatchedEngine

_CREATE = LOOP_CODE["create"]


def prepare_arrivals(engine: BatchedEngine, run: ArrivalRun) -> None:
    """Lay out every arrival's rows and creator Sends once; arrivals on stateful channels go the per-event way."""
    state = engine.state
    table = state.table
    stateful = {name for name, ch in state.channels.items() if getattr(ch, "stateful", False)}
    n = len(run)
    revocation = run.of_type("Revocation")
    on_stateful = run.on_channels(stateful)
    if revocation.any() and {"Webhook", "Email"} & stateful:
        on_stateful |= revocation
    scalar = np.flatnonzero(on_stateful)
    if len(scalar):
        engine.env.process(_scalar_arrivals(engine, run, scalar))
    times = run.times
    replica_of = state.plan.creators(times)
    available = (state.db.available_many(times) & (replica_of >= 0)) if n else np.zeros(0, bool)
    lost = ~on_stateful & ~available  # the first Create fails at their instant (or no replica is up): nothing is created or sent
    if lost.any():
        state.recorder.lost_creations += int(np.where(revocation[lost], 2, 1).sum())
    chosen = np.flatnonzero(~on_stateful & available)
    if not len(chosen):
        return
    cols = run.columns_of(chosen)
    arrival = cols["arrival"]
    # these rows are all created by the horizon, most sent at least once: room for them now, rather than by
    # doublings as the run grows (each copying every column so far)
    k = len(arrival)
    table.reserve(table.n + k)
    state._reserve(table.n + k)
    state.recorder.rows.reserve(k)
    state.recorder.sends.reserve(k)
    t = times[arrival]
    type_codes = np.array(table.types.codes(cols["types"]), np.int16)[cols["type"]]
    channel_codes = np.array(table.channels.codes(cols["channels"]), np.int16)[cols["channel"]]
    recipient_codes = np.array(table.recipients.codes(cols["recipients"]), np.int32)[cols["recipient"]]
    h = state.hashes
    us = np.round(t * 1e6).astype(np.int64).view(np.uint64)
    keys = combine_many(
        us, h(cols["types"])[cols["type"]], h(cols["channels"])[cols["channel"]], h(cols["recipients"])[cols["recipient"]], arrival.astype(np.uint64)
    )
    first = np.ones(len(arrival), bool)
    first[1:] = arrival[1:] != arrival[:-1]
    group = np.cumsum(first) - 1
    deadline = t + run.deadlines[arrival]  # each creator's context (inf: none)
    replica = replica_of[arrival]
    cancel = state.plan.cancel_after_many(replica, t)
    ch = channel_codes.astype(np.int64)
    send_keys = mix64_many(keys)  # attempt 0: mix64(key + 0)
    facts = engine.facts()  # after the codes above: a channel new to the table gets its facts
    tl = timelines(state, ch, recipient_codes, send_keys, np.zeros(len(arrival), np.int64), group, t, deadline, facts, cancel)
    rows = np.arange(len(arrival), dtype=np.int64)  # arrival rows stand in for row numbers until created
    items, later = lay_out(tl, rows, np.zeros(len(arrival), np.int64), _CREATE, deadline, group, cancel, replica.astype(np.int16))
    counts = np.bincount(group, weights=later.astype(float)).astype(np.int64) if len(group) else np.zeros(0, np.int64)
    engine._plan_arrivals = {
        "time": times[chosen],  # per arrival, ascending
        "index": chosen,
        "row_start": np.searchsorted(arrival, chosen),
        "t": t,
        "type": type_codes,
        "channel": channel_codes,
        "recipient": recipient_codes,
        "keys": keys,
        "certificate_id": cols["certificate_id"],
        "message": cols["message"],
        "sends": tl.kind == SEND,
        "group": group,
        "records": counts[group] > 1,  # chains with more than one effect after their first step
        "now": subset(items, ~later),  # first-step items, in row order
        "now_rows": np.flatnonzero(~later),
        "later": (block := key_sorted(subset(items, later))),  # the rest, key-sorted, rows as arrival rows
        "later_by_row": (by_row := np.argsort(block["seq"], kind="stable")),
        "later_rows": block["seq"][by_row],  # arrival rows of the later items, ascending
        "later_counted": bool(block["planned"].any()) or bool((counts[group] > 1).any()),
        "later_taken": 0,
        "next": 0,
        "seq": np.full(len(arrival), -1, np.int64),
    }


def _scalar_arrivals(engine: BatchedEngine, run: ArrivalRun, indexes: np.ndarray) -> Generator[Any, Any, None]:
    env = engine.env
    replicas = engine.state.plan.creators(run.times)
    for i in indexes.tolist():
        yield env.at(float(run.times[i]), arrival_order(i))
        engine.create_batch(run.specs(i), float(run.deadlines[i]), identity=i, replica=int(replicas[i]))


def create_arrivals(engine: BatchedEngine, key: tuple) -> list[dict[str, np.ndarray]]:
    """Create the arrivals whose key comes before ``key``; their effects before ``key``, as taken items."""
    a = engine._plan_arrivals
    if a is None:
        return []
    times, index = a["time"], a["index"]
    lo = a["next"]
    kt = key[0]
    hi = int(np.searchsorted(times, kt, side="left"))
    while hi < len(times) and times[hi] == kt and (kt, arrival_order(int(index[hi]))) < key:
        hi += 1
    taken: list[dict[str, np.ndarray]] = []
    if hi > lo:
        a["next"] = hi
        _create(engine, a, lo, hi)
    later, done = a["later"], a["later_taken"]
    if len(later["t"]) > done:
        n = prefix(later, key, done)
        if n:
            part = subset(later, slice(done, done + n))
            a["later_taken"] += n
            seq = a["seq"]
            part["seq"] = seq[part["seq"]]
            part["s_seq"] = seq[part["s_seq"]]
            nxt = part["unplan_next"]
            part["unplan_next"] = np.where(nxt >= 0, seq[np.maximum(nxt, 0)], -1)
            if engine._gone:
                part = subset(part, ~np.isin(part["chain"], list(engine._gone)))
            taken.append(part)
    return taken


def _create(engine: BatchedEngine, a: dict[str, Any], lo: int, hi: int) -> None:
    """Create arrivals ``lo .. hi-1`` (of the laid-out ones): their rows, first steps and records."""
    state = engine.state
    rlo = int(a["row_start"][lo])
    rhi = int(a["row_start"][hi]) if hi < len(a["row_start"]) else len(a["t"])
    rows = slice(rlo, rhi)
    cert = a["certificate_id"].slice(rlo, rhi - rlo)
    message = a["message"].slice(rlo, rhi - rlo)
    seqs = state.table.create_many(
        a["t"][rows],
        type=a["type"][rows],
        channel=a["channel"][rows],
        recipient=a["recipient"][rows],
        certificate_ids=cert,
        messages=message,
        tagged=False,  # an arrival's body names its type and certificate: never a dedup tag
    )
    state._reserve(int(seqs[-1]) + 1)
    state.keys[seqs] = a["keys"][rows]
    state.recorder.notifications(len(seqs), "created")
    a["seq"][rows] = seqs
    sends = a["sends"][rows]
    state.sends[seqs[sends]] += 1
    # planned Sends of these rows (those laid out to begin after their chain's first step)
    later = a["later"]
    lo_i, hi_i = np.searchsorted(a["later_rows"], [rlo, rhi]) if a["later_counted"] else (0, 0)
    if hi_i > lo_i:
        by_row = a["later_by_row"]
        where_all = np.sort(by_row[lo_i:hi_i])
        part = subset(later, where_all)
        counted = part["planned"]
        if counted.any():
            np.add.at(state.planned, a["seq"][part["seq"][counted]], 1)
        # creators with more than one effect after their first step get a record (they may be handed over)
        groups = a["group"][part["seq"]]
        for g in np.unique(groups[a["records"][part["seq"]]]).tolist():
            sel = groups == g
            own = subset(part, sel)
            own["seq"] = a["seq"][own["seq"]]
            own["s_seq"] = a["seq"][own["s_seq"]]
            nxt = own["unplan_next"]
            own["unplan_next"] = np.where(nxt >= 0, a["seq"][np.maximum(nxt, 0)], -1)
            rid = engine._next_chain
            engine._next_chain += 1
            chain_rows = a["seq"][np.flatnonzero(a["group"] == g)]
            own["chain"][:] = rid
            engine.chains[rid] = Chain(None, -1, chain_rows, engine._context_of(own), own)
            later["chain"][where_all[sel]] = rid
    lo_n, hi_n = np.searchsorted(a["now_rows"], [rlo, rhi])  # now_rows ascends
    if hi_n > lo_n:
        first = subset(a["now"], slice(int(lo_n), int(hi_n)))
        first["seq"] = a["seq"][first["seq"]]
        engine._apply(first, later=False)


def dense(run: ArrivalRun, engine: BatchedEngine) -> bool:
    """Whether ``run``'s arrivals are many enough per process interval to be worth laying out (else one by one)."""
    return len(run) / max(engine.horizon_s, 1.0) * engine.policy.process_interval >= engine.DENSE
