"""The batched engine's rows created by several callers at one instant, each then sending its own (a fleet's jobs).

When a workload's callers — the jobs a fleet's job processor started
together — each create one row and send it at once
(:meth:`~notifsim.engine.events.EventEngine.create_and_send_each`), the
batched engine creates the rows in one go, draws their Sends as arrays
(:mod:`.timeline`) and applies the Sends that take no time at once.  The
Sends that take time return in one SimPy event per instant, keyed like the
first of them (:func:`~notifsim.engine.clock.completion_order`): the rows are
consecutive and began together, so no other event can come between them —
provided no scheduler tick is still to come at this instant (it could list
the new rows and send them too, from this instant, its returns falling among
the group's); then the group takes the reference's path, one event per Send.
At each return the callers' callbacks run in row order, as their processes
would resume; a callback that starts something at that instant (an urgent
event) lets it run before the next row's return, as the reference's event
per Send does (:meth:`~notifsim.engine.clock.Clock.returns_in_order`).  Fewer rows than :attr:`BatchedEngine.CALLERS` (laying rows out
costs a fixed few hundred µs), rows on a stateful channel, or a policy with
a retry quota are sent one at a time, still with one event for the Sends
that return together, and created in one go from
:attr:`BatchedEngine.CREATE_TOGETHER` rows on (one at a time when a
``Create`` fails or a row is an expiry alert, which only a process creates).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np

from ..record import LOOP_CODE
from ..streams import mix64_many
from .agenda import key_sorted, lay_out, subset
from .clock import completion_order
from .events import NESTED_CREATE, EventEngine
from .state import Columns, Context, Send, column_specs, created_together, spec_columns, usual
from .timeline import SEND, timelines

if TYPE_CHECKING:
    from .batched import BatchedEngine

_CREATE = LOOP_CODE["create"]


def create_and_send_each(engine: BatchedEngine, deadlines: list[float], specs: list[dict], thens: list[Callable[[int | None], Any]]) -> None:
    """:meth:`EventEngine.create_and_send_each` with the rows deferred, or created and sent as arrays when that pays."""
    if not specs:
        return
    if all(map(usual, specs)) and engine.deferred.offer(deadlines, spec_columns(specs), thens):  # nothing looks at them until later (:mod:`.deferred`)
        return
    _created_now(engine, deadlines, specs, thens)


def create_and_send_columns(engine: BatchedEngine, deadlines: list[float], columns: Columns, thens: list[Callable[[int | None], Any]]) -> None:
    """:func:`create_and_send_each` of usual rows given as columns."""
    if deadlines and not engine.deferred.offer(deadlines, columns, thens):
        _created_now(engine, deadlines, column_specs(columns), thens)


def _created_now(engine: BatchedEngine, deadlines: list[float], specs: list[dict], thens: list[Callable[[int | None], Any]]) -> None:
    """Callers' rows that are not deferred: created now, sent as arrays, together or one by one."""
    state = engine.state
    now = engine.env.now
    k = len(specs)
    engine.settle()  # rows deferred before are created first
    if engine.tick_to_come(now):
        # it may list the rows and send them too: its Sends begin now, on rows among the group's, so their returns
        # may fall between the group's; the one-event-per-Send path then
        EventEngine.create_and_send_each(engine, deadlines, specs, thens)
        return
    # every Create succeeds now, and no row is an expiry alert (read back by its creator: kept to one at a time)
    together = now < min(deadlines) and state.db.available(now) and all(created_together(spec) for spec in specs)
    table = state.table
    if together and k >= engine.CALLERS and engine.bulk:
        ch = np.array([table.channels.code(spec["channel"]) for spec in specs], np.int64)
        facts = engine.facts()
        if not facts["stateful"][ch].any():
            _as_arrays(engine, deadlines, specs, thens, ch, facts)
            return
    if together and k >= engine.CREATE_TOGETHER:
        _one_by_one(engine, deadlines, specs, thens, state.create_specs(now, specs).tolist())
    else:
        _one_by_one(engine, deadlines, specs, thens)


def _as_arrays(
    engine: BatchedEngine, deadlines: list[float], specs: list[dict], thens: list[Callable[[int | None], Any]], ch: np.ndarray, facts: dict[str, np.ndarray]
) -> None:
    """Rows created, drawn and laid out as arrays; one event per instant at which their Sends return."""
    state = engine.state
    table = state.table
    now = engine.env.now
    k = len(specs)
    seqs = state.create_specs(now, specs)
    zeros = np.zeros(k, np.int64)
    chain_no = np.arange(k, dtype=np.int64)  # each row its own caller
    deadline = np.array(deadlines, np.float64)
    cancel = np.full(k, np.inf)  # a workload's own context: no replica shutdown
    key = mix64_many(state.keys[seqs])  # attempt 0: mix64(key + 0)
    tl = timelines(state, ch, table.recipient[seqs], key, zeros, chain_no, np.full(k, now), deadline, facts, cancel)
    items, later = lay_out(tl, seqs, zeros, _CREATE, deadline, chain_no, cancel, np.zeros(k, np.int16))
    state.sends[seqs[tl.kind == SEND]] += 1
    if not later.all():
        engine._apply(subset(items, ~later), later=False)
        rows = engine.created_rows()
        for i in np.flatnonzero(~later).tolist():
            thens[i](int(seqs[i]))
        if engine.created_rows() != rows:
            raise RuntimeError(NESTED_CREATE)
    if not later.any():
        return
    block = key_sorted(subset(items, later))
    t = block["t"]
    bounds = np.flatnonzero(np.r_[True, t[1:] != t[:-1], True]).tolist()
    first_seq = int(seqs[0])
    for lo, hi in pairwise(bounds):
        group = subset(block, slice(lo, hi))
        event = engine.env.at(float(t[lo]), completion_order(now, int(group["seq"][0]), 0))
        event.callbacks.append(_returned(engine, group, [thens[s - first_seq] for s in group["seq"].tolist()]))


def _one_by_one(
    engine: BatchedEngine, deadlines: list[float], specs: list[dict], thens: list[Callable[[int | None], Any]], created: list[int] | None = None
) -> None:
    """The callers one row at a time, as :meth:`EventEngine.create_and_send_then` does, but with one event for the
    Sends that return at one instant (they began together, their rows in order, and no tick of this instant is
    still to come: nothing comes between them).  ``created``: the rows, already created together (nothing
    reads a row before its caller sends it, and a callback called at once may not create a row)."""
    now = engine.env.now
    later: dict[float, list[tuple[Send, Context, Callable[[int | None], Any]]]] = {}
    for i, (deadline, spec, then) in enumerate(zip(deadlines, specs, thens)):
        seq = engine._create_one(deadline, spec) if created is None else created[i]
        if seq is None:
            then(None)
            continue
        ctx = Context(deadline)
        send = engine.begin_created(seq, ctx)
        if send is not None:
            later.setdefault(now + send.latency, []).append((send, ctx, then))
            continue
        rows = engine.created_rows()
        then(seq)  # over at once
        if engine.created_rows() != rows:
            raise RuntimeError(NESTED_CREATE)
    for at, sends in later.items():
        first = sends[0][0]
        event = engine.env.at(at, completion_order(now, first.seq, first.attempt))
        event.callbacks.append(_each_returned(engine, sends))


def _each_returned(engine: BatchedEngine, sends: list[tuple[Send, Context, Callable[[int | None], Any]]]) -> Callable[[Any], None]:
    """The callback of the event at which ``sends`` return: each one's record, write and caller, in row order (as
    the reference's event per Send: :meth:`~notifsim.engine.clock.Clock.returns_in_order`)."""

    def returned(_event: Any) -> None:
        engine.env.returns_in_order([(completion_order(s.start, s.seq, s.attempt), partial(_finish, engine, s, ctx, then)) for s, ctx, then in sends])

    return returned


def _finish(engine: BatchedEngine, send: Send, ctx: Context, then: Callable[[int | None], Any]) -> None:
    engine.finish_created(send, ctx)
    then(send.seq)


def _returned(engine: BatchedEngine, group: dict[str, np.ndarray], thens: list[Callable[[int | None], Any]]) -> Callable[[Any], None]:
    """The callback of the event at which ``group``'s Sends return: their records and writes, then their callers."""

    def returned(_event: Any) -> None:
        engine._apply(group, later=False)  # the rows' writes: no caller can read them (not an alert, not listed now)
        start = float(group["start"][0])
        engine.env.returns_in_order([(completion_order(start, seq, 0), partial(then, seq)) for then, seq in zip(thens, group["seq"].tolist())])

    return returned
