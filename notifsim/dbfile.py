"""The results file on disk: what kind of file it is, and waiting while another process holds it.

DuckDB lets one process at a time open a file for writing; another process
that tries gets "Could not set lock on file".  :func:`connect` waits for
such a file, retrying with backoff for up to ``lock_timeout`` seconds
(:data:`LOCK_TIMEOUT_S` by default) and saying once on stderr that it is
waiting; after that it raises :class:`DatabaseBusy`.  :func:`check_kind`
tells a DuckDB file from anything else by its header, without opening it,
so it works even while the file is locked.
"""

from __future__ import annotations

import contextlib
import logging
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from .errors import ConfigError

#: Where the library says what it is doing (the CLI shows it on stderr; Python shows warnings by default).
LOG = logging.getLogger("notifsim")

#: How long a write waits for a file another process holds (seconds).
LOCK_TIMEOUT_S = 60.0

#: The bytes at offset 8 of every DuckDB database file.
_MAGIC = b"DUCK"
_HOLDER = re.compile(r"PID (\d+)")


class DatabaseBusy(ConfigError):
    """Another process held the file for longer than the lock timeout."""

    def __init__(self, path: Path, waited: float, holder: str):
        self.path = path
        self.waited = waited
        super().__init__("db", f"{str(path)!r} is held by another process{holder} and was not released within {waited:g} s")


def is_locked_error(exc: BaseException) -> bool:
    """Whether a DuckDB error says another process holds the file's lock."""
    return isinstance(exc, duckdb.Error) and "Could not set lock" in str(exc)


def holder_of(exc: BaseException) -> str:
    """`` (PID 1234)`` when DuckDB names the process holding the lock, else an empty string."""
    match = _HOLDER.search(str(exc))
    return f" (PID {match.group(1)})" if match else ""


def check_kind(path: Path) -> None:
    """Refuse an existing file that is not a DuckDB database (read from its header, so a locked file is fine)."""
    try:
        with path.open("rb") as f:
            head = f.read(12)
    except OSError as exc:
        raise ConfigError("db", f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    if not head:
        raise ConfigError("db", f"{str(path)!r} is an empty file, not a DuckDB database; delete it or give a new path")
    if head[8:12] != _MAGIC:
        raise ConfigError("db", f"{str(path)!r} is not a DuckDB database (no DuckDB header); give a new path such as data/notifsim.duckdb")


def connect(
    path: Path,
    read_only: bool = False,
    *,
    lock_timeout: float | None = LOCK_TIMEOUT_S,
) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file at ``path``, waiting up to ``lock_timeout`` seconds (``None`` or 0: not at all)
    while another process holds it (said once on the ``notifsim`` logger); :class:`DatabaseBusy` after that,
    :class:`ConfigError` for any other failure."""
    timeout = check_lock_timeout(lock_timeout)
    started = time.monotonic()
    delay = 0.05
    said = False
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.Error as exc:
            if not is_locked_error(exc):
                raise ConfigError("db", f"cannot open {str(path)!r} as a DuckDB file: {str(exc).splitlines()[0]}") from None
            waited = time.monotonic() - started
            if waited >= timeout:
                raise DatabaseBusy(path, timeout, holder_of(exc)) from None
            if not said:
                LOG.warning(f"waiting for {str(path)!r}: held by another process{holder_of(exc)}; giving up after {timeout:g} s")
                said = True
            time.sleep(min(delay, timeout - waited))
            delay = min(delay * 2, 1.0)
    con.execute("SET TimeZone = 'UTC'")  # TIMESTAMPTZ comes back in the session zone: make it UTC
    _check_whole(con, path)
    return con


#: Bytes before a DuckDB file's first block: its main header and two database headers.
_HEADERS = 3 * 4096


def _check_whole(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """:class:`ConfigError` (the connection closed) when the file is shorter than the blocks its header says are in
    use: cut short by a copy or a full disk, it would fail on the first read of a missing block."""
    block_size, blocks = con.execute("SELECT block_size, used_blocks FROM pragma_database_size()").fetchone() or (0, 0)
    expected = _HEADERS + int(block_size) * int(blocks)  # at least its blocks in use (free ones at the end may be absent)
    size = path.stat().st_size if path.exists() else expected
    if blocks and size < expected:
        con.close()
        raise ConfigError("db", f"{str(path)!r} is cut short: it holds {size:,} bytes, less than its {blocks} blocks in use; restore a copy or give a new path")


def check_lock_timeout(value: object, field: str = "lock_timeout") -> float:
    """Seconds to wait for a held file: a number in [0, 86400] (``None`` means 0)."""
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 86400:
        raise ConfigError(field, f"must be a number of seconds in [0, 86400]; got {value!r}")
    return float(value)


class InterruptedAfterWrite(KeyboardInterrupt):
    """Ctrl-C arrived while a write committed: the write is done, then the interrupt goes on."""


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C back while a transaction commits, then raise it (:class:`InterruptedAfterWrite`): a write is
    never cut in the middle.

    Only the main thread receives signals; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise InterruptedAfterWrite
