"""The fleet's wake-up calendar: when each certificate next needs the renewal check.

Entries are ``(wake, certificate, version)`` with ``wake`` in seconds.  They
sit in buckets one renewal interval wide, so a renewal tick takes every
entry due by its deadline by emptying the buckets up to it, without a
priority queue over the whole fleet.  Entries are never removed except by
:meth:`WakeCalendar.take_due`: an entry whose version is no longer its
certificate's stays until then, as it would in a heap (the caller skips it).
"""

from __future__ import annotations

import math

import numpy as np

Entry = tuple[float, int, int]


_MAX_INDEX = 2**62  # bucket indexes are clamped to +-_MAX_INDEX (an infinite wake-up sits in the outermost bucket)


class WakeCalendar:
    """Wake-up entries bucketed by ``floor(wake / width)`` (``width`` in seconds).

    Exact because division by a positive width and ``floor`` never reverse an
    order: ``wake <= limit`` implies ``index(wake) <= index(limit)``, so every
    entry due by ``limit`` is in a bucket up to ``index(limit)``; the buckets
    below it hold nothing else, and only the limit's own bucket is filtered.
    """

    def __init__(self, width: float, wakes: np.ndarray):
        self.width = float(width)
        self.buckets: dict[int, list[Entry]] = {}
        self.low = _MAX_INDEX  # no bucket below this index holds an entry
        wakes = np.asarray(wakes, float)
        if np.isnan(wakes).any():
            raise ValueError("a wake-up instant is NaN")
        if len(wakes):
            with np.errstate(over="ignore"):  # a quotient beyond float range is infinite: the outermost bucket
                index = np.clip(np.floor(wakes / self.width), -_MAX_INDEX, _MAX_INDEX).astype(np.int64)  # index(), for many
            order = np.argsort(index, kind="stable")
            keys = index[order]
            cut = (np.flatnonzero(np.diff(keys)) + 1).tolist()
            wake_list = wakes.tolist()
            for lo, hi in zip([0, *cut], [*cut, len(order)]):
                self.buckets[int(keys[lo])] = [(wake_list[c], c, 0) for c in order[lo:hi].tolist()]
            self.low = int(keys[0])

    def index(self, wake: float) -> int:
        """The bucket of an instant."""
        x = wake / self.width
        if x != x:
            raise ValueError("a wake-up instant is NaN")
        return -_MAX_INDEX if x < -_MAX_INDEX else (_MAX_INDEX if x > _MAX_INDEX else math.floor(x))

    def __len__(self) -> int:
        """The number of entries (counted bucket by bucket)."""
        return sum(len(entries) for entries in self.buckets.values())

    def push(self, wake: float, cert: int, version: int) -> None:
        """Add an entry."""
        b = self.index(wake)
        bucket = self.buckets.get(b)
        if bucket is None:
            self.buckets[b] = [(wake, cert, version)]
        else:
            bucket.append((wake, cert, version))
        if b < self.low:
            self.low = b

    def _occupied_below(self, top: int) -> list[int]:
        """The indexes of the buckets below ``top`` that hold entries."""
        if top - self.low <= len(self.buckets):
            return [b for b in range(self.low, top) if b in self.buckets]
        return [b for b in self.buckets if b < top]

    def any_due(self, limit: float) -> bool:
        """Whether some entry (current or not) has ``wake <= limit``; remembers when no bucket below the limit's holds one."""
        top = self.index(limit)
        if self.low < top:
            if self._occupied_below(top):
                return True
            self.low = top
        return any(entry[0] <= limit for entry in self.buckets.get(top, ()))

    def take_due(self, limit: float) -> list[Entry]:
        """Remove and return every entry with ``wake <= limit`` (in no particular order)."""
        top = self.index(limit)
        if self.low > top:
            return []
        due: list[Entry] = []
        for b in self._occupied_below(top):
            due.extend(self.buckets.pop(b))
        last = self.buckets.get(top)
        if last is not None:
            due.extend(entry for entry in last if entry[0] <= limit)
            keep = [entry for entry in last if entry[0] > limit]
            if keep:
                self.buckets[top] = keep
            else:
                del self.buckets[top]
        self.low = top if self.buckets else _MAX_INDEX
        return due
