"""Storage helpers of the table: interned text, growable numpy columns, columns of optional strings.

Low-cardinality text (statuses, channels, types, recipients, error texts)
is stored as small integer codes into a :class:`Pool`; free text that is
mostly unique (messages, certificate ids) is a :class:`TextColumn` of
chunks, filled one string at a time or a whole array at a time (any
sequence with ``len`` and indexing, such as an Arrow array).  Strings
appended one at a time are packed every :data:`PACK_ROWS` rows into one
UTF-8 buffer with offsets (:class:`PackedText`), about a third of the
memory of Python strings.  numpy only.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from typing import Any, cast

import numpy as np

#: The code of a NULL text.
NULL = -1


class Pool:
    """Strings interned as integer codes ``0, 1, 2, ...`` in order of first appearance; ``NULL`` (-1) is None."""

    __slots__ = ("_codes", "texts")

    def __init__(self, initial: Iterable[str] = ()):
        self.texts: list[str] = []
        self._codes: dict[str | None, int] = {}  # None is never a key (it is NULL), but may be looked up
        for text in initial:
            self.code(text)

    def code(self, text: str | None) -> int:
        """The code of ``text`` (a new code the first time it is seen)."""
        if text is None:
            return NULL
        code = self._codes.get(text)
        if code is None:
            code = self._codes[text] = len(self.texts)
            self.texts.append(text)
        return code

    def codes(self, texts: Sequence[str | None]) -> list[int]:
        """:meth:`code` of each text, in order (new codes in order of first appearance)."""
        found = list(map(self._codes.get, texts))  # None for a new text (or None)
        if None in found:  # those one at a time, in order
            code = self.code
            return [c if c is not None else code(text) for c, text in zip(found, texts)]
        return cast("list[int]", found)

    def find(self, text: str) -> int | None:
        """The code of ``text`` if it was seen, else None (nothing is added)."""
        return self._codes.get(text)

    def text(self, code: int) -> str | None:
        """The string of ``code`` (None for ``NULL``)."""
        return None if code < 0 else self.texts[code]

    def __len__(self) -> int:
        return len(self.texts)


#: Strings appended one at a time are packed into a :class:`PackedText` every this many rows.
PACK_ROWS = 1 << 16


class PackedText:
    """Optional strings packed as one UTF-8 buffer: ``data[offsets[i]:offsets[i + 1]]`` is string ``i``
    (Arrow's large-string layout, so it converts without copying); ``valid[i]`` is False for None."""

    __slots__ = ("data", "offsets", "valid")

    def __init__(self, texts: Sequence[str | None]):
        n = len(texts)
        self.offsets = np.zeros(n + 1, np.int64)
        if None not in texts:
            strings = cast("Sequence[str]", texts)
            joined = "".join(strings)
            if joined.isascii():  # the usual case: one encode, and a character is a byte
                self.data = joined.encode()
                np.cumsum(np.fromiter(map(len, strings), np.int64, n), out=self.offsets[1:])
                self.valid = np.ones(n, bool)
                return
        encoded = [b"" if t is None else t.encode() for t in texts]
        self.data = b"".join(encoded)
        np.cumsum(np.fromiter(map(len, encoded), np.int64, n), out=self.offsets[1:])
        self.valid = np.fromiter((t is not None for t in texts), bool, n)

    def __len__(self) -> int:
        return len(self.valid)

    def __getitem__(self, i: int) -> str | None:
        if not self.valid[i]:
            return None
        return self.data[self.offsets[i] : self.offsets[i + 1]].decode()


class TextColumn:
    """A growable column of optional strings, stored in chunks: packed texts, Python lists or whole arrays (e.g. Arrow)."""

    __slots__ = ("_chunks", "_current", "_n", "_starts")

    def __init__(self) -> None:
        self._chunks: list[Sequence[Any] | PackedText] = []
        self._starts: list[int] = []
        self._current: list[str | None] = []
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def append(self, text: str | None) -> None:
        if not self._current:
            self._open()
        self._current.append(text)
        self._n += 1
        if len(self._current) == PACK_ROWS:
            self._pack()

    def extend(self, values: Sequence[Any]) -> None:
        """Append a whole array of strings (Python strings, or an array whose items have ``as_py``); a Python
        list goes where single strings go, so small lists end up packed like them."""
        if isinstance(values, list):
            done = 0
            while done < len(values):
                if not self._current:
                    self._open()
                part = values[done : done + PACK_ROWS - len(self._current)]
                self._current.extend(part)
                self._n += len(part)
                done += len(part)
                if len(self._current) == PACK_ROWS:
                    self._pack()
            return
        if not len(values):
            return
        self._starts.append(self._n)
        self._chunks.append(values)
        self._current = []
        self._n += len(values)

    def _open(self) -> None:
        """Start a chunk of strings appended one at a time (``_current``), at row ``_n``."""
        self._starts.append(self._n)
        self._chunks.append(self._current)

    def _pack(self) -> None:
        """The current chunk is full: pack it."""
        self._chunks[-1] = PackedText(self._current)
        self._current = []

    def __getitem__(self, seq: int) -> str | None:
        i = bisect.bisect_right(self._starts, seq) - 1
        value = self._chunks[i][seq - self._starts[i]]
        as_py = getattr(value, "as_py", None)
        return as_py() if callable(as_py) else value

    def chunks(self) -> list[Sequence[Any] | PackedText]:
        """The stored chunks in row order."""
        return list(self._chunks)


class Grow:
    """Numpy columns of a common length that grow by doubling; ``n`` rows are in use."""

    __slots__ = ("_dtypes", "arrays", "cap", "n")

    def __init__(self, dtypes: dict[str, Any], capacity: int = 1024):
        self._dtypes = dict(dtypes)
        self.cap = capacity
        self.n = 0
        self.arrays = {name: np.empty(capacity, dtype) for name, dtype in self._dtypes.items()}

    def reserve(self, extra: int) -> None:
        """Make room for ``extra`` more rows."""
        need = self.n + extra
        if need <= self.cap:
            return
        cap = max(need, 2 * self.cap)
        for name, old in self.arrays.items():
            new = np.empty(cap, old.dtype)
            new[: self.n] = old[: self.n]
            self.arrays[name] = new
        self.cap = cap

    def view(self, name: str) -> np.ndarray:
        """The rows in use of column ``name`` (a view: it may go stale after the columns grow)."""
        return self.arrays[name][: self.n]
