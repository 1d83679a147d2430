"""The batched engine's agenda: laid-out items (one per effect of a Send or no-notifier write), chains, key order.

An *item* is one effect a laid-out chain will have: a Send's record and
status write, or a no-notifier write.  Items travel as a dict of equal-length
numpy columns (:data:`ITEM`); a *block* is a set of items sorted by the key
SimPy would give the event that applies them (:func:`key_sorted`), so the
engine can take, before any foreign event, exactly the items whose key comes
first (:func:`prefix`).
"""

from __future__ import annotations

import numpy as np

from .state import Context
from .timeline import INSTANT, SEND, Timeline

ITEM: tuple[str, ...] = (
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
    "cancel",
    "replica",
    "chain",
    "planned",
    "unplan_self",
    "unplan_next",
)


class Chain:
    """A laid-out chain that needs bookkeeping or may be handed over: a tick, or a creator of several rows."""

    __slots__ = ("applied", "ctx", "hit", "index", "items", "loop", "rows", "sends", "seqs", "total")

    def __init__(self, loop: str | None, index: int, seqs: np.ndarray, ctx: Context, items: dict[str, np.ndarray]):
        self.loop = loop  # "process" / "retry" for a tick, None for a creator
        self.index = index  # the tick's row in the ticks table
        self.seqs = seqs
        self.rows = len(seqs)
        self.ctx = ctx  # the context its rows are sent and written on
        self.items = items  # its items after the first step, in chain order
        self.total = len(items["seq"])
        self.applied = 0
        self.sends = 0
        self.hit = False


def lay_out(
    tl: Timeline, seq: np.ndarray, rc: np.ndarray, loop: int, deadline: np.ndarray, chain_no: np.ndarray, cancel: np.ndarray, replica: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The items of laid-out chains and which come after each chain's first step.

    ``deadline`` and ``cancel`` are each item's context's deadline and
    shutdown instant, ``replica`` the replica its caller runs on.

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
    begins = (tl.kind == SEND) | (tl.kind == INSTANT)
    # a Send begins in the step before its effect (timed) or in its own step (zero time); step 0 is now
    start_step = np.where(timed, step - 1, step)
    planned = begins & (start_step >= 1)
    unplan_self = planned & ~timed
    unplan_next = np.full(k, -1, np.int64)
    nxt = np.flatnonzero(planned & timed)  # a timed Send begins when the item just before it in its chain is applied
    if len(nxt):
        unplan_next[nxt - 1] = seq[nxt]
    items = _items(tl, seq, loop, t, (s_start, s_seq, s_att), rc, deadline, cancel, replica, (planned, unplan_self, unplan_next))
    return items, later


def sends_alone(tl: Timeline, seq: np.ndarray, loop: int, deadline: np.ndarray) -> dict[str, np.ndarray]:
    """The items of rows each sent once by a caller of its own on a workload's context (no replica shutdown), every
    Send taking time: what :func:`lay_out` gives for such one-row chains (each item applied when its Send returns,
    keyed like that Send's completion), without working the steps out."""
    k = len(seq)
    no = np.zeros(k, bool)
    steps = (tl.start.copy(), seq.copy(), tl.attempt.copy())  # each item applied when its own Send returns
    plans = (no, no, np.full(k, -1, np.int64))
    return _items(tl, seq, loop, tl.start + tl.latency, steps, np.zeros(k, np.int64), deadline, np.full(k, np.inf), np.zeros(k, np.int16), plans)


def _items(
    tl: Timeline,
    seq: np.ndarray,
    loop: int,
    t: np.ndarray,
    steps: tuple[np.ndarray, np.ndarray, np.ndarray],
    rc: np.ndarray,
    deadline: np.ndarray,
    cancel: np.ndarray,
    replica: np.ndarray,
    plans: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> dict[str, np.ndarray]:
    """The columns of items (:data:`ITEM`): ``steps`` the start, row and attempt of the Send whose return applies each,
    ``plans`` the planned / unplan_self / unplan_next columns."""
    s_start, s_seq, s_att = steps
    planned, unplan_self, unplan_next = plans
    return {
        "t": t,
        "s_start": s_start,
        "s_seq": s_seq,
        "s_att": s_att,
        "pos": np.arange(len(seq), dtype=np.int64),
        "kind": tl.kind.astype(np.int8),
        "seq": seq,
        "start": tl.start,
        "latency": tl.latency,
        "delivered": tl.delivered,
        "error": tl.error,
        "retry_after": tl.retry_after,
        "key": tl.key,
        "attempt": tl.attempt,
        "loop": np.full(len(seq), loop, np.int8),
        "rc": rc,
        "deadline": deadline,
        "cancel": cancel,
        "replica": replica,
        "chain": np.full(len(seq), -1, np.int64),
        "planned": planned,
        "unplan_self": unplan_self,
        "unplan_next": unplan_next,
    }


def subset(items: dict[str, np.ndarray], mask: np.ndarray | slice) -> dict[str, np.ndarray]:
    """The items selected by ``mask`` (a slice, a boolean mask or positions); a mask that keeps every item gives
    the same columns in a new dict (columns are only ever written in place before they are shared)."""
    if isinstance(mask, np.ndarray) and mask.dtype == bool and mask.all():
        return dict(items)
    return {name: values[mask] for name, values in items.items()}


def key_sorted(items: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    order = np.lexsort((items["pos"], items["s_att"], items["s_seq"], items["s_start"], items["t"]))
    if len(order) < 2 or (order[1:] > order[:-1]).all():  # already in key order (as arrivals laid out in time order often are)
        return items
    return subset(items, order)


def prefix(block: dict[str, np.ndarray], key: tuple, start: int = 0) -> int:
    """How many items of a key-sorted block, from position ``start`` on, come before ``key``."""
    t = block["t"]
    kt = key[0]
    n = start + int(np.searchsorted(t[start:], kt, side="left"))
    while n < len(t) and t[n] == kt and (kt, (1, 0, float(block["s_start"][n]), int(block["s_seq"][n]), int(block["s_att"][n]))) < key:
        n += 1
    return n - start
