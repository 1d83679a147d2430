"""Memory a large run's conversion to DataFrames gives back: Arrow's pool, and the C library's heap.

Converting a million-row run copies every column into Arrow and pandas
while the run's own buffers are freed one by one; without care the process
holds both at once.  :data:`system_allocator` makes Arrow allocate from the
C heap for the duration, and :func:`give_back_free_memory` returns freed
pages to the operating system after each column.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pyarrow as pa


class SystemPool:
    """Arrow allocates from the C library's heap while at least one conversion is inside (its default
    mimalloc/jemalloc pool keeps pages it freed, so a large run's conversion would hold its intermediate
    texts to the end: about 50 MiB a million rows).  Counted under a lock, so conversions overlapping in
    threads switch the process-wide default once and the last one out restores it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._previous: pa.MemoryPool | None = None

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._inside == 0:
                self._previous = pa.default_memory_pool()
                pa.set_memory_pool(pa.system_memory_pool())
            self._inside += 1
        try:
            yield
        finally:
            with self._lock:
                self._inside -= 1
                if self._inside == 0 and self._previous is not None:
                    pa.set_memory_pool(self._previous)
                    self._previous = None


system_allocator = SystemPool()  # one per process: it switches the process-wide pool


#: Rows from which the conversion allocates Arrow memory from the C heap and returns freed memory to the
#: system after each column (about 0.2 s a million rows; below this size the memory is not worth the time).
TRIM_ROWS = 500_000


def give_back_free_memory(large: bool) -> None:
    """Return memory that glibc's allocator keeps after large frees to the OS (no-op elsewhere).

    Converting a large run frees the run's column buffers while Arrow allocates
    the result's; without this the process would hold both at once.
    """
    if not large:
        return
    pa.default_memory_pool().release_unused()  # Arrow's own allocator (mimalloc or jemalloc) keeps freed pages otherwise
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _load_malloc_trim() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _load_malloc_trim()
