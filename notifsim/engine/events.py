"""The reference engine: every Send, tick and arrival is a SimPy event.

When things happen (``docs/certctl.md`` gives the certctl files behind each rule):

* Both loops run once at the start and then every ``process_interval`` /
  ``retry_interval`` seconds on a fixed grid.  A tick that arrives while the
  previous run of the same loop is still going is **skipped** (recorded with
  ``skipped=True``), never queued.
* A tick lists its rows once, at its start, then sends them one after the
  other, each Send taking its latency.  Each tick has a deadline
  (``process_deadline`` / ``retry_deadline`` after its start).  From the
  deadline on, an HTTP Send fails at once with ``context deadline exceeded``
  and delivers nothing; a Send still in flight is cut at the deadline; and
  every row write fails, so the row stays as it was.  Email ignores the
  deadline (it is delivered late) but its row write still fails.
* Creators insert a ``pending`` row and send it at once in their own process
  with their own deadline, so a process tick that lists the row while that
  Send is in flight sends it a second time: the double-send race.
* Simultaneous events run in the order :mod:`.clock` states: Sends returning
  first, then arrivals, operators' actions, ticks and the rest.
* After a failed Send the service decides the row's fate from the error
  text, the ``Retry-After`` the channel returned and one uniform keyed like
  the Send (:mod:`.state`).
* Workloads and operators touch the run only through
  :class:`~notifsim.hooks.WorkloadHooks` and :class:`~notifsim.hooks.OperatorHooks`
  (:mod:`.hooks`).
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Generator
from typing import Any

import numpy as np

from ..hooks import Run
from ..machine import NotFound, RequeueRefused
from ..policy import Policy
from ..record import LOOP_CODE
from ..scenario import Scenario
from ..workloads.arrivals import ArrivalRun
from .clock import Clock, arrival_order, completion_order, tick_order
from .hooks import OperatorHooksImpl, WorkloadHooksImpl
from .state import Columns, Context, RunState, Send, column_specs

_CREATE, _PROCESS, _RETRY = LOOP_CODE["create"], LOOP_CODE["process"], LOOP_CODE["retry"]


def listed_pairs(seqs: np.ndarray, retry_counts: np.ndarray) -> list[tuple[int, int]]:
    """A tick's listed rows as ``(seq, retry_count)`` pairs, the form the one-row-at-a-time path walks."""
    return list(zip(seqs.tolist(), retry_counts.tolist()))


#: What a workload hears when a ``create_and_send_each`` callback creates a row while its group is being created.
NESTED_CREATE = (
    "create_and_send_each: a callback called at once (its Send took no time) created a notification itself; "
    "an engine may create the group's rows together, so create it from an event instead (hooks.soon(...))"
)
#: Rows from which :meth:`EventEngine.release` collects cycles at once (below, a collection costs more than it frees).
_LARGE_RUN_ROWS = 50_000
#: The scheduler loops, in their order at one instant.
LOOPS = ("process", "retry")


class EventEngine:
    """One run: a scenario under a policy, for ``horizon_s`` seconds, on one seed; one SimPy event per happening."""

    def __init__(self, scenario: Scenario, policy: Policy, *, seed: int, horizon_s: float, initial_rows: list[dict], sample_interval: float):
        self.scenario = scenario
        self.policy = policy
        self.horizon_s = horizon_s
        self.sample_interval = sample_interval
        self.state = RunState(scenario, policy, seed=seed, horizon_s=horizon_s)
        self.env = Clock()
        self.replicas = scenario.deployment.replicas
        self.running = {(loop, r): False for r in range(self.replicas) for loop in LOOPS}  # each replica's "running" guards
        self.open_ticks: dict[tuple[str, int], tuple[int, int, int, bool]] = {}  # (loop, replica) -> (tick index, rows, sends, deadline hit)
        self.runs: list[Run] = []  # the bound workload and operator
        self._released_counters: dict[str, int] | None = None
        for row in initial_rows:
            self.state.add_initial(row)

    @property
    def table(self):  # the run's notification table
        return self.state.table

    @property
    def recorder(self):  # the run's recorder
        return self.state.recorder

    # -- running ----------------------------------------------------------------------

    def run(self) -> None:
        env = self.env
        self.start_loops()
        if self.scenario.workload is not None:
            workload = self.scenario.workload.bind(WorkloadHooksImpl(self))
            self.runs.append(workload)
            self.start_workload(workload)
        if self.scenario.operator is not None:
            operator = self.scenario.operator.bind(OperatorHooksImpl(self))
            self.runs.append(operator)
            env.process(operator.process())
        env.process(self._sampler())
        self.advance()
        # ticks still running at the horizon keep duration NULL and their counts so far
        for index, rows, sends, hit in self.open_ticks.values():
            self.recorder.update_tick(index, rows, sends, hit)

    def start_loops(self) -> None:
        """Each replica's two scheduler loops, each in its own process."""
        for r in range(self.replicas):
            self.env.process(self._loop("process", r, self.policy.process_interval))
            self.env.process(self._loop("retry", r, self.policy.retry_interval))

    def start_workload(self, workload: Run) -> None:
        """Drive an arrival workload's arrivals in arrival order; any other workload runs its own process."""
        if isinstance(workload, ArrivalRun):
            self.env.process(self._arrivals(workload))
        else:
            self.env.process(workload.process())

    def advance(self) -> None:
        """Run every event before the horizon."""
        self.env.run(until=self.horizon_s)

    def release(self) -> None:
        """Let go of what only the running simulation needed (the event queue, the workload's and operator's
        state, per-row keys), keeping the table, the recorder and the counters: call it before the
        result's tables are built, so a large run does not hold both at once."""
        self._released_counters = self.counters()
        # a workload run as processes (a fleet) leaves reference cycles: in a large run, free them now
        cycles = self.state.table.n >= _LARGE_RUN_ROWS and any(not isinstance(run, ArrivalRun) for run in self.runs)
        self.env = Clock()
        self.runs = []
        self.state.release()
        if cycles:
            gc.collect()

    def settle(self) -> None:
        """Make the table and the records complete up to this moment, before anything reads or adds rows (the
        reference engine keeps them complete at every step; the batched engine may defer rows, :mod:`.deferred`)."""

    def counters(self) -> dict[str, int]:
        """The service's retry decisions and what the bound workload and operator counted."""
        if self._released_counters is not None:  # after release(): what they were when it let go
            return dict(self._released_counters)
        total: Counter[str] = Counter(self.state.counters())
        for run in self.runs:
            total.update(run.counters())
        return dict(sorted(total.items()))

    # -- scheduler loops ----------------------------------------------------------------

    def _loop(self, loop: str, replica: int, interval: float) -> Generator[Any, Any, None]:
        """Ticks at each start or reboot of the replica and every interval after it (exactly ``begin + k * interval``);
        skipped while the previous run is still going."""
        env = self.env
        order = tick_order(replica, LOOPS.index(loop))
        for at in self.state.plan.ticks(replica, interval):
            yield env.at(at, order)
            if self.running[(loop, replica)]:
                self.recorder.open_tick(loop, env.now, replica, skipped=True)
            else:
                self.running[(loop, replica)] = True
                env.process(self._tick(loop, replica))

    def listing(self, loop: str, replica: int) -> tuple[int, Context, list[tuple[int, int]] | None]:
        """A tick starts now: its index, context and listed rows ``(seq, retry_count)`` (None: the List failed);
        :meth:`listed_rows` with the rows as a list."""
        index, ctx, seqs, rcs = self.listed_rows(loop, replica)
        return index, ctx, None if seqs is None else listed_pairs(seqs, rcs)

    def listed_rows(self, loop: str, replica: int) -> tuple[int, Context, np.ndarray | None, np.ndarray]:
        """A tick starts now: its index, context, the row numbers it lists (None: the List failed) and their
        retry counts as listed.

        ``process`` is ``ProcessPendingNotifications`` (up to ``pending_batch``
        pending rows, ``sent_at DESC NULLS LAST``); ``retry`` is
        ``RetryFailedNotifications`` (armed failed rows due at the tick's
        start, oldest first, up to ``sweep_limit``).  The retry count used for
        backoff and exhaustion is the one listed at the start.
        """
        state, policy, table = self.state, self.policy, self.state.table
        start = self.env.now
        index = self.recorder.open_tick(loop, start, replica)
        if not state.db.available(start):  # List fails: the service returns its error with zero sends
            self.recorder.close_tick(index, 0, 0, start, False, error=f"failed to list notifications: {state.db.error}")
            self.running[(loop, replica)] = False
            return index, state.context(replica, start, start), None, np.empty(0, np.int64)
        if loop == "process":
            ctx = state.context(replica, start, start + policy.process_deadline)
            seqs = table.pending_seqs(policy.pending_batch)
        else:
            ctx = state.context(replica, start, start + policy.retry_deadline)
            seqs = table.retry_eligible_seqs(start, policy.max_attempts, policy.sweep_limit)
        return index, ctx, seqs, table.retry_count[seqs]

    def _tick(self, loop: str, replica: int) -> Generator[Any, Any, None]:
        """One run of a loop: list rows once at the start, then send them one by one (or move them to pending)."""
        index, ctx, listed = self.listing(loop, replica)
        if listed is None:
            return
        if loop == "retry" and self.policy.retry_via_pending:
            self.move_to_pending(loop, index, ctx, listed)
            return
        yield from self.tick_body(loop, index, ctx, listed, 0, 0, False)

    def move_to_pending(self, loop: str, index: int, ctx: Context, listed: list[tuple[int, int]]) -> None:
        """The sweep as certctl's scheduler comment describes it: every listed row back to ``pending`` (one write
        each, on the tick's context), for the process loop to send; no Send here."""
        state, now = self.state, self.env.now
        hit = False
        for seq, _ in listed:
            if now >= ctx.end:
                hit = True
            elif state.write_ok(seq, now):
                state.service.move_to_pending(seq)
        self.recorder.close_tick(index, len(listed), 0, now, hit)
        self.running[(loop, ctx.replica)] = False

    def tick_body(
        self, loop: str, index: int, ctx: Context, listed: list[tuple[int, int]], position: int, sends: int, hit: bool, planned: bool = False
    ) -> Generator[Any, Any, None]:
        """Send the listed rows from ``position`` on, then close the tick (``planned``: they are counted already)."""
        code = _PROCESS if loop == "process" else _RETRY
        key = (loop, ctx.replica)
        self.open_ticks[key] = (index, len(listed), sends, hit)
        if not planned:
            self.plan([seq for seq, _ in listed[position:]])
        for seq, rc in listed[position:]:
            sent, refused = yield from self.deliver(seq, code, rc, ctx)
            sends += sent
            hit = hit or refused
            self.open_ticks[key] = (index, len(listed), sends, hit)
        del self.open_ticks[key]
        self.recorder.close_tick(index, len(listed), sends, self.env.now, hit)
        self.running[key] = False

    # -- one row ---------------------------------------------------------------------------

    def deliver(self, seq: int, loop: int, rc_before: int, ctx: Context) -> Generator[Any, Any, tuple[bool, bool]]:
        """One row through ``sendNotification`` (creators, the process loop) or the retry sweep's body.

        Without a notifier for the channel the row is marked ``sent`` (T3/T6);
        otherwise the notifier's Send runs and the service writes its outcome.
        The write happens on the caller's context ``ctx``: once it has ended
        the write fails, as does a write the database refuses, and the row
        stays as it was.  Once the replica's process has exited nothing
        happens.  Returns ``(sent, refused)``: whether a Send was made, and
        whether the ended context refused the write.
        """
        env, state = self.env, self.state
        state.planned[seq] -= 1
        if not state.has_notifier(seq):
            return False, state.write_no_notifier(seq, ctx, env.now)
        send = state.begin(seq, loop, rc_before, ctx, env.now)
        if send is None:
            return False, True
        if send.latency > 0:
            yield env.after(send.latency, completion_order(send.start, seq, send.attempt))
        state.complete(send, env.now)
        return True, state.write(send, ctx, env.now)

    def begin_created(self, seq: int, ctx: Context) -> Send | None:
        """A creator's Send of the row ``seq`` it just created begins now (:meth:`deliver` for a caller without a
        process): the Send when it takes time — :meth:`finish_created` it when it returns — else None, the row's
        Send (or its no-notifier write) being over already."""
        state, now = self.state, self.env.now
        if not state.has_notifier(seq):
            state.write_no_notifier(seq, ctx, now)
            return None
        send = state.begin(seq, _CREATE, 0, ctx, now)
        if send is None or send.latency > 0:
            return send
        self.finish_created(send, ctx)
        return None

    def finish_created(self, send: Send, ctx: Context) -> None:
        """A creator's Send has returned now: its record and status write."""
        self.state.complete(send, self.env.now)
        self.state.write(send, ctx, self.env.now)

    def deliver_then(self, seq: int, ctx: Context, then: Callable[[], Any]) -> None:
        """:meth:`begin_created`, then ``then()`` when the Send is over (at once when it takes no time), at the
        instant and in the order the creator's process would resume."""
        send = self.begin_created(seq, ctx)
        if send is None:
            then()
            return

        def returned(_event: Any) -> None:
            self.finish_created(send, ctx)
            then()

        self.env.after(send.latency, completion_order(send.start, seq, send.attempt)).callbacks.append(returned)

    def plan(self, seqs: list[int]) -> None:
        """Rows a caller will send one after the other (each is counted until :meth:`deliver` begins it)."""
        planned = self.state.planned
        if len(seqs) > 32:
            np.add.at(planned, np.array(seqs, np.int64), 1)
        else:  # a few rows: one by one is cheaper than np.add.at
            for seq in seqs:
                planned[seq] += 1

    # -- creators -----------------------------------------------------------------------------

    def _arrivals(self, run: ArrivalRun) -> Generator[Any, Any, None]:
        """An arrival workload's arrivals, each at its instant in arrival order, on the replica :meth:`DeploymentPlan.creators` picks."""
        env = self.env
        replicas = self.state.plan.creators(run.times).tolist()
        for i, at in enumerate(run.times.tolist()):
            yield env.at(at, arrival_order(i))
            self.create_batch(run.specs(i), float(run.deadlines[i]), identity=i, replica=replicas[i])

    def create_batch(self, specs: list[dict], deadline: float, identity: int | None = None, replica: int | None = None) -> list:
        """Several ``Create`` calls, then their sends one after another in one creator process on ``replica``.

        This is how a revocation fans out: the Webhook row and the Email row
        are inserted first, then sent in that order.  ``deadline`` is the
        creator's context in seconds.  Rows before the first one with a
        notifier are marked ``sent`` at once.  Replica ``-1`` means no
        replica is up: nothing is created; ``None`` is a workload's own
        process (replica 0, never restarted).
        """
        self.settle()
        state = self.state
        now = self.env.now
        if (replica is not None and replica < 0) or not state.db.available(now):  # the first Create fails: nothing is sent
            state.recorder.lost_creations += len(specs)
            return []
        ctx = Context(now + deadline) if replica is None else state.context(replica, now, now + deadline)
        seqs = [state.create(now, spec, identity) for spec in specs]
        pending: list[int] = []
        for seq in seqs:
            if pending or state.has_notifier(seq):
                pending.append(seq)
            else:  # nothing to wait for: the no-notifier write happens at once
                state.write_no_notifier(seq, ctx, now)
        if pending:
            self.env.process(self._creator(pending, ctx))
        return [state.table.row(seq) for seq in seqs]

    def _creator(self, seqs: list[int], ctx: Context) -> Generator[Any, Any, None]:
        """The creator's synchronous ``sendNotification`` for each row it just created, in order."""
        self.plan(seqs)
        for seq in seqs:
            yield from self.deliver(seq, _CREATE, 0, ctx)

    def create_and_send(self, deadline: float, spec: dict) -> Generator[Any, Any, Any]:
        """``Create`` then ``sendNotification`` of one row, inside the *calling* process (a workload's, on replica 0,
        never restarted).

        When the context has expired (``now >= deadline``) ``Create`` fails:
        no row, returns ``None``.
        """
        seq = self._create_one(deadline, spec)
        if seq is None:
            return None
        self.state.planned[seq] += 1  # deliver() counts it down as it begins
        yield from self.deliver(seq, _CREATE, 0, Context(deadline))
        return self.state.table.row(seq)

    def create_and_send_then(self, deadline: float, spec: dict, then: Callable[[int | None], Any]) -> None:
        """:meth:`create_and_send` for a caller that waits through callbacks: ``then(seq)`` when the Send is over
        (``then(None)`` at once when ``Create`` failed), at the instant and in the order a process would resume."""
        seq = self._create_one(deadline, spec)
        if seq is None:
            then(None)
            return
        self.deliver_then(seq, Context(deadline), lambda: then(seq))

    def create_and_send_each(self, deadlines: list[float], specs: list[dict], thens: list[Callable[[int | None], Any]]) -> None:
        """Several callers, one after another at this instant, each :meth:`create_and_send_then` of one row with
        its own deadline and callback (a fleet's jobs started together)."""
        for deadline, spec, then in zip(deadlines, specs, thens):
            rows = self.created_rows()
            self.create_and_send_then(deadline, spec, then)
            if self.created_rows() > rows + 1:  # the callback, called at once, created a row itself
                raise RuntimeError(NESTED_CREATE)

    def has_alert(self, certificate_id: str, threshold: int, channel: str) -> bool:
        """The renewal check's dedup lookup now, under the run's policy (``HasThresholdNotificationOnChannel``)."""
        state = self.state
        return state.table.has_threshold_notification_on_channel(certificate_id, threshold, channel, state.policy.dedup_statuses)

    def unsuppressed_alerts_since(self, cursor: int) -> tuple[list[str], int]:
        """The certificate ids of the alert rows that stopped suppressing from log position ``cursor`` on (in row order:
        an engine may log the rows it defers later, but never after a read), and the log's end."""
        table = self.state.table
        seqs, end = table.alert_log_since(cursor)
        ids = table.certificate_ids
        return [ids[seq] or "" for seq in sorted(seqs)], end

    def create_and_send_columns(self, deadlines: list[float], columns: Columns, thens: list[Callable[[int | None], Any]]) -> None:
        """:meth:`create_and_send_each` of usual rows given as columns."""
        self.create_and_send_each(deadlines, column_specs(columns), thens)

    def created_rows(self) -> int:
        """Rows created so far (the batched engine counts those it defers too)."""
        return self.state.table.n

    def _create_one(self, deadline: float, spec: dict) -> int | None:
        """A workload's ``Create`` of one row now on a context ending at ``deadline``; None when it fails."""
        self.settle()
        state = self.state
        now = self.env.now
        if now >= deadline:
            return None
        if not state.db.available(now):
            state.recorder.lost_creations += 1
            return None
        return state.create(now, spec)

    # -- operators ----------------------------------------------------------------------------------

    def list_notifications(self, status: str, limit: int | None = None, offset: int = 0) -> list | None:
        """certctl's ``GET /notifications?status=...`` now (``None`` when the database is down)."""
        self.settle()
        if not self.state.db.available(self.env.now):
            return None
        return self.state.table.list_by_status(status, limit, offset)

    def act(self, action: str, nid: str) -> str:
        """An operator's requeue or mark-read of ``nid`` now; returns the recorded outcome
        (``requeued``, ``read``, ``refused``, ``error`` or ``not_found``)."""
        self.settle()
        state = self.state
        now = self.env.now
        try:
            seq = state.table.seq_of(nid)
        except NotFound:
            state.recorder.action(nid, now, action, None, None, "not_found", None)
            return "not_found"
        from_status, rc_before = state.table.value(seq, "status"), int(state.table.retry_count[seq])
        if not state.write_ok(seq, now):  # certctl answers 500 and the row is unchanged
            state.recorder.action(nid, now, action, from_status, rc_before, "error", seq)
            return "error"
        try:
            if action == "requeue":
                state.service.requeue_notification(seq)
                outcome = "requeued"
            else:
                state.service.mark_as_read(seq, now)
                outcome = "read"
        except RequeueRefused:
            outcome = "refused"
        state.recorder.action(nid, now, action, from_status, rc_before, outcome, seq)
        return outcome

    def sample_now(self) -> None:
        """The sampler's status counts now."""
        self.settle()
        self.recorder.sample(self.env.now, self.table.counts())

    def recent_sends(self, channel: str, k: int) -> list[bool]:
        """The outcomes of the last ``k`` Sends on ``channel`` (True: no error), oldest first."""
        self.settle()
        return self.state.recent_sends(channel, k)

    # -- sampler ------------------------------------------------------------------------------------

    def _sampler(self) -> Generator[Any, Any, None]:
        env = self.env
        while True:
            self.sample_now()
            yield env.timeout(self.sample_interval)
