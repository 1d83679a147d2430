"""The batched engine: the reference engine's tables, with the work between foreign events done as arrays.

Foreign events — scheduler ticks, operator actions, a fleet's checks, the
sampler, anything a workload schedules — run as SimPy events exactly as in
:mod:`.events`.  What happens between them is computed in bulk:

* an arrival workload's arrivals, their rows and their creators' Sends are
  laid out once, at the start (a creator's rows depend on nothing that
  happens during the run), and created block by block as time passes —
  when they are dense enough to pay for it (:attr:`BatchedEngine.DENSE`;
  :mod:`.bulk_arrivals`);
* rows that callers create and send (a fleet's job notifications, its
  revocations' fan-outs) are kept out of the table until something looks
  at it, then created and laid out together (:mod:`.deferred`), or else created together at their instant
  (:mod:`.created`);
* a tick's listed rows are laid out when the tick lists them (at least
  :attr:`BatchedEngine.SMALL_TICK` of them; fewer are sent one by one);
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

import math
from collections.abc import Generator
from typing import Any

import numpy as np

from ..machine.views import Notification
from ..policy import Policy
from ..record import LOOP_CODE
from ..scenario import Scenario
from ..streams import mix64_many, uniforms
from ..workloads.arrivals import ArrivalRun
from .agenda import ITEM, Chain, key_sorted, lay_out, prefix, subset
from .bulk_arrivals import create_arrivals, dense, prepare_arrivals
from .clock import completion_order, tick_order
from .created import create_and_send_columns, create_and_send_each
from .deferred import Deferred
from .events import LOOPS, EventEngine, listed_pairs
from .state import Context, Send, spec_columns, usual
from .timeline import INSTANT, NO_NOTIFIER, SEND, channel_facts, timelines

_CREATE, _PROCESS, _RETRY = LOOP_CODE["create"], LOOP_CODE["process"], LOOP_CODE["retry"]


class ReadBack(Notification):
    """The row a caller created and sent (:meth:`BatchedEngine.create_and_send`): reading it creates the deferred rows first."""

    __slots__ = ("_engine",)

    def __init__(self, engine: BatchedEngine, seq: int):
        super().__init__(engine.state.table, seq)
        self._engine = engine

    def __getattr__(self, name: str) -> Any:
        object.__getattribute__(self, "_engine").settle()
        return super().__getattr__(name)


class BatchedEngine(EventEngine):
    """The same run as :class:`~notifsim.engine.events.EventEngine`, the work between foreign events done as arrays."""

    #: A tick listing fewer rows sends them one by one (laying a handful out costs more than sending them).
    SMALL_TICK = 8
    #: Arrivals are laid out in bulk when they average at least this many per process interval.
    DENSE = 8.0
    #: A workload's callers creating and sending a row each at one instant do it as arrays from this many on,
    #: and create their rows in one go (sending them one by one) from ``CREATE_TOGETHER`` on.
    CALLERS = 64
    CREATE_TOGETHER = 16
    #: Empty ticks skipped together are put in order without numpy up to this many.
    SMALL_SKIP = 64

    def __init__(self, scenario: Scenario, policy: Policy, *, seed: int, horizon_s: float, initial_rows: list[dict], sample_interval: float):
        super().__init__(scenario, policy, seed=seed, horizon_s=horizon_s, initial_rows=initial_rows, sample_interval=sample_interval)
        self.bulk = policy.retry_quota == 0  # a retry quota is decided one write at a time, in order
        self.blocks: list[dict[str, np.ndarray]] = []  # agenda: items sorted by their step's key
        self.chains: dict[int, Chain] = {}
        self._next_chain = 0
        self._facts: dict[str, np.ndarray] | None = None
        self._facts_for = -1
        self._plan_arrivals: dict[str, Any] | None = None
        self._gone: set[int] = set()  # chains handed over: their items still in the arrivals' block are dropped
        self.deferred = Deferred(self)  # callers' rows kept out of the table until something looks (:mod:`.deferred`)
        self._key: tuple = (0.0, (0,))  # the key of the event being run
        self._coming = -math.inf  # the instant (s) of the first tick still to run (-inf: the ticker has not started)

    def release(self) -> None:
        super().release()
        self.blocks, self.chains, self._plan_arrivals, self._facts = [], {}, None, None

    def facts(self) -> dict[str, np.ndarray]:
        """Per channel code: notifier, HTTP, timeout, Email, stateful (cached while the channel pool is unchanged)."""
        n = len(self.state.table.channels)
        if self._facts is None or self._facts_for != n:
            self._facts = channel_facts(self.state)
            self._facts_for = n
        return self._facts

    # -- driving -------------------------------------------------------------------------

    def start_workload(self, workload: Any) -> None:
        if self.bulk and isinstance(workload, ArrivalRun) and dense(workload, self):
            prepare_arrivals(self, workload)
        else:
            super().start_workload(workload)

    def advance(self) -> None:
        env, horizon = self.env, self.horizon_s
        while True:
            key = env.next_key()
            if key > self._key:  # the latest key run so far (an urgent event comes after the events that started it)
                self._key = key
            if key[0] >= horizon:
                self._key = (horizon, (-9,))
                self.settle()
                self.flush(self._key)
                break
            if self.blocks or self._plan_arrivals is not None:  # else nothing is laid out: nothing to apply
                self.flush(key)
            env.step()
        for chain in self.chains.values():  # laid-out ticks still running at the horizon: their counts so far
            if chain.loop is not None:
                self.recorder.update_tick(chain.index, chain.rows, chain.sends, chain.hit)

    def flush(self, key: tuple) -> None:
        """Create the arrivals and apply the effects that come before ``key``, in key order."""
        taken = create_arrivals(self, key)
        kept = []
        for block in self.blocks:
            n = prefix(block, key)
            if n:
                taken.append(subset(block, slice(0, n)))
            if n < len(block["t"]):
                kept.append(subset(block, slice(n, None)) if n else block)
        self.blocks = kept
        if not taken:
            return
        items = taken[0] if len(taken) == 1 else key_sorted({name: np.concatenate([b[name] for b in taken]) for name in ITEM})
        self._apply(items, later=True)

    create_and_send_each = create_and_send_each  # several callers' rows at one instant, as arrays (:mod:`.created`)
    create_and_send_columns = create_and_send_columns

    def create_and_send(self, deadline: float, spec: dict) -> Generator[Any, Any, Any]:
        """:meth:`EventEngine.create_and_send`, the row deferred when it qualifies (expiry alerts too): the caller
        resumes in the event the reference engine resumes it in, the Send's status write applied first."""
        seq = self.deferred.admit([deadline], spec_columns([spec]), alerts=True) if usual(spec) else None
        if seq is None:
            return (yield from super().create_and_send(deadline, spec))
        order = completion_order(self.env.now, seq, 0)
        done = self.deferred.returns[seq - self.state.table.n]
        yield self.env.at(done, order)
        resumed = (done, (*order, 1))  # just after the Send's return: its status write is in the past
        if resumed > self._key:
            self._key = resumed
        if seq < self.state.table.n:  # created already: apply the write now if it waits in the agenda
            self.flush(resumed)
        return ReadBack(self, seq)

    def create_batch(self, specs: list[dict], deadline: float, identity: int | None = None, replica: int | None = None) -> list:
        """:meth:`EventEngine.create_batch`, the rows deferred when they qualify (a revocation's fan-out): a workload's
        own creator, rows without a notifier (written ``sent`` at once) then at most one it sends, as a caller of
        :meth:`create_and_send` would."""
        if identity is None and replica is None and specs and all(map(usual, specs)):
            columns = spec_columns(specs)
            has_notifier = self.state.service.has_notifier
            written = next((i for i, channel in enumerate(columns[1]) if has_notifier(channel)), len(specs))
            if len(specs) - written <= 1:
                first = self.deferred.admit([self.env.now + deadline] * len(specs), columns, written=written)
                if first is not None:
                    return [ReadBack(self, seq) for seq in range(first, first + len(specs))]
        return super().create_batch(specs, deadline, identity, replica)

    def has_alert(self, certificate_id: str, threshold: int, channel: str) -> bool:
        if self.deferred.has_alert(certificate_id, threshold, channel):
            self.settle()
        return super().has_alert(certificate_id, threshold, channel)

    def unsuppressed_alerts_since(self, cursor: int) -> tuple[list[str], int]:
        if self.deferred and self.state.logs_alerts:  # any alert row may be logged (as built nothing is: every status suppresses)
            self.settle()
        return super().unsuppressed_alerts_since(cursor)

    def settle(self) -> None:
        """Create the deferred rows and apply their effects that come before the event being run."""
        if self.deferred:
            self.deferred.materialize(self._key)

    def sample_now(self) -> None:
        if not self.deferred.sample():
            super().sample_now()

    def created_rows(self) -> int:
        return self.state.table.n + self.deferred.rows

    def tick_to_come(self, now: float) -> bool:
        """Whether a scheduler tick of the instant ``now`` has still to run (also before the ticker has started)."""
        return self._coming <= now

    # -- ticks ----------------------------------------------------------------------------

    def start_loops(self) -> None:
        self.env.process(self._ticker())

    def _ticker(self) -> Generator[Any, Any, None]:
        """Every replica's ticks in one process, at the instants and in the order the reference engine runs them.

        A tick lists its rows inline and lays them out (or sends them one by
        one in a process of its own, which starts before anything else at that
        instant, as the reference engine's tick process does).  Then every
        coming tick that must list nothing is recorded at once and skipped
        (:meth:`_skip_empty`).
        """
        env, plan = self.env, self.state.plan
        intervals = {"process": self.policy.process_interval, "retry": self.policy.retry_interval}
        # one tick source per (replica, loop), in their order at one instant
        self._sources = sources = [(r, loop, plan.grid(r, intervals[loop])) for r in range(self.replicas) for loop in LOOPS]
        self._intervals = [grid.interval for _, _, grid in sources]
        orders = [tick_order(r, LOOPS.index(loop)) for r, loop, _ in sources]
        while True:
            t = self._coming = min(grid.next for _, _, grid in sources)  # the ticker's only yields are at this instant
            if t == math.inf:
                return
            due = [(r, loop, grid, order) for (r, loop, grid), order in zip(sources, orders) if grid.next == t]
            spawned = False
            for n, (r, loop, grid, order) in enumerate(due):
                if n == 0 or spawned:  # the first tick of the instant, or after a tick process that must start first
                    yield env.at(t, order)
                spawned = self._tick_now(loop, r)
                grid.advance()
            self._skip_empty()

    def _tick_now(self, loop: str, replica: int) -> bool:
        """Run a tick of ``replica``'s ``loop`` now; True when it sends one by one in a process of its own."""
        if self.running[(loop, replica)]:
            self.recorder.open_tick(loop, self.env.now, replica, skipped=True)
            return False
        now = self.env.now
        if self.deferred.visible(now, loop):
            self.settle()
        if self._lists_nothing_before(loop, math.inf) > now and self.state.db.available(now):  # it lists nothing
            self.recorder.close_tick(self.recorder.open_tick(loop, now, replica), 0, 0, now, False)
            return False
        self.running[(loop, replica)] = True
        index, ctx, seqs, rcs = self.listed_rows(loop, replica)
        if seqs is None:
            return False
        if not len(seqs):
            self.recorder.close_tick(index, 0, 0, self.env.now, False)
            self.running[(loop, replica)] = False
            return False
        if loop == "retry" and self.policy.retry_via_pending:
            self.move_to_pending(loop, index, ctx, listed_pairs(seqs, rcs))
            return False
        state = self.state
        ch = state.table.channel[seqs].astype(np.int64)
        collide = bool((state.planned[seqs] > 0).any())
        if not self.bulk or len(seqs) < self.SMALL_TICK or self.facts()["stateful"][ch].any() or collide:
            if collide:
                self._hand_over(seqs)
            self.env.process(self.tick_body(loop, index, ctx, listed_pairs(seqs, rcs), 0, 0, False))
            return True
        self._lay_out_tick(loop, index, ctx, seqs, rcs, ch)
        return False

    def _skip_empty(self) -> None:
        """Record, without running them, the coming ticks that cannot list a row.

        Until the next event in the queue, the next agenda item or arrival, or
        the horizon (whichever comes first), nothing changes the table: a
        process tick then lists nothing if no row is pending, a retry tick if
        no failed row is due by its start.  Ticks are skipped up to the first
        one that may list something, of any replica and loop (it may change
        what the others list).  Their List still fails during a database outage.
        """
        if any(self.running.values()):
            return
        coming = min(grid.next for _, _, grid in self._sources)
        if self.deferred.visible_after(coming):
            self.settle()
        bound = min(self.env.next_key()[0], self._agenda_next(), self.horizon_s)
        if bound <= coming:  # something happens before any coming tick
            return
        limits = {loop: self._lists_nothing_before(loop, bound) for loop in LOOPS}
        stop = min(grid.first_at_or_after(limits[loop]) for _, loop, grid in self._sources)
        if all(grid.next >= stop for _, _, grid in self._sources):  # nothing to skip (the common case in a busy run)
            return
        taken = [(r, LOOP_CODE[loop], grid.take_ranges_before(stop)) for r, loop, grid in self._sources]
        db = self.state.db
        error = f"failed to list notifications: {db.error}"
        if sum(m - k for _, _, ranges in taken for _, k, m in ranges) <= self.SMALL_SKIP:  # a few: sorted without numpy
            ticks = sorted(
                (begin + j * interval, r, code) for (r, code, ranges), interval in zip(taken, self._intervals) for begin, k, m in ranges for j in range(k, m)
            )
            times, rs, codes = (list(column) for column in zip(*ticks))
            self.recorder.empty_ticks(codes, rs, times, [not db.available(t) for t in times] if db.outages else (), error)
            return
        parts = [(r, code, begin + np.arange(k, m) * interval) for (r, code, ranges), interval in zip(taken, self._intervals) for begin, k, m in ranges]
        at = np.concatenate([times for _, _, times in parts])
        replicas = np.concatenate([np.full(len(times), r) for r, _, times in parts])
        loops = np.concatenate([np.full(len(times), code) for _, code, times in parts])
        order = np.lexsort((loops, replicas, at))
        at, replicas, loops = at[order], replicas[order], loops[order]
        self.recorder.empty_ticks(loops, replicas, at, ~db.available_many(at), error)

    def _lists_nothing_before(self, loop: str, bound: float) -> float:
        """The instant (s) before which, the table as it is now up to ``bound``, a tick of ``loop`` lists nothing (the
        database up): none while a row is pending for the process loop; until the first failed row is due for the
        retry loop."""
        table = self.state.table
        if loop == "process":
            return self.env.now if table.has_pending() else bound
        return min(bound, table.first_retry_due())

    def _agenda_next(self) -> float:
        """The instant of the next agenda item or arrival (``inf`` when none)."""
        t = min((float(block["t"][0]) for block in self.blocks), default=math.inf)
        a = self._plan_arrivals
        if a is not None:
            if a["next"] < len(a["time"]):
                t = min(t, float(a["time"][a["next"]]))
            if a["later_taken"] < len(a["later"]["t"]):
                t = min(t, float(a["later"]["t"][a["later_taken"]]))
        return t

    def _lay_out_tick(self, loop: str, index: int, ctx: Context, seqs: np.ndarray, rc: np.ndarray, ch: np.ndarray) -> None:
        """Lay a tick's rows out: its first step now, the rest to the agenda."""
        state = self.state
        facts = self.facts()
        k = len(seqs)
        now = float(self.env.now)
        attempt = state.sends[seqs]
        key = mix64_many(state.keys[seqs] + attempt.astype(np.uint64))
        chain_no = np.zeros(k, np.int64)
        dl = np.full(k, float(ctx.deadline))
        cancel = np.full(k, float(ctx.cancel))
        tl = timelines(state, ch, state.table.recipient[seqs], key, attempt, chain_no, np.full(k, now), dl, facts, cancel)
        items, later = lay_out(tl, seqs, rc, _PROCESS if loop == "process" else _RETRY, dl, chain_no, cancel, np.full(k, ctx.replica, np.int16))
        state.sends[seqs[tl.kind == SEND]] += 1
        self._plan(items, later)
        rid = self._record(loop, index, seqs, ctx, items, later)
        chain = self.chains[rid]
        if not later.all():
            self._apply(subset(items, ~later), later=False)
        if later.any():  # the chain's own items are the block (columns are not written once shared)
            self.blocks.append(key_sorted(dict(chain.items)))
        if chain.total == 0:
            self._finish(rid, now)

    def _plan(self, items: dict[str, np.ndarray], later: np.ndarray) -> None:
        """Count the laid-out Sends that begin after their chain's first step."""
        counted = items["planned"]
        if counted.any():
            np.add.at(self.state.planned, items["seq"][counted], 1)

    def _record(self, loop: str | None, index: int, seqs: np.ndarray, ctx: Context, items: dict[str, np.ndarray], later: np.ndarray) -> int:
        """A chain record for ``items`` (its number written into their ``chain``), keeping those flagged ``later``."""
        rid = self._next_chain
        self._next_chain += 1
        items["chain"][:] = rid
        self.chains[rid] = Chain(loop, index, seqs, ctx, subset(items, later))
        return rid

    # -- applying effects ---------------------------------------------------------------------

    def _apply(self, items: dict[str, np.ndarray], *, later: bool) -> None:
        """Apply effects given in key order: rows in rounds, so a row's effects keep their order."""
        seq = items["seq"]
        if not len(seq):
            return
        by_row = np.sort(seq)
        if not (by_row[1:] == by_row[:-1]).any():  # distinct rows (the usual case): one round
            self._apply_round(items, later)
            return
        order = np.argsort(seq, kind="stable")
        sorted_seq = seq[order]
        new = np.ones(len(seq), bool)
        new[1:] = sorted_seq[1:] != sorted_seq[:-1]
        starts = np.maximum.accumulate(np.where(new, np.arange(len(seq)), 0))
        rnd = np.empty(len(seq), np.int64)
        rnd[order] = np.arange(len(seq)) - starts
        for r in range(int(rnd.max()) + 1):
            self._apply_round(items if rnd.max() == 0 else subset(items, rnd == r), later)

    def _apply_round(self, it: dict[str, np.ndarray], later: bool) -> None:
        """Effects of distinct rows."""
        state = self.state
        kind, seq, t = it["kind"], it["seq"], it["t"]
        refused = t >= np.minimum(it["deadline"], it["cancel"])
        any_refused = bool(refused.any())
        send = kind == SEND
        every_send = bool(send.all())
        recorded = send if every_send else send | (kind == INSTANT)
        if every_send or recorded.any():
            r = slice(None) if every_send or recorded.all() else recorded  # every item a Send: the columns as they are
            state.recorder.attempts_many(
                seq[r],
                it["start"][r],
                it["loop"][r],
                it["rc"][r],
                it["error"][r],
                it["latency"][r],
                it["delivered"][r],
                t[r],
                it["retry_after"][r],
                it["replica"][r],
            )
        if later:
            if it["unplan_self"].any():
                np.subtract.at(state.planned, seq[it["unplan_self"]], 1)
            nxt = it["unplan_next"]
            if (nxt >= 0).any():
                np.subtract.at(state.planned, nxt[nxt >= 0], 1)
        if not every_send:
            nn = (kind == NO_NOTIFIER) & ~refused
            if nn.any():
                self._write_no_notifier_many(seq[nn], t[nn])
        live = send & ~refused if any_refused else send
        every = every_send and not any_refused
        if every or live.any():
            s = seq if every else seq[live]
            ok = state.write_ok_many(s, t if every else t[live])
            if ok.any():
                pick: np.ndarray | slice
                if every and ok.all():
                    pick = slice(None)
                else:
                    s = s[ok]
                    pick = np.flatnonzero(live)[ok]
                error = it["error"][pick]
                u = None
                if state.jitter_salt is not None:
                    u = np.where(error >= 0, uniforms(state.jitter_salt, it["key"][pick]), np.nan)
                state.service.finish_many(s, it["loop"][pick] == _RETRY, it["rc"][pick], error, t[pick], it["retry_after"][pick], u)
        chains = it["chain"]
        own = chains >= 0
        if own.any():
            ids = chains[own]
            one = bool((ids == ids[0]).all())  # often the items of one chain only
            for rid in [int(ids[0])] if one else np.unique(ids).tolist():
                chain = self.chains.get(rid)
                if chain is None:
                    continue
                mine = own if one else chains == rid
                chain.sends += int(recorded[mine].sum())
                chain.hit = chain.hit or (any_refused and bool(refused[mine].any()))
                if later:
                    chain.applied += int(mine.sum())
                    if chain.applied >= chain.total:  # the chain ends with its last item (rounds may apply it early)
                        self._finish(rid, float(chain.items["t"].max()))

    def _write_no_notifier_many(self, seqs: np.ndarray, t: np.ndarray) -> None:
        """T3/T6 for distinct rows without a notifier, at ``t`` (on live contexts)."""
        ok = self.state.write_ok_many(seqs, t)
        if ok.any():
            self.state.service.finish_no_notifier_many(seqs[ok], t[ok])

    def _finish(self, rid: int, end: float) -> None:
        chain = self.chains.pop(rid)
        if chain.loop is not None:
            self.recorder.close_tick(chain.index, chain.rows, chain.sends, end, chain.hit)
            self.running[(chain.loop, chain.ctx.replica)] = False

    def _context_of(self, items: dict[str, np.ndarray]) -> Context:
        """The context of a chain, from its first item."""
        cancel = float(items["cancel"][0])
        return Context(float(items["deadline"][0]), cancel, cancel + self.state.plan.drain, int(items["replica"][0]))

    # -- handing chains over to the per-event path ------------------------------------------------

    def _hand_over(self, listed: np.ndarray) -> None:
        """Chains with planned Sends of ``listed`` rows continue on the per-event path."""
        wanted = [rid for rid, chain in self.chains.items() if np.isin(listed, chain.items["seq"][chain.applied + 1 :]).any()]
        for rid in wanted:
            self._hand_over_chain(rid)

    def _hand_over_chain(self, rid: int) -> None:
        state, env = self.state, self.env
        chain = self.chains.pop(rid)
        if chain.loop is not None:  # a tick: counted as running until its per-event body takes over (or the run ends)
            self.open_ticks[(chain.loop, chain.ctx.replica)] = (chain.index, chain.rows, chain.sends, chain.hit)
        kept = []
        for block in self.blocks:
            mine = block["chain"] == rid
            if mine.all():
                continue
            kept.append(subset(block, ~mine) if mine.any() else block)
        self.blocks = kept
        self._gone.add(rid)  # its items not yet taken from the arrivals' block are dropped when taken
        rest = subset(chain.items, slice(chain.applied, None))
        # the first remaining item is the Send in flight (begun, not returned); the others have not begun
        unstarted = subset(rest, slice(1, None))
        # the per-event path counts every row it will deliver as planned until it does (the layout counted only
        # the Sends): the unstarted rows stay counted, without a gap, while the Send in flight finishes
        counted = (unstarted["kind"] == SEND) | (unstarted["kind"] == INSTANT)
        if (~counted).any():
            np.add.at(state.planned, unstarted["seq"][~counted], 1)
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
            int(rest["replica"][0]),
        )
        rows = list(zip(unstarted["seq"].tolist(), unstarted["rc"].tolist()))
        env.process(self._resume(chain, inflight, rows))

    def _resume(self, chain: Chain, inflight: Send, rows: list[tuple[int, int]]) -> Generator[Any, Any, None]:
        """A handed-over chain: finish its Send in flight with that Send's own key, then send the rest one by one."""
        env, state = self.env, self.state
        done = inflight.start + inflight.latency
        yield env.at(done, completion_order(inflight.start, inflight.seq, inflight.attempt))
        state.complete(inflight, env.now)
        refused = state.write(inflight, chain.ctx, env.now)
        sends, hit = chain.sends + 1, chain.hit or refused
        if chain.loop is not None:
            listed = [(int(s), 0) for s in chain.seqs.tolist()]
            position = chain.rows - len(rows)
            yield from self.tick_body(chain.loop, chain.index, chain.ctx, listed[:position] + rows, position, sends, hit, planned=True)
        else:
            for seq, _ in rows:
                yield from self.deliver(seq, _CREATE, 0, chain.ctx)
