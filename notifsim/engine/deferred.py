"""The batched engine's deferred rows: rows that callers create and send, kept out of the table until something looks.

A fleet's job processor creates about a million notifications a year, each
by one job that sends it and waits for its Send (``create_and_send_each``);
its renewal check creates and sends its expiry alerts one by one inside its
process (``create_and_send``).
Nothing reads such a row between its ``Create`` and the next moment
something looks at the table: a tick that could list it, another row's
creation (row numbers follow creation order), an operator, the status
sampler (which counts them in afterwards), the end of the run.  So when a group of callers' rows qualifies
(:meth:`Deferred.offer`), the batched engine only keeps their fields and
tells each caller when its Send returns — which it can know without a draw,
because every row goes to a channel whose Sends all take one fixed time and
cannot be cut short.  At the next look (:meth:`Deferred.materialize`) the
rows deferred since the last one are created, drawn and laid out as one set
of arrays: the effects whose key comes before the moment of the look are
applied, the rest wait in the agenda like any laid-out Send.

The rows get the row numbers, ids, keys, draws, records and status writes
the reference engine gives them (the creation instants are theirs, the
numbers are reserved in order, and any other creation materializes them
first).  Their Sends' returns call the callers back in the event the
reference engine uses, keyed by the first of the rows returning then.

A row is visible to a process tick while its Send is in flight (it is
``pending``) and, under a policy that arms a first failure for retry, to a
retry tick once its Send failed — so under such a policy each row's outcome
is drawn when it is deferred, to know which fail; ticks that could see a
deferred row materialize first (:meth:`Deferred.visible`).
An expiry alert is read back by the renewal check that created it, through
its dedup lookup and the log of alerts that stopped suppressing: a lookup
whose key a deferred alert carries (:meth:`Deferred.has_alert`) and a read
of the log while rows are deferred (when the policy logs at all) materialize
first, and the process that created it resumes
with its Send's status write applied, in the event the reference engine
resumes it in.  A workload's creator of several rows
(:meth:`~.batched.BatchedEngine.create_batch`, a revocation's fan-out) is
deferred too when its rows without a notifier come first (written ``sent``
at their creation, when they are created) and it sends at most one; a
sample taken at that instant keeps it out.  Groups that do not qualify — a stateful or random-latency
channel, a Send a client timeout or the caller's deadline cuts, a database
that can fail, a tick still to come at this instant, a retry quota — take
the per-event path, or for callers without a process the per-group paths
of :mod:`.created`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from itertools import islice
from typing import TYPE_CHECKING, Any

import numpy as np

from ..certctl import CLIENT_TIMEOUT_S, STATUSES
from ..machine.alerts import dedup_keys
from ..machine.table import FAILED, PENDING
from ..record import LOOP_CODE
from ..streams import mix64, mix64_many
from .agenda import key_sorted, prefix, sends_alone, subset
from .clock import Clock, completion_order
from .state import ALERT, Columns, Context
from .timeline import fixed_sends

if TYPE_CHECKING:
    from .batched import BatchedEngine

_CREATE = LOOP_CODE["create"]


class Deferred:
    """Rows created by callers and not yet in the table, in creation order."""

    __slots__ = ("_latency", "alerts", "columns", "deadlines", "engine", "failing_from", "instants", "returns", "rows", "samples", "until", "written")

    def __init__(self, engine: BatchedEngine):
        self.engine = engine
        self._latency: dict[str, float | None] = {}  # per channel: the fixed time of its Sends, None: not deferrable
        self._clear()

    def _clear(self) -> None:
        """No row deferred."""
        self.columns: tuple[list, ...] = ([], [], [], [], [], [])  # per row, as :data:`~.state.Columns`
        self.instants: list[float] = []  # per row: its Create's instant (s)
        self.deadlines: list[float] = []  # per row: its caller's context deadline (s)
        self.returns: list[float] = []  # per row: the instant its Send returns (s)
        self.rows = 0
        self.until = -math.inf  # a tick at or before this instant might list a deferred row (its Send in flight)
        self.failing_from = math.inf  # from this instant a retry tick might list a deferred row (a failure a policy arms)
        self.samples: list[tuple[int, float, int]] = []  # status samples taken meanwhile: (index, instant, rows deferred then)
        self.alerts: set[tuple[str, str, str]] = set()  # the deferred expiry alerts' dedup keys: (certificate, threshold digits, channel)
        self.written: list[int] = []  # the positions of rows without a notifier, written ``sent`` at their creation

    def __bool__(self) -> bool:
        return self.rows > 0

    def visible(self, t: float, loop: str) -> bool:
        """Whether a tick of ``loop`` at ``t`` might list a deferred row: one whose Send is in flight (``pending``),
        or for the retry loop one whose Send failed under a policy that arms a first failure."""
        return self.rows > 0 and (t <= self.until or (loop == "retry" and t >= self.failing_from))

    def visible_after(self, t: float) -> bool:
        """Whether a tick of either loop at ``t`` or later might list a deferred row."""
        return self.rows > 0 and (t <= self.until or self.failing_from < math.inf)

    def sample(self) -> bool:
        """The status sampler's counts now, the deferred rows to be counted in when they are created; False (nothing
        recorded) when no row is deferred."""
        if not self.rows:
            return False
        engine = self.engine
        index = engine.recorder.sample(engine.env.now, engine.state.table.counts())
        self.samples.append((index, engine.env.now, self.rows))
        return True

    def _fixed_latency(self, channel: str) -> float | None:
        """The seconds every Send on ``channel`` takes, when its rows may be deferred (None: they may not)."""
        if channel not in self._latency:
            state = self.engine.state
            model = state.channels.get(channel)
            fixed = getattr(model, "fixed_latency", None)
            timeout = CLIENT_TIMEOUT_S.get(channel)
            ok = (
                model is not None
                and state.service.has_notifier(channel)
                and getattr(model, "timeless", False)
                and not getattr(model, "stateful", False)
                and fixed is not None
                and fixed > 0
                and (timeout is None or fixed <= timeout)  # no client timeout cuts it
            )
            self._latency[channel] = float(fixed) if ok and fixed is not None else None
        return self._latency[channel]

    def offer(self, deadlines: list[float], columns: Columns, thens: list[Callable[[int | None], Any]]) -> bool:
        """Defer the rows (``columns``) of callers creating and sending one row each now, and call each caller back
        when its Send returns; False (nothing done) when the group does not qualify."""
        first = self.admit(deadlines, columns)
        if first is None:
            return False
        engine = self.engine
        now = engine.env.now
        returns = self.returns[-len(deadlines) :]
        if len(set(returns)) == 1:  # the usual case: one channel
            by_return: Mapping[float, tuple[Sequence[Callable[[int | None], Any]], Sequence[int]]] = {returns[0]: (thens, range(first, first + len(thens)))}
        else:
            groups: dict[float, tuple[list, list[int]]] = {}
            for i, done in enumerate(returns):
                group = groups.setdefault(done, ([], []))
                group[0].append(thens[i])
                group[1].append(first + i)
            by_return = groups
        for done, (calls, seqs) in by_return.items():  # one event per instant, keyed by the first row returning then
            event = engine.env.at(done, completion_order(now, seqs[0], 0))
            event.callbacks.append(partial(_called_back, engine.env, calls, seqs, partial(_order, now, seqs)))
        return True

    def admit(self, deadlines: list[float], columns: Columns, alerts: bool = False, written: int = 0) -> int | None:
        """Defer the rows (usual rows as ``columns``) of callers creating and sending one row each now: the row
        number of the first, or None (nothing done) when they do not qualify.  ``alerts``: expiry alerts qualify
        too (their caller reads them back through :meth:`~.batched.BatchedEngine.has_alert`, which materializes a
        deferred one it asks about).  ``written``: the first rows go to channels without a notifier instead, each
        written ``sent`` at once by its creator (:meth:`~.batched.BatchedEngine.create_batch`)."""
        engine = self.engine
        state = engine.state
        now = engine.env.now
        if not engine.bulk or state.db.faulty or engine.tick_to_come(now):
            return None
        types, channels, recipients, certificate_ids, _, messages = columns
        if not alerts and ALERT in types:
            return None
        if written and self.samples and self.samples[-1][1] == now:  # it would count a row written now as written before its creation
            return None
        sent = channels[written:] if written else channels
        latency: dict[str, float] = {}
        for channel in set(sent):
            fixed = self._fixed_latency(channel)
            if fixed is None or not now + fixed > now:  # a Send that returns at this very instant is not deferred
                return None
            latency[channel] = fixed
        if len(latency) == 1:
            returns = [now + latency[sent[0]]] * len(sent)
        else:
            returns = [now + latency[channel] for channel in sent]
        if written:
            returns = [now] * written + returns  # the no-notifier write: at the creation
        if not all(map(operator.lt, returns, deadlines)):  # a status write would find the context ended: the row stays pending
            return None
        for column, values in zip(self.columns, columns):
            column.extend(values)
        if state.policy.arm_first_failure:  # a failed Send arms the row for the retry sweep: find those that fail
            sends = zip(zip(types, channels, recipients, certificate_ids, messages), deadlines, returns)
            for row, deadline, done in islice(sends, written, None):  # the rows without a notifier do not fail
                if done < self.failing_from and self._fails(now, row, deadline):
                    self.failing_from = done
        if written:
            self.written.extend(range(self.rows, self.rows + written))
        if alerts:
            for type, channel, certificate_id, message in zip(types, channels, certificate_ids, messages):
                if type == ALERT:
                    for certificate, digits in dedup_keys(certificate_id, message):
                        self.alerts.add((certificate, digits, channel))
        first = state.table.n + self.rows
        self.instants.extend([now] * len(channels))
        self.deadlines.extend(deadlines)
        self.returns.extend(returns)
        self.rows += len(channels)
        self.until = max(self.until, max(returns))
        return first

    def has_alert(self, certificate_id: str, threshold: int, channel: str) -> bool:
        """Whether a deferred expiry alert carries this dedup key (certificate, ``[threshold:N]`` tag, channel)."""
        return bool(self.alerts) and (certificate_id, str(threshold), channel) in self.alerts

    def _fails(self, now: float, row: tuple[str, str, str, str | None, str | None], deadline: float) -> bool:
        """Whether the creator's Send of the row (type, channel, recipient, certificate id, message as keyed), created
        now, returns an error."""
        state = self.engine.state
        channel, recipient = row[1], row[2]
        return state.outcome(channel, recipient, mix64(state.key_of(now, *row)), Context(deadline), now)[2] >= 0

    def materialize(self, key: tuple) -> None:
        """Create the deferred rows, write those without a notifier ``sent`` at their creation, draw and lay out the
        others' Sends, apply the effects that come before ``key`` (the moment that looks) and leave the rest to the
        agenda."""
        if not self.rows:
            return
        engine = self.engine
        state = engine.state
        table = state.table
        first = table.n
        now, deadlines, returns = (np.fromiter(column, np.float64, len(column)) for column in (self.instants, self.deadlines, self.returns))
        returned = returns  # every row's, for the samples
        seqs = created = state.create_columns(now, *self.columns)
        if int(seqs[0]) != first:  # pragma: no cover - a row was created without materializing these first
            raise RuntimeError("deferred rows were overtaken by another creation")
        if self.written:  # the no-notifier writes, at their creation (each the row's first; nothing else reads them)
            written = np.array(self.written)
            state.write_ok_many(seqs[written], now[written])  # the database does not fail: counts the write
            state.service.finish_no_notifier_many(seqs[written], now[written])
            sends = np.ones(len(seqs), bool)
            sends[written] = False
            seqs, now, deadlines, returns = seqs[sends], now[sends], deadlines[sends], returns[sends]
        if len(seqs):
            self._send(seqs, now, deadlines, returns, key)
        if self.samples:
            self._count_in_samples(created, returned)
        self._clear()

    def _send(self, seqs: np.ndarray, now: np.ndarray, deadlines: np.ndarray, returns: np.ndarray, key: tuple) -> None:
        """Draw and lay out the Sends of the created rows ``seqs``, begun at ``now`` (s): apply the effects that come
        before ``key``, leave the rest to the agenda."""
        engine = self.engine
        state = engine.state
        table = state.table
        k = len(seqs)
        ch = table.channel[seqs].astype(np.int64)
        tl = fixed_sends(state, ch, table.recipient[seqs], mix64_many(state.keys[seqs]), now, engine.facts())
        items = sends_alone(tl, seqs, _CREATE, deadlines)
        if not np.array_equal(items["t"], returns):  # pragma: no cover - a model's fixed_latency is wrong
            raise RuntimeError("deferred rows' Sends returned at other instants than their callers were told")
        state.sends[seqs] += 1
        block = key_sorted(items)
        n = prefix(block, key)
        if n:
            engine._apply(subset(block, slice(0, n)), later=False)
        if n < k:
            engine.blocks.append(subset(block, slice(n, None)))

    def _count_in_samples(self, seqs: np.ndarray, returns: np.ndarray) -> None:
        """Count the rows in the samples taken while they were deferred: those created by then, ``pending`` until
        their Send returned at ``returns`` (s; a return at the sample's instant comes first), then as their status
        write left them."""
        table, recorder = self.engine.state.table, self.engine.recorder
        index, at, rows = zip(*self.samples)
        n = len(STATUSES)
        width = n + 2  # per sample: each status, any other status, stranded (failed with next_retry_at NULL)
        # a row is written by a sample when its Send returned by then (so it was created before it): the samples are
        # in time order, so the first one at or after its return counts it and so does every later one
        first = np.searchsorted(np.array(at), returns, side="left")
        status = table.status[seqs]  # each row as its only write left it (or pending, not yet written)
        stranded = (status == FAILED) & np.isnan(table.next_retry_at[seqs])
        cells = np.bincount(first * width + np.minimum(status, n), minlength=(len(at) + 1) * width).reshape(-1, width)
        cells[:, n + 1] = np.bincount(first[stranded], minlength=len(at) + 1)
        counts = np.cumsum(cells[:-1], axis=0)  # per sample: the rows returned by then (none after the last sample)
        counts[:, PENDING] += np.array(rows) - counts[:, : n + 1].sum(axis=1)  # created by the sample, not yet returned
        for sample, values in zip(index, counts[:, [*range(n), n + 1]].tolist()):
            recorder.add_to_sample(sample, values)


def _called_back(env: Clock, calls: Sequence[Callable[[int | None], Any]], seqs: Sequence[int], order_of: Callable[[int], tuple], _event: Any) -> None:
    """The callback of the event at which deferred rows' Sends return: their callers, each given its row number, in
    row order, as the reference's event per Send calls them (:meth:`~notifsim.engine.clock.Clock.calls_in_order`)."""
    env.calls_in_order(calls, order_of, seqs)


def _order(start: float, seqs: Sequence[int], i: int) -> tuple:
    """The order of the event of the ``i``-th of rows ``seqs`` whose Sends began at ``start`` (their first attempt)."""
    return completion_order(start, seqs[i], 0)
