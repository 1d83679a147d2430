"""The two lazy indexes behind certctl's listing queries: pending rows, and failed rows due for a retry.

Both are kept the cheap way: a row is added when it takes the status, and
never removed when it leaves it; a listing checks each entry it touches
against the row as it is now and drops the stale ones.  So a transition
costs O(1) (O(log n) for a dated pending row) and a listing about
O(entries it touches) (the retry index first merges the entries added
since the last listing, in one numpy pass).  The checks read the table's
columns, passed in by the table.
"""

from __future__ import annotations

import numpy as np
from sortedcontainers import SortedList

_INT = np.int64
#: Entries below which the retry index merges new entries by sorting everything again (cheaper than inserting).
_MERGE_BY_SORT = 1024


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
        self._fresh_one: list[int] = []  # rows entered one at a time, not yet in ``fresh``
        self.stamp = np.zeros(capacity, _INT)

    def grow(self, capacity: int, n: int) -> None:
        stamp = np.zeros(capacity, _INT)
        stamp[:n] = self.stamp[:n]
        self.stamp = stamp

    def enter(self, seq: int, sent_at: float) -> None:
        """Row ``seq`` has just become pending with this ``sent_at`` (NaN: NULL)."""
        self.stamp[seq] += 1
        if sent_at != sent_at:
            self._fresh_one.append(seq)
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
        if self._fresh_one:
            self.fresh.append(np.array(self._fresh_one, _INT))
            self._fresh_one = []
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
    still failed with that ``next_retry_at``.  They are kept as one sorted
    complex array (real part ``next_retry_at``, imaginary part the row: numpy
    orders complex numbers by real part, then imaginary part), and entries
    added since the last listing wait in a buffer that is merged in (one sort)
    when the index is next read.
    """

    def __init__(self) -> None:
        self.armed = np.empty(0, np.complex128)  # sorted
        self._added: list[np.ndarray] = []
        self._one: list[complex] = []

    def enter(self, next_retry_at: float, seq: int) -> None:
        self._one.append(complex(next_retry_at, seq))

    def enter_many(self, next_retry_at: np.ndarray, seqs: np.ndarray) -> None:
        entries = np.empty(len(seqs), np.complex128)
        entries.real = next_retry_at
        entries.imag = seqs
        self._added.append(entries)

    def _merged(self) -> np.ndarray:
        if self._one:
            self._added.append(np.array(self._one, np.complex128))
            self._one = []
        if self._added:  # entries equal in both parts are the same value, so any sort gives the one order
            if len(self.armed) < _MERGE_BY_SORT:
                self.armed = np.sort(np.concatenate([self.armed, *self._added]))
            else:  # a large index: insert the few new entries where they go (linear, not n log n)
                added = np.sort(np.concatenate(self._added))
                self.armed = np.insert(self.armed, np.searchsorted(self.armed, added, side="right"), added)
            self._added = []
        return self.armed

    def due(self, now: float, limit: int, max_attempts: int, status: np.ndarray, next_retry_at: np.ndarray, retry_count: np.ndarray, failed: int) -> np.ndarray:
        """Row numbers of live entries due by ``now`` with ``retry_count < max_attempts``, oldest first, at most ``limit``."""
        armed = self._merged()
        end = int(np.searchsorted(armed, complex(now, np.inf), side="right"))  # entries due by now: a prefix of the index
        if not end:
            return np.empty(0, _INT)
        nra = armed.real[:end]
        seqs = armed.imag[:end].astype(_INT)
        live = (status[seqs] == failed) & (next_retry_at[seqs] == nra)
        if live.any():  # the same (next_retry_at, row) entered twice (two writes of one value): list the row once
            at = np.flatnonzero(live)  # a row's live entries all hold its one next_retry_at: equal, so side by side
            again = armed[at[1:]] == armed[at[:-1]]
            if again.any():
                live[at[1:][again]] = False
        eligible = np.flatnonzero(live & (retry_count[seqs] < max_attempts))
        if len(eligible) > limit:  # the rest of the prefix stays as it is, stale entries included
            live[int(eligible[limit]) :] = True  # not examined: leave them in place
            eligible = eligible[:limit]
        if not live.all():  # drop the stale entries: the kept ones move up against the rest, in place (no copy of the rest)
            kept = armed[:end][live]
            start = end - len(kept)
            armed[start:end] = kept
            self.armed = armed[start:]
        return seqs[eligible]

    def first_due(self, status: np.ndarray, next_retry_at: np.ndarray, failed: int) -> float:
        """The earliest ``next_retry_at`` of a live entry (``inf`` when none)."""
        armed = self._merged()
        lo, width = 0, 16
        while lo < len(armed):
            part = armed[lo : lo + width]
            seqs = part.imag.astype(_INT)
            live = (status[seqs] == failed) & (next_retry_at[seqs] == part.real)
            if live.any():
                i = lo + int(np.argmax(live))
                self.armed = armed[i:]  # the entries before it are stale: their rows moved on since they were indexed
                return float(armed[i].real)
            lo, width = lo + width, width * 4
        self.armed = armed[:0]
        return float("inf")
