"""The two lazy indexes behind certctl's listing queries: pending rows, and failed rows due for a retry.

Both are kept the cheap way: a row is added when it takes the status, and
never removed when it leaves it; a listing checks each entry it touches
against the row as it is now and drops the stale ones.  So a transition
costs O(1) (O(log n) for the sorted ones) and a listing O(entries it
touches).  The checks read the table's columns, passed in by the table.
"""

from __future__ import annotations

import numpy as np
from sortedcontainers import SortedList

_INT = np.int64


class PendingIndex:
    """``List{Status: pending}``'s order: ``sent_at DESC NULLS LAST``, ties to the row inserted first.

    Rows pending with a ``sent_at`` sit in a sorted list keyed by
    ``(-sent_at, row, stamp)``; rows pending with ``sent_at`` NULL (every
    fresh row) in arrays of row numbers, kept in insertion order.  ``stamp``
    counts each time a row became pending, so an entry from an earlier spell
    of the same row is recognised as stale.
    """

    def __init__(self, capacity: int) -> None:
        self.dated = SortedList()
        self.fresh: list[np.ndarray] = []
        self.stamp = np.zeros(capacity, _INT)

    def grow(self, capacity: int, n: int) -> None:
        stamp = np.zeros(capacity, _INT)
        stamp[:n] = self.stamp[:n]
        self.stamp = stamp

    def enter(self, seq: int, sent_at: float) -> None:
        """Row ``seq`` has just become pending with this ``sent_at`` (NaN: NULL)."""
        self.stamp[seq] += 1
        if sent_at != sent_at:
            self.fresh.append(np.array([seq], _INT))
        else:
            self.dated.add((-sent_at, seq, int(self.stamp[seq])))

    def enter_many(self, seqs: np.ndarray, sent_at: np.ndarray) -> None:
        """Distinct rows that have just become pending."""
        self.stamp[seqs] += 1
        fresh = np.isnan(sent_at)
        if fresh.any():
            self.fresh.append(seqs[fresh] if not fresh.all() else seqs)
        if not fresh.all():
            dated = ~fresh
            self.dated.update((-sa, s, int(self.stamp[s])) for s, sa in zip(seqs[dated].tolist(), sent_at[dated].tolist()))

    def first(self, limit: int, status: np.ndarray, sent_at: np.ndarray, pending: int) -> np.ndarray:
        """Row numbers of the first ``limit`` pending rows in listing order (``pending`` is the pending status code)."""
        out: list[int] = []
        if self.dated:
            dead = []
            for entry in self.dated:
                neg_sent, seq, stamp = entry
                if status[seq] != pending or self.stamp[seq] != stamp or sent_at[seq] != -neg_sent:
                    dead.append(entry)
                elif len(out) < limit:
                    out.append(seq)
            for entry in dead:
                self.dated.remove(entry)
        fresh = self._fresh(status, sent_at, pending)
        need = limit - len(out)
        if need > 0 and len(fresh):
            return np.concatenate([np.array(out, _INT), fresh[:need]])
        return np.array(out, _INT)

    def _fresh(self, status: np.ndarray, sent_at: np.ndarray, pending: int) -> np.ndarray:
        """Pending rows with sent_at NULL, in insertion order (compacting the candidate arrays)."""
        if not self.fresh:
            return np.empty(0, _INT)
        cand = np.concatenate(self.fresh) if len(self.fresh) > 1 else self.fresh[0]
        keep = (status[cand] == pending) & np.isnan(sent_at[cand])
        cand = np.unique(cand[keep])
        self.fresh = [cand] if len(cand) else []
        return cand


class RetryIndex:
    """The partial index ``status='failed' AND next_retry_at IS NOT NULL``, ordered by ``next_retry_at`` then row.

    Entries are ``(next_retry_at, row)``; an entry is live while its row is
    still failed with that ``next_retry_at``.
    """

    def __init__(self) -> None:
        self.armed = SortedList()

    def enter(self, next_retry_at: float, seq: int) -> None:
        self.armed.add((next_retry_at, seq))

    def enter_many(self, next_retry_at: np.ndarray, seqs: np.ndarray) -> None:
        self.armed.update(zip(next_retry_at.tolist(), seqs.tolist()))

    def due(self, now: float, limit: int, max_attempts: int, status: np.ndarray, next_retry_at: np.ndarray, retry_count: np.ndarray, failed: int) -> np.ndarray:
        """Row numbers of live entries due by ``now`` with ``retry_count < max_attempts``, oldest first, at most ``limit``."""
        armed = self.armed
        end = armed.bisect_right((now, float("inf")))  # entries due by now: a prefix of the index
        if not end:
            return np.empty(0, _INT)
        due = armed[:end]
        nra = np.fromiter((e[0] for e in due), float, count=end)
        seqs = np.fromiter((e[1] for e in due), _INT, count=end)
        live = (status[seqs] == failed) & (next_retry_at[seqs] == nra)
        if live.any():  # the same (next_retry_at, row) entered twice (two writes of one value): list the row once
            at = np.flatnonzero(live)
            _, first = np.unique(seqs[at], return_index=True)
            if len(first) < len(at):
                live[at] = False
                live[at[first]] = True
        eligible = np.flatnonzero(live & (retry_count[seqs] < max_attempts))
        if len(eligible) > limit:  # the rest of the prefix stays as it is, stale entries included
            keep_from = int(eligible[limit])
            eligible = eligible[:limit]
            live[keep_from:] = True  # not examined: leave them in place
        stale = np.flatnonzero(~live)
        if len(stale) > end // 4:  # rebuild the prefix without its stale entries
            kept = [due[i] for i in np.flatnonzero(live).tolist()]
            del armed[:end]
            armed.update(kept)
        elif len(stale):
            for i in stale.tolist():
                armed.remove(due[i])
        return seqs[eligible]

    def first_due(self, status: np.ndarray, next_retry_at: np.ndarray, failed: int) -> float:
        """The earliest ``next_retry_at`` of a live entry (``inf`` when none)."""
        armed = self.armed
        for i, (nra, seq) in enumerate(armed):
            if status[seq] == failed and next_retry_at[seq] == nra:
                if i:
                    del armed[:i]  # stale entries: their rows moved on since they were indexed
                return float(nra)
        armed.clear()
        return float("inf")
