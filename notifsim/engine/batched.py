"""The batched engine: the reference engine's tables, with the work between foreign events done as arrays.

Foreign events — scheduler ticks, operator actions, a fleet's checks, the
sampler, anything a workload schedules — run as SimPy events exactly as in
:mod:`.events`.  What happens between them is computed in bulk:

* an arrival workload's arrivals, their rows and their creators' Sends are
  laid out once, at the start (a creator's rows depend on nothing that
  happens during the run), and created block by block as time passes;
* a tick's listed rows are laid out when the tick lists them;
* the effects — each Send's record and status write, the no-notifier
  writes — wait in an agenda keyed like SimPy's queue (:mod:`.clock`) and
  are applied as arrays just before the next foreign event, in key order:
  arrays of distinct rows together, a row's later effects in a later round.

A laid-out Send's attempt number is fixed when its chain is laid out.  That
is exact unless another caller begins a Send of the same row first; so each
Send a laid-out chain has not begun yet is counted in ``planned``, and a
tick that lists such a row runs on the per-event path instead, after
handing the chains it collides with over to that path too (the Send in
flight is finished by a SimPy event with that Send's own key, the rest is
sent one row at a time).  Rows on stateful channels (rate limits, scripts,
greylisting) and policies with a retry quota (state shared by a channel's
rows, in write order) run on the per-event path throughout.  So the tables
never depend on which path ran (a test runs both on random worlds).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np

from ..policy import Policy
from ..record import LOOP_CODE
from ..scenario import Scenario
from ..streams import combine_many, mix64_many, uniforms
from ..workloads.arrivals import ArrivalRun
from .clock import arrival_order, completion_order, tick_order
from .events import LOOPS, EventEngine
from .state import _WRITE_SALT, Send
from .timeline import NO_NOTIFIER, SEND, Timeline, channel_facts, timelines

_CREATE, _PROCESS, _RETRY = LOOP_CODE["create"], LOOP_CODE["process"], LOOP_CODE["retry"]
_ITEM: tuple[str, ...] = (
    "t",
    "s_start",
    "s_seq",
    "s_att",
    "pos",
    "kind",
    "seq",
    "start",
    "latency",
    "delivered",
    "error",
    "retry_after",
    "key",
    "attempt",
    "loop",
    "rc",
    "deadline",
    "chain",
    "planned",
    "unplan_self",
    "unplan_next",
)


class _Chain:
    """A laid-out chain that needs bookkeeping or may be handed over: a tick, or a creator of several rows."""

    __slots__ = ("applied", "deadline", "hit", "index", "items", "loop", "rows", "sends", "seqs", "total")

    def __init__(self, loop: str | None, index: int, seqs: np.ndarray, deadline: float, items: dict[str, np.ndarray]):
        self.loop = loop  # "process" / "retry" for a tick, None for a creator
        self.index = index  # the tick's row in the ticks table
        self.seqs = seqs
        self.rows = len(seqs)
        self.deadline = deadline
        self.items = items  # its items after the first step, in chain order
        self.total = len(items["seq"])
        self.applied = 0
        self.sends = 0
        self.hit = False


def _layout(tl: Timeline, seq: np.ndarray, rc: np.ndarray, loop: int, deadline: np.ndarray, chain_no: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The items of laid-out chains and which come after each chain's first step.

    A chain's first step is everything up to its first Send that takes time;
    step *s* begins when its *s*-th timed Send returns and is keyed like that
    Send's completion.  ``unplan_self`` / ``unplan_next`` say which rows' planned
    Sends begin when the item is applied.
    """
    k = len(seq)
    timed = (tl.kind == SEND) & (tl.latency > 0)
    first = np.ones(k, bool)
    if k:
        first[1:] = chain_no[1:] != chain_no[:-1]
    cum = np.cumsum(timed)
    chain_start = np.maximum.accumulate(np.where(first, np.arange(k), 0)) if k else np.zeros(0, np.int64)
    before_chain = (cum - timed)[chain_start]
    step = (cum - timed) - before_chain + timed
    done = tl.start + tl.latency
    opener = np.flatnonzero(timed)
    later = step > 0
    t = tl.start.copy()
    s_start = np.zeros(k)
    s_seq = np.zeros(k, np.int64)
    s_att = np.zeros(k, np.int64)
    if later.any():
        owner = opener[before_chain[later] + step[later] - 1]
        t[later] = done[owner]
        s_start[later] = tl.start[owner]
        s_seq[later] = seq[owner]
        s_att[later] = tl.attempt[owner]
    begins = tl.kind != NO_NOTIFIER
    # a Send begins in the step before its effect (timed) or in its own step (zero time); step 0 is now
    start_step = np.where(timed, step - 1, step)
    planned = begins & (start_step >= 1)
    unplan_self = planned & ~timed
    unplan_next = np.full(k, -1, np.int64)
    nxt = np.flatnonzero(planned & timed)  # a timed Send begins when the item just before it in its chain is applied
    if len(nxt):
        unplan_next[nxt - 1] = seq[nxt]
    items = {
        "t": t,
        "s_start": s_start,
        "s_seq": s_seq,
        "s_att": s_att,
        "pos": np.arange(k, dtype=np.int64),
        "kind": tl.kind.astype(np.int8),
        "seq": seq,
        "start": tl.start,
        "latency": tl.latency,
        "delivered": tl.delivered,
        "error": tl.error,
        "retry_after": tl.retry_after,
        "key": tl.key,
        "attempt": tl.attempt,
        "loop": np.full(k, loop, np.int8),
        "rc": rc,
        "deadline": deadline,
        "chain": np.full(k, -1, np.int64),
        "planned": planned,
        "unplan_self": unplan_self,
        "unplan_next": unplan_next,
    }
    return items, later


def _subset(items: dict[str, np.ndarray], mask: np.ndarray | slice) -> dict[str, np.ndarray]:
    return {name: values[mask] for name, values in items.items()}


def _sorted(items: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    order = np.lexsort((items["pos"], items["s_att"], items["s_seq"], items["s_start"], items["t"]))
    return _subset(items, order)


def _prefix(block: dict[str, np.ndarray], key: tuple) -> int:
    """How many items of a key-sorted block come before ``key``."""
    t = block["t"]
    kt = key[0]
    n = int(np.searchsorted(t, kt, side="left"))
    while n < len(t) and t[n] == kt and (kt, (1, 0, float(block["s_start"][n]), int(block["s_seq"][n]), int(block["s_att"][n]))) < key:
        n += 1
    return n


class BatchedEngine(EventEngine):
    """The same run as :class:`~notifsim.engine.events.EventEngine`, the work between foreign events done as arrays."""

    def __init__(self, scenario: Scenario, policy: Policy, *, seed: int, horizon_s: float, initial_rows: list[dict], sample_interval: float):
        super().__init__(scenario, policy, seed=seed, horizon_s=horizon_s, initial_rows=initial_rows, sample_interval=sample_interval)
        self.bulk = policy.retry_quota == 0  # a retry quota is decided one write at a time, in order
        self.blocks: list[dict[str, np.ndarray]] = []  # agenda: items sorted by their step's key
        self.chains: dict[int, _Chain] = {}
        self._next_chain = 0
        self._facts: dict[str, np.ndarray] | None = None
        self._facts_for = -1
        self._plan_arrivals: dict[str, Any] | None = None
        self._gone: set[int] = set()  # chains handed over: their items still in the arrivals' block are dropped

    def facts(self) -> dict[str, np.ndarray]:
        """Per channel code: notifier, HTTP, timeout, Email, stateful (cached while the channel pool is unchanged)."""
        n = len(self.state.table.channels)
        if self._facts is None or self._facts_for != n:
            self._facts = channel_facts(self.state)
            self._facts_for = n
        return self._facts

    # -- driving -------------------------------------------------------------------------

    def start_workload(self, workload: Any) -> None:
        if self.bulk and isinstance(workload, ArrivalRun):
            self._prepare_arrivals(workload)
        else:
            super().start_workload(workload)

    def advance(self) -> None:
        env, horizon = self.env, self.horizon_s
        while True:
            key = env.next_key()
            if key[0] >= horizon:
                self.flush((horizon, (-9,)))
                break
            self.flush(key)
            env.step()
        for chain in self.chains.values():  # laid-out ticks still running at the horizon: their counts so far
            if chain.loop is not None:
                self.recorder.update_tick(chain.index, chain.rows, chain.sends, chain.hit)

    def flush(self, key: tuple) -> None:
        """Create the arrivals and apply the effects that come before ``key``, in key order."""
        taken = self._create_arrivals(key)
        kept = []
        for block in self.blocks:
            n = _prefix(block, key)
            if n:
                taken.append(_subset(block, slice(0, n)))
            if n < len(block["t"]):
                kept.append(_subset(block, slice(n, None)) if n else block)
        self.blocks = kept
        if not taken:
            return
        items = taken[0] if len(taken) == 1 else _sorted({name: np.concatenate([b[name] for b in taken]) for name in _ITEM})
        self._apply(items, later=True)

    # -- ticks ----------------------------------------------------------------------------

    def _loop(self, loop: str, interval: float) -> Generator[Any, Any, None]:
        env = self.env
        order = tick_order(LOOPS.index(loop))
        k = 0
        while True:
            yield env.at(k * interval, order)
            if self.running[loop]:
                self.recorder.open_tick(loop, env.now, skipped=True)
            else:
                self.running[loop] = True
                env.process(self._tick_process(loop))  # in its own process, as the reference engine starts a tick
            k += 1

    def _tick_process(self, loop: str) -> Generator[Any, Any, None]:
        """A tick, in its own process as in the reference engine: it lists its rows, then lays them out, or
        sends them one by one (in this same process) when they collide with a laid-out chain or a channel has state."""
        index, deadline, listed = self.listing(loop)
        if listed is None:
            return
        if not listed:
            self.recorder.close_tick(index, 0, 0, self.env.now, False)
            self.running[loop] = False
            return
        state = self.state
        seqs = np.array([s for s, _ in listed], np.int64)
        ch = state.table.channel[seqs].astype(np.int64)
        collide = bool((state.planned[seqs] > 0).any())
        if not self.bulk or self.facts()["stateful"][ch].any() or collide:
            if collide:
                self._hand_over(seqs)
            yield from self.tick_body(loop, index, deadline, listed, 0, 0, False)
            return
        self._lay_out_tick(loop, index, deadline, listed, seqs, ch)

    def _lay_out_tick(self, loop: str, index: int, deadline: float, listed: list[tuple[int, int]], seqs: np.ndarray, ch: np.ndarray) -> None:
        """Lay a tick's rows out: its first step now, the rest to the agenda."""
        state = self.state
        facts = self.facts()
        k = len(seqs)
        now = float(self.env.now)
        attempt = state.sends[seqs]
        key = mix64_many(state.keys[seqs] + attempt.astype(np.uint64))
        chain_no = np.zeros(k, np.int64)
        dl = np.full(k, float(deadline))
        tl = timelines(state, ch, state.table.recipient[seqs], key, attempt, chain_no, np.full(k, now), dl, facts)
        rc = np.array([r for _, r in listed], np.int64)
        items, later = _layout(tl, seqs, rc, _PROCESS if loop == "process" else _RETRY, dl, chain_no)
        state.sends[seqs[tl.kind == SEND]] += 1
        self._plan(items, later)
        rid = self._record(loop, index, seqs, deadline, items, later, np.ones(k, bool))
        self._apply(_subset(items, ~later), later=False)
        if later.any():
            self.blocks.append(_sorted(_subset(items, later)))
        if self.chains[rid].total == 0:
            self._finish(rid, now)

    def _plan(self, items: dict[str, np.ndarray], later: np.ndarray) -> None:
        """Count the laid-out Sends that begin after their chain's first step."""
        counted = items["planned"]
        if counted.any():
            np.add.at(self.state.planned, items["seq"][counted], 1)

    def _record(
        self, loop: str | None, index: int, seqs: np.ndarray, deadline: float, items: dict[str, np.ndarray], later: np.ndarray, rows: np.ndarray
    ) -> int:
        """A chain record for the items flagged in ``rows``; its number is written into their ``chain``."""
        rid = self._next_chain
        self._next_chain += 1
        items["chain"][rows] = rid
        mine = later & rows
        self.chains[rid] = _Chain(loop, index, seqs, deadline, _subset(items, mine))
        return rid

    # -- arrivals ---------------------------------------------------------------------------

    def _prepare_arrivals(self, run: ArrivalRun) -> None:
        """Lay out every arrival's rows and creator Sends once; arrivals on stateful channels go the per-event way."""
        state = self.state
        table = state.table
        facts = self.facts()
        stateful = {name for name, ch in state.channels.items() if getattr(ch, "stateful", False)}
        n = len(run)
        channel = np.asarray(run.channel, dtype=object)
        kind = np.asarray(run.type, dtype=object)
        revocation = kind == "Revocation"
        on_stateful = np.array([c in stateful for c in channel.tolist()], bool) if n else np.zeros(0, bool)
        if revocation.any() and {"Webhook", "Email"} & stateful:
            on_stateful |= revocation
        scalar = np.flatnonzero(on_stateful)
        if len(scalar):
            self.env.process(self._scalar_arrivals(run, scalar))
        times = run.times
        available = state.db.available_many(times) if n else np.zeros(0, bool)
        lost = ~on_stateful & ~available  # the first Create fails at their instant: nothing is created or sent
        if lost.any():
            state.recorder.lost_creations += int(np.where(revocation[lost], 2, 1).sum())
        chosen = np.flatnonzero(~on_stateful & available)
        if not len(chosen):
            return
        cols = _columns_for(run, chosen)
        arrival = cols["arrival"]
        t = times[arrival]
        type_codes = np.array([table.types.code(x) for x in cols["types"]], np.int16)[cols["type"]]
        channel_codes = np.array([table.channels.code(x) for x in cols["channels"]], np.int16)[cols["channel"]]
        recipient_codes = np.array([table.recipients.code(x) for x in cols["recipients"]], np.int32)[cols["recipient"]]
        facts = self.facts()
        h = lambda names: np.array([state.h(x) for x in names], np.uint64)  # noqa: E731
        us = np.round(t * 1e6).astype(np.int64).view(np.uint64)
        keys = combine_many(
            us, h(cols["types"])[cols["type"]], h(cols["channels"])[cols["channel"]], h(cols["recipients"])[cols["recipient"]], arrival.astype(np.uint64)
        )
        first = np.ones(len(arrival), bool)
        first[1:] = arrival[1:] != arrival[:-1]
        group = np.cumsum(first) - 1
        deadline = t + run.deadline
        ch = channel_codes.astype(np.int64)
        send_keys = mix64_many(keys)  # attempt 0: mix64(key + 0)
        tl = timelines(state, ch, recipient_codes, send_keys, np.zeros(len(arrival), np.int64), group, t, deadline, facts)
        rows = np.arange(len(arrival), dtype=np.int64)  # arrival rows stand in for row numbers until created
        items, later = _layout(tl, rows, np.zeros(len(arrival), np.int64), _CREATE, deadline, group)
        counts = np.bincount(group, weights=later.astype(float)).astype(np.int64) if len(group) else np.zeros(0, np.int64)
        self._plan_arrivals = {
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
            "now": _subset(items, ~later),  # first-step items, in row order
            "now_rows": np.flatnonzero(~later),
            "later": (block := _sorted(_subset(items, later))),  # the rest, key-sorted, rows as arrival rows
            "later_by_row": (by_row := np.argsort(block["seq"], kind="stable")),
            "later_rows": block["seq"][by_row],  # arrival rows of the later items, ascending
            "later_counted": bool(block["planned"].any()) or bool((counts[group] > 1).any()),
            "later_taken": 0,
            "next": 0,
            "seq": np.full(len(arrival), -1, np.int64),
        }

    def _scalar_arrivals(self, run: ArrivalRun, indexes: np.ndarray) -> Generator[Any, Any, None]:
        env = self.env
        for i in indexes.tolist():
            yield env.after(float(run.times[i]) - env.now, arrival_order(i))
            self.create_batch(run.specs(i), run.deadline, identity=i)

    def _create_arrivals(self, key: tuple) -> list[dict[str, np.ndarray]]:
        """Create the arrivals whose key comes before ``key``; their effects before ``key``, as taken items."""
        a = self._plan_arrivals
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
            self._create(a, lo, hi)
        later = a["later"]
        if len(later["t"]) > a["later_taken"]:
            view = _subset(later, slice(a["later_taken"], None))
            n = _prefix(view, key)
            if n:
                part = _subset(view, slice(0, n))
                a["later_taken"] += n
                seq = a["seq"]
                part["seq"] = seq[part["seq"]]
                part["s_seq"] = seq[part["s_seq"]]
                nxt = part["unplan_next"]
                part["unplan_next"] = np.where(nxt >= 0, seq[np.maximum(nxt, 0)], -1)
                if self._gone:
                    part = _subset(part, ~np.isin(part["chain"], list(self._gone)))
                taken.append(part)
        return taken

    def _create(self, a: dict[str, Any], lo: int, hi: int) -> None:
        """Create arrivals ``lo .. hi-1`` (of the laid-out ones): their rows, first steps and records."""
        state = self.state
        rlo = int(a["row_start"][lo])
        rhi = int(a["row_start"][hi]) if hi < len(a["row_start"]) else len(a["t"])
        rows = np.arange(rlo, rhi)
        cert = a["certificate_id"].slice(rlo, rhi - rlo)
        message = a["message"].slice(rlo, rhi - rlo)
        seqs = state.table.create_many(
            a["t"][rows], type=a["type"][rows], channel=a["channel"][rows], recipient=a["recipient"][rows], certificate_ids=cert, messages=message
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
            part = _subset(later, where_all)
            counted = part["planned"]
            if counted.any():
                np.add.at(state.planned, a["seq"][part["seq"][counted]], 1)
            # creators with more than one effect after their first step get a record (they may be handed over)
            groups = a["group"][part["seq"]]
            for g in np.unique(groups[a["records"][part["seq"]]]).tolist():
                sel = groups == g
                own = _subset(part, sel)
                own["seq"] = a["seq"][own["seq"]]
                own["s_seq"] = a["seq"][own["s_seq"]]
                nxt = own["unplan_next"]
                own["unplan_next"] = np.where(nxt >= 0, a["seq"][np.maximum(nxt, 0)], -1)
                rid = self._next_chain
                self._next_chain += 1
                chain_rows = a["seq"][np.flatnonzero(a["group"] == g)]
                own["chain"][:] = rid
                self.chains[rid] = _Chain(None, -1, chain_rows, float(own["deadline"][0]), own)
                later["chain"][where_all[sel]] = rid
        now_rows = a["now_rows"]
        sel = (now_rows >= rlo) & (now_rows < rhi)
        if sel.any():
            first = _subset(a["now"], sel)
            first["seq"] = a["seq"][first["seq"]]
            self._apply(first, later=False)

    # -- applying effects ---------------------------------------------------------------------

    def _apply(self, items: dict[str, np.ndarray], *, later: bool) -> None:
        """Apply effects given in key order: rows in rounds, so a row's effects keep their order."""
        seq = items["seq"]
        if not len(seq):
            return
        order = np.argsort(seq, kind="stable")
        sorted_seq = seq[order]
        new = np.ones(len(seq), bool)
        new[1:] = sorted_seq[1:] != sorted_seq[:-1]
        starts = np.maximum.accumulate(np.where(new, np.arange(len(seq)), 0))
        rnd = np.empty(len(seq), np.int64)
        rnd[order] = np.arange(len(seq)) - starts
        for r in range(int(rnd.max()) + 1):
            self._apply_round(items if rnd.max() == 0 else _subset(items, rnd == r), later)

    def _apply_round(self, it: dict[str, np.ndarray], later: bool) -> None:
        """Effects of distinct rows."""
        state = self.state
        kind, seq, t = it["kind"], it["seq"], it["t"]
        refused = t >= it["deadline"]
        recorded = kind != NO_NOTIFIER
        if recorded.any():
            r = recorded
            state.recorder.attempts_many(
                seq[r], it["start"][r], it["loop"][r], it["rc"][r], it["error"][r], it["latency"][r], it["delivered"][r], t[r], it["retry_after"][r]
            )
        if later:
            if it["unplan_self"].any():
                np.subtract.at(state.planned, seq[it["unplan_self"]], 1)
            nxt = it["unplan_next"]
            if (nxt >= 0).any():
                np.subtract.at(state.planned, nxt[nxt >= 0], 1)
        nn = (kind == NO_NOTIFIER) & ~refused
        if nn.any():
            self._write_no_notifier_many(seq[nn], t[nn])
        live = (kind == SEND) & ~refused
        if live.any():
            s = seq[live]
            ok = self._db_ok(s, t[live])
            if ok.any():
                s = s[ok]
                pick = np.flatnonzero(live)[ok]
                error = it["error"][pick]
                u = None
                if state.jitter_salt is not None:
                    u = np.where(error >= 0, uniforms(state.jitter_salt, it["key"][pick]), np.nan)
                state.service.finish_many(s, it["loop"][pick] == _RETRY, it["rc"][pick], error, t[pick], it["retry_after"][pick], u)
        chains = it["chain"]
        if (chains >= 0).any():
            for rid in np.unique(chains[chains >= 0]).tolist():
                chain = self.chains.get(rid)
                if chain is None:
                    continue
                mine = chains == rid
                chain.sends += int(recorded[mine].sum())
                chain.hit = chain.hit or bool(refused[mine].any())
                if later:
                    chain.applied += int(mine.sum())
                    if chain.applied >= chain.total:  # the chain ends with its last item (rounds may apply it early)
                        self._finish(rid, float(chain.items["t"].max()))

    def _db_ok(self, seqs: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The database's verdict on a status write of each (distinct) row at ``t``; counts the writes."""
        state = self.state
        n = state.writes[seqs]
        state.writes[seqs] = n + 1
        if not state.db.faulty:
            return np.ones(len(seqs), bool)
        keys = mix64_many((state.keys[seqs] ^ np.uint64(_WRITE_SALT)) + n.astype(np.uint64))
        return state.db.write_ok_many(t, keys)

    def _write_no_notifier_many(self, seqs: np.ndarray, t: np.ndarray) -> None:
        """T3/T6 for distinct rows without a notifier, at ``t`` (on live contexts)."""
        ok = self._db_ok(seqs, t)
        if ok.any():
            self.state.service.finish_no_notifier_many(seqs[ok], t[ok])

    def _finish(self, rid: int, end: float) -> None:
        chain = self.chains.pop(rid)
        if chain.loop is not None:
            self.recorder.close_tick(chain.index, chain.rows, chain.sends, end, chain.hit)
            self.running[chain.loop] = False

    # -- handing chains over to the per-event path ------------------------------------------------

    def _hand_over(self, listed: np.ndarray) -> None:
        """Chains with planned Sends of ``listed`` rows continue on the per-event path."""
        wanted = [rid for rid, chain in self.chains.items() if np.isin(listed, chain.items["seq"][chain.applied + 1 :]).any()]
        for rid in wanted:
            self._hand_over_chain(rid)

    def _hand_over_chain(self, rid: int) -> None:
        state, env = self.state, self.env
        chain = self.chains.pop(rid)
        kept = []
        for block in self.blocks:
            mine = block["chain"] == rid
            if mine.all():
                continue
            kept.append(_subset(block, ~mine) if mine.any() else block)
        self.blocks = kept
        self._gone.add(rid)  # its items not yet taken from the arrivals' block are dropped when taken
        rest = _subset(chain.items, slice(chain.applied, None))
        # the first remaining item is the Send in flight (begun, not returned); the others have not begun
        unstarted = _subset(rest, slice(1, None))
        counted = unstarted["kind"] != NO_NOTIFIER
        if counted.any():
            np.subtract.at(state.planned, unstarted["seq"][counted], 1)
        began = unstarted["kind"] == SEND
        if began.any():
            np.subtract.at(state.sends, unstarted["seq"][began], 1)
        inflight = Send(
            int(rest["seq"][0]),
            float(rest["start"][0]),
            float(rest["latency"][0]),
            bool(rest["delivered"][0]),
            int(rest["error"][0]),
            float(rest["retry_after"][0]),
            int(rest["key"][0]),
            int(rest["attempt"][0]),
            int(rest["loop"][0]),
            int(rest["rc"][0]),
        )
        rows = list(zip(unstarted["seq"].tolist(), unstarted["rc"].tolist()))
        env.process(self._resume(chain, inflight, rows))

    def _resume(self, chain: _Chain, inflight: Send, rows: list[tuple[int, int]]) -> Generator[Any, Any, None]:
        """A handed-over chain: finish its Send in flight with that Send's own key, then send the rest one by one."""
        env, state = self.env, self.state
        done = inflight.start + inflight.latency
        yield env.after(done - env.now, completion_order(inflight.start, inflight.seq, inflight.attempt))
        state.complete(inflight, env.now)
        refused = state.write(inflight, chain.deadline, env.now)
        sends, hit = chain.sends + 1, chain.hit or refused
        if chain.loop is not None:
            listed = [(int(s), 0) for s in chain.seqs.tolist()]
            position = chain.rows - len(rows)
            yield from self.tick_body(chain.loop, chain.index, chain.deadline, listed[:position] + rows, position, sends, hit)
        else:
            self.plan([s for s, _ in rows])
            for seq, _ in rows:
                yield from self.deliver(seq, _CREATE, 0, chain.deadline)


def _columns_for(run: ArrivalRun, chosen: np.ndarray) -> dict[str, Any]:
    """:meth:`ArrivalRun.columns` for arbitrary (ascending) arrival indexes."""
    lo, hi = int(chosen[0]), int(chosen[-1]) + 1
    cols = run.columns(lo, hi)
    if len(chosen) == hi - lo:
        return cols
    import pyarrow as pa

    keep = np.isin(cols["arrival"], chosen)
    out = dict(cols)
    for name in ("arrival", "first", "type", "channel", "recipient"):
        out[name] = cols[name][keep]
    mask = pa.array(keep)
    out["certificate_id"] = cols["certificate_id"].filter(mask)
    out["message"] = cols["message"].filter(mask)
    return out
