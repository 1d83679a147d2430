"""The expiry-alert rows of the table: looked up by dedup key, and logged when they stop suppressing.

certctl's expiry-alert dedup (``HasThresholdNotificationOnChannel``) looks
for ``ExpirationWarning`` rows of one certificate and channel whose body
carries ``[threshold:N]``.  :class:`AlertIndex` keeps those rows by
(certificate, threshold, channel) as they are inserted, so the lookup costs
O(rows with that key), and — when asked to watch — logs every time such a
row takes a status that does not suppress a new alert under a dedup
reading, so that a workload can revisit exactly those certificates.
Python and numpy (and Arrow's string search for rows created in bulk from
Arrow arrays); the table passes in its status codes.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Collection
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..certctl import STATUSES, THRESHOLD_TAG

_TAG = "[threshold:"  # what every body THRESHOLD_TAG matches contains
_UNSEEN: Any = object()  # a collection of statuses not looked up yet


class AlertIndex:
    """Alert rows by dedup key, and the log of alert rows that took a non-suppressing status (codes of ``STATUSES``)."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, int], list[int]] = {}  # (certificate, threshold digits, channel code) -> seqs
        self._codes: dict[Any, frozenset[int] | None] = {}  # a collection of statuses -> their codes (None: all five)
        self.watched: tuple[str, ...] | None = None  # the suppressing statuses being watched (None: no log)
        self._watch: list[bool] = [False] * len(STATUSES)  # per canonical status code: log a row taking it
        self._watch_other = False  # the same for status texts outside certctl's five (initial rows only)
        self._watch_codes = np.zeros(len(STATUSES) + 1, bool)  # both as a lookup: the last entry for any other code
        self.watching = False
        self._log: list[int] = []
        self._base = 0  # log entries dropped from the front (already read)

    def add(self, seq: int, certificate_id: str | None, message: str | None, channel_code: int) -> None:
        """Index a newly inserted ``ExpirationWarning`` row under every key :func:`dedup_keys` gives it."""
        for key in dedup_keys(certificate_id, message):
            self._rows.setdefault((*key, channel_code), []).append(seq)

    def add_many(self, first: int, rows: np.ndarray, certificate_ids: Any, messages: Any, channel: np.ndarray, code: int, tags: bool = True) -> None:
        """Index newly inserted ``ExpirationWarning`` rows (those with a certificate and a tagged body; ``tags=False``:
        no body has a tag), which took status ``code``: ``rows`` are their positions in the inserted group, which
        starts at row ``first`` and whose texts (sequences or Arrow arrays) and channel codes are
        ``certificate_ids``, ``messages`` and ``channel``."""
        tagged = _tagged(rows, messages) if tags else rows[:0]  # only a body with a dedup tag is indexed
        if len(tagged):
            for i, certificate_id, message in zip(tagged.tolist(), _at(certificate_ids, tagged), _at(messages, tagged)):
                self.add(first + i, certificate_id, message, int(channel[i]))
        if self.watching and self.logs(code):
            self.took_many(first + rows, code)

    def rows(self, certificate_id: str, threshold: int, channel_code: int) -> list[int] | None:
        """Row numbers of the alert rows with this key (None: none)."""
        return self._rows.get((certificate_id, str(threshold), channel_code))

    def codes(self, statuses: Collection[str]) -> frozenset[int] | None:
        """The status codes of ``statuses``; ``None`` when they are all five (no status filter at all)."""
        key = statuses if isinstance(statuses, (tuple, frozenset)) else tuple(statuses)
        found = self._codes.get(key, _UNSEEN)
        if found is _UNSEEN:
            names = set(key)
            found = self._codes[key] = None if names >= set(STATUSES) else frozenset(STATUSES.index(s) for s in names if s in STATUSES)
        return found

    # -- the log of rows that stopped suppressing -------------------------------------------

    def watch(self, suppressing: Collection[str]) -> None:
        """Log alert rows each time they take a status outside ``suppressing`` (with all five: nothing is logged)."""
        self.watched = tuple(suppressing)
        codes = self.codes(self.watched)
        self._watch = [codes is not None and i not in codes for i in range(len(STATUSES))]
        self._watch_other = codes is not None
        self._watch_codes = np.array([*self._watch, self._watch_other], bool)
        self.watching = any(self._watch) or self._watch_other

    def took(self, seq: int, code: int) -> None:
        """Alert row ``seq`` has just taken status ``code``."""
        if self._watch[code] if code < len(self._watch) else self._watch_other:
            self._log.append(seq)

    def logs(self, code: int) -> bool:
        """Whether a row taking status ``code`` is logged."""
        return bool(self._watch_codes[min(code, len(self._watch))])

    def took_many(self, seqs: np.ndarray, codes: np.ndarray | int) -> None:
        """Distinct alert rows ``seqs`` have just taken the statuses ``codes`` (an int: one status for all)."""
        if not len(seqs):
            return
        if isinstance(codes, int):
            logged = seqs if self.logs(codes) else seqs[:0]
        else:
            logged = seqs[self._watch_codes[np.minimum(codes, len(self._watch))]]
        if len(logged):
            self._log.extend(logged.tolist())

    def since(self, cursor: int) -> tuple[list[int], int]:
        """Row numbers logged from position ``cursor`` on, and the log's end; entries before ``cursor`` are dropped."""
        base = self._base
        if cursor < base:
            raise ValueError(f"alert log position {cursor} was already dropped (first kept: {base})")
        if cursor > base:
            del self._log[: cursor - base]
            self._base = base = cursor
        return self._log[cursor - base :], base + len(self._log)


@functools.lru_cache(maxsize=8192)  # an alert a batched run defers is keyed when deferred, then when it is created
def dedup_keys(certificate_id: str | None, message: str | None) -> tuple[tuple[str, str], ...]:
    """The (certificate, threshold digits) an ``ExpirationWarning`` row is found under: one per ``[threshold:N]`` tag
    of its body (none without a certificate or a body)."""
    if certificate_id is None or not message:
        return ()
    return tuple((certificate_id, sys.intern(digits)) for digits in THRESHOLD_TAG.findall(message))  # a few distinct digits


def _tagged(rows: np.ndarray, messages: Any) -> np.ndarray:
    """The positions among ``rows`` whose body carries a ``[threshold:`` tag (an Arrow array is searched as a whole)."""
    if not isinstance(messages, (pa.Array, pa.ChunkedArray)):
        return np.array([i for i in rows.tolist() if isinstance(messages[i], str) and _TAG in messages[i]], np.int64)
    found = pc.match_substring(messages, _TAG)
    if not pc.sum(found).as_py():  # the usual case (an arrival workload's bodies carry no tag)
        return rows[:0]
    return rows[pc.fill_null(found, False).to_numpy(zero_copy_only=False)[rows]]


def _at(values: Any, rows: np.ndarray) -> list:
    """The texts at positions ``rows`` of a sequence or an Arrow array, as Python strings (a list's own objects)."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.take(rows).to_pylist()
    return [values[i] for i in rows.tolist()]
