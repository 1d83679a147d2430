"""certctl's ``notification_events`` table and its repository methods, pure: no SimPy, no I/O.

The table mirrors certctl's Postgres table (``migrations/000001``, ``000016``,
``000017``); each method writes exactly the columns its certctl counterpart
writes (``internal/repository/postgres/notification.go``).  Every UPDATE is
scoped by id only and raises :class:`NotFound` when no row has that id.

Ordering guarantees, kept by two indexes so a tick costs O(rows it touches):

* :meth:`NotificationTable.list_pending` returns ``pending`` rows ordered
  ``sent_at DESC NULLS LAST`` (Go's zero time sorts below every real instant);
  ties — which certctl leaves unspecified — go to the row inserted first.
* :meth:`NotificationTable.list_retry_eligible` returns rows of the partial
  index ``status='failed' AND next_retry_at IS NOT NULL`` whose
  ``next_retry_at <= now`` and ``retry_count < max_attempts``, oldest
  ``next_retry_at`` first, ties to the row inserted first.

Times are simulation seconds (NaN is NULL, ``-inf`` Go's zero time).  See
``docs/certctl.md`` for the rules and ``docs/architecture.md`` for the layers.
"""

from __future__ import annotations

from array import array
from collections import Counter
from typing import Any

from sortedcontainers import SortedList

from ..certctl import COLUMNS, GENERATED_ID_PREFIX, STATUSES, THRESHOLD_TAG

_RECENT_IDS = 4096


class NotFound(KeyError):
    """certctl's ``notification not found``: an UPDATE matched no row."""

    def __str__(self) -> str:
        return f"notification not found: {self.args[0]}"


_STRING_COLUMNS = ("id", "type", "certificate_id", "channel", "recipient", "message", "status", "last_error", "error")
_TIME_COLUMNS = ("next_retry_at", "created_at", "sent_at")
_NULL = float("nan")


class Notification:
    """A view of one row of ``notification_events``: its columns as attributes; ``seq`` is its insertion order.

    Views are cheap and read the table's columns, so a view taken before an
    update shows the row as it is now.  Change rows through the table's
    methods only.
    """

    __slots__ = ("_table", "seq")

    def __init__(self, table: NotificationTable, seq: int):
        self._table = table
        self.seq = seq

    def __getattr__(self, name: str) -> Any:
        table = object.__getattribute__(self, "_table")
        seq = object.__getattribute__(self, "seq")
        if name == "id":
            return table.id_of(seq)
        column = table._columns.get(name)
        if column is None:
            raise AttributeError(name)
        value = column[seq]
        if name in _TIME_COLUMNS and value != value:  # NaN stores NULL
            return None
        return value

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COLUMNS}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Notification) and other._table is self._table and other.seq == self.seq

    def __hash__(self) -> int:
        return hash((id(self._table), self.seq))

    def __repr__(self) -> str:
        return f"Notification({self.id!r}, {self.channel}, {self.status}, rc={self.retry_count}, nra={self.next_retry_at})"


class NotificationTable:
    """The ``notification_events`` table with certctl's repository methods (postgres/notification.go).

    Stored by column: strings in lists (shared text such as a status or a
    channel costs one reference a row), ``retry_count`` and the three
    timestamps in typed arrays (NaN is NULL, ``-inf`` Go's zero time).
    Every UPDATE is scoped by id only (no status predicate) and raises
    :class:`NotFound` when the id does not exist.
    """

    def __init__(self, id_epoch_ns: int = 0) -> None:
        self.id_epoch_ns = id_epoch_ns
        self._columns: dict[str, Any] = {name: [] for name in _STRING_COLUMNS}
        self._id_counter = array("q")  # per row: n for the n-th generated id, 0 for an id given explicitly
        self._generated = array("q")  # n-1 -> seq of the row with the n-th generated id
        self._columns["retry_count"] = array("q")
        for name in _TIME_COLUMNS:
            self._columns[name] = array("d")
        self._by_id: dict[str, int] = {}  # explicitly given ids only; generated ids are parsed
        self._recent_ids: dict[str, int] = {}  # generated ids handed out lately (a bounded cache of the parse)
        self._pending = SortedList()  # (NULL sent_at?, -sent_at, seq) of pending rows: sent_at DESC NULLS LAST
        self._retry = SortedList()  # (next_retry_at, seq) of failed rows with next_retry_at set
        self._counts: Counter[str] = Counter()
        self._stranded = 0  # failed rows with next_retry_at NULL
        # (certificate_id, threshold digits, channel) -> seqs of ExpirationWarning rows (renewal.go sendThresholdAlerts dedup)
        self._threshold_rows: dict[tuple[str, str, str], list[int]] = {}
        #: seqs of ExpirationWarning rows, appended each time such a row is written with status 'failed'
        #: (a workload that re-dispatches failed alerts reads it from a cursor instead of scanning the table)
        self.failed_alert_log: list[int] = []

    def row(self, seq: int) -> Notification:
        """The row inserted ``seq``-th (0-based), as a view."""
        return Notification(self, seq)

    @property
    def rows(self) -> _Rows:
        """Every row in insertion order, as views (``rows[seq]``)."""
        return _Rows(self)

    def column(self, name: str):
        """The stored column ``name`` (a list, or an array of floats where NaN is NULL)."""
        return self._columns[name]

    # -- ids ------------------------------------------------------------------

    def id_of(self, seq: int) -> str:
        """The id of row ``seq``: as given, or certctl's ``notif-<UnixNano>-<counter>`` made from its ``created_at``."""
        counter = self._id_counter[seq]
        if not counter:
            return self._columns["id"][seq]
        id = f"{GENERATED_ID_PREFIX}{self.id_epoch_ns + round(self._columns['created_at'][seq] * 1e9)}-{counter}"
        if len(self._recent_ids) >= _RECENT_IDS:
            self._recent_ids.clear()
        self._recent_ids[id] = seq  # the caller usually updates the row by this id soon: skip the parse then
        return id

    def _seq_of(self, id: str) -> int | None:
        seq = self._by_id.get(id)
        if seq is None:
            seq = self._recent_ids.get(id)
        if seq is not None or not isinstance(id, str) or not id.startswith(GENERATED_ID_PREFIX):
            return seq
        stamp, _, counter = id[len(GENERATED_ID_PREFIX) :].partition("-")
        if not counter.isdigit() or not 1 <= (n := int(counter)) <= len(self._generated) or str(n) != counter:
            return None
        seq = self._generated[n - 1]
        return seq if stamp == str(self.id_epoch_ns + round(self._columns["created_at"][seq] * 1e9)) else None

    def generated_ids(self) -> tuple[Any, Any, Any]:
        """``(ids, counters, created_at)`` columns from which every id can be rebuilt without one string a row:
        ``ids[seq]`` is the given id or ``None``; ``counters[seq]`` the generated counter or 0."""
        return self._columns["id"], self._id_counter, self._columns["created_at"]

    # -- index maintenance -------------------------------------------------

    def _index(self, seq: int, delta: int) -> None:
        """Add (``delta=1``) or remove (``-1``) row ``seq`` from the indexes and counts."""
        cols = self._columns
        status = cols["status"][seq]
        if status == "pending":
            sent_at = cols["sent_at"][seq]
            key = (1, 0.0, seq) if sent_at != sent_at else (0, -sent_at, seq)
            self._pending.add(key) if delta > 0 else self._pending.remove(key)
        elif status == "failed":
            nra = cols["next_retry_at"][seq]
            if nra != nra:
                self._stranded += delta
            elif delta > 0:
                self._retry.add((nra, seq))
            else:
                self._retry.remove((nra, seq))
            if delta > 0 and cols["type"][seq] == "ExpirationWarning":
                self.failed_alert_log.append(seq)
        self._counts[status] += delta

    def _update(self, id: str, **changes: Any) -> Notification:
        seq = self._seq_of(id)
        if seq is None:
            raise NotFound(id)
        self._index(seq, -1)
        cols = self._columns
        for name, value in changes.items():
            cols[name][seq] = _NULL if value is None and name in _TIME_COLUMNS else value
        self._index(seq, +1)
        return Notification(self, seq)

    # -- repository methods ---------------------------------------------------

    def insert(self, **values: Any) -> Notification:
        """INSERT a row with every column given (how raw-SQL fixtures and snapshots enter)."""
        values = {name: values.get(name) for name in COLUMNS}
        values["retry_count"] = values["retry_count"] or 0
        return Notification(self, self._append(**values))

    def create(
        self,
        now: float,
        *,
        type: str,
        channel: str,
        recipient: str,
        message: str = "",
        certificate_id: str | None = None,
        id: str | None = None,
    ) -> Notification:
        """certctl ``Create`` (T1): a ``pending`` row; ``retry_count`` 0, ``next_retry_at``/``last_error`` NULL.

        Without ``id`` the row gets the service's ``notif-<UnixNano>-<counter>``
        (:meth:`id_of`), kept as its parts rather than as a string.
        """
        seq = self._append(id, type, certificate_id, channel, recipient, message, "pending", 0, None, None, None, now, None)
        return Notification(self, seq)

    def _append(self, id, type, certificate_id, channel, recipient, message, status, retry_count, next_retry_at, last_error, error, created_at, sent_at) -> int:
        """Append one row (arguments in :data:`COLUMNS` order; ``id`` None generates one), index it, return its seq."""
        cols = self._columns
        seq = len(cols["id"])
        if id is None:
            self._generated.append(seq)
            self._id_counter.append(len(self._generated))
        else:
            if id in self:
                raise ValueError(f"duplicate notification id {id!r}")
            self._by_id[id] = seq
            self._id_counter.append(0)
        cols["id"].append(id)
        cols["type"].append(type)
        cols["certificate_id"].append(certificate_id)
        cols["channel"].append(channel)
        cols["recipient"].append(recipient)
        cols["message"].append(message)
        cols["status"].append(status)
        cols["retry_count"].append(retry_count)
        cols["next_retry_at"].append(_NULL if next_retry_at is None else next_retry_at)
        cols["last_error"].append(last_error)
        cols["error"].append(error)
        cols["created_at"].append(_NULL if created_at is None else created_at)
        cols["sent_at"].append(_NULL if sent_at is None else sent_at)
        self._index(seq, +1)
        if type == "ExpirationWarning" and certificate_id is not None and message:
            for digits in THRESHOLD_TAG.findall(message):
                self._threshold_rows.setdefault((certificate_id, digits, channel), []).append(seq)
        return seq

    def get(self, id: str) -> Notification:
        """The row with this id, or :class:`NotFound`."""
        seq = self._seq_of(id)
        if seq is None:
            raise NotFound(id)
        return Notification(self, seq)

    def __contains__(self, id: str) -> bool:
        return self._seq_of(id) is not None

    def __len__(self) -> int:
        return len(self._columns["id"])

    def clear(self) -> None:
        """Drop every row and index (used once a run's rows have been copied out); the id epoch stays."""
        NotificationTable.__init__(self, self.id_epoch_ns)

    def drop_indexes(self) -> None:
        """Forget the id, pending, retry and dedup indexes (rows stay); the table can no longer be queried."""
        self._by_id = {}
        self._recent_ids = {}
        self._pending = SortedList()
        self._retry = SortedList()
        self._threshold_rows = {}
        self.failed_alert_log = []

    def take_column(self, name: str):
        """Remove column ``name`` from the table and return it (for copying a finished run out)."""
        column = self._columns[name]
        self._columns[name] = None
        return column

    def update_status(self, id: str, status: str, sent_at: float | None) -> Notification:
        """``UpdateStatus``: writes ``status`` and ``sent_at``, nothing else."""
        return self._update(id, status=status, sent_at=sent_at)

    def record_failed_attempt(self, id: str, last_error: str, next_retry_at: float) -> Notification:
        """``RecordFailedAttempt``: ``retry_count + 1`` (server side), ``last_error``, ``next_retry_at``; status untouched."""
        row = self.get(id)
        return self._update(id, retry_count=row.retry_count + 1, last_error=last_error, next_retry_at=next_retry_at)

    def mark_as_dead(self, id: str, last_error: str) -> Notification:
        """``MarkAsDead``: ``status='dead'``, ``next_retry_at`` NULL, ``last_error``; ``retry_count`` kept."""
        return self._update(id, status="dead", next_retry_at=None, last_error=last_error)

    def requeue(self, id: str, retry_count: int = 0) -> Notification:
        """``Requeue``: ``status='pending'``, ``retry_count`` 0, ``next_retry_at``/``last_error`` NULL; no status guard.

        A ``retry_count`` other than 0 is not certctl's: it writes a Sidekiq-style
        requeue (one more attempt, policy ``requeue_mode``).
        """
        return self._update(id, status="pending", retry_count=retry_count, next_retry_at=None, last_error=None)

    def strand(self, id: str, last_error: str) -> Notification:
        """``next_retry_at`` NULL and ``last_error`` (not certctl's: a failure the retry quota refused to retry)."""
        return self._update(id, next_retry_at=None, last_error=last_error)

    def clear_retry_fields(self, id: str) -> Notification:
        """Clear ``next_retry_at`` and ``last_error`` (the I-005 intent on success; not in certctl's code)."""
        return self._update(id, next_retry_at=None, last_error=None)

    def list_pending(self, limit: int) -> list[Notification]:
        """``List{Status: pending}``: up to ``limit`` rows, ``sent_at DESC NULLS LAST``, ties by insertion."""
        return [Notification(self, key[2]) for key in self._pending.islice(0, limit)]

    def list_retry_eligible(self, now: float, max_attempts: int, limit: int) -> list[Notification]:
        """``ListRetryEligible``: failed, ``next_retry_at <= now``, ``retry_count < max_attempts``; oldest first.

        ``limit <= 0`` means 1000, as in certctl's repository.
        """
        if limit <= 0:
            limit = 1000
        out: list[Notification] = []
        retry_count = self._columns["retry_count"]
        for _nra, seq in self._retry.irange(maximum=(now, len(self))):
            if retry_count[seq] < max_attempts:
                out.append(Notification(self, seq))
                if len(out) >= limit:
                    break
        return out

    def list_by_status(self, status: str, limit: int | None = None, offset: int = 0) -> list[Notification]:
        """``List{Status: status}``: rows in ``sent_at DESC NULLS LAST`` order, ties by insertion; a page of them.

        ``status`` is a certctl status or ``"stranded"`` (failed with
        ``next_retry_at`` NULL, as a client filtering the ``failed`` list on
        that field sees them); ``limit`` ``None`` means every row from
        ``offset``.  For operators, who look rarely: it scans the table
        (O(rows)) unless no row has the status.
        """
        wanted = self._stranded if status == "stranded" else self._counts[status]
        if not wanted:
            return []
        statuses, nra, sent = self._columns["status"], self._columns["next_retry_at"], self._columns["sent_at"]
        if status == "stranded":
            seqs = [seq for seq, value in enumerate(statuses) if value == "failed" and nra[seq] != nra[seq]]
        else:
            seqs = [seq for seq, value in enumerate(statuses) if value == status]
        # sent_at DESC NULLS LAST (NaN is NULL), Go's zero time (-inf) after every real instant; stable: insertion order
        seqs.sort(key=lambda seq: (True, 0.0) if sent[seq] != sent[seq] else (False, -sent[seq]))
        page = seqs[offset:] if limit is None else seqs[offset : offset + limit]
        return [Notification(self, seq) for seq in page]

    def has_threshold_notification_on_channel(self, certificate_id: str, threshold: int, channel: str, any_status: bool = True) -> bool:
        """``HasThresholdNotificationOnChannel`` (renewal.go sendThresholdAlerts step 5): does an alert row exist for this key?

        certctl lists ``type='ExpirationWarning'``, this ``certificate_id`` and
        ``channel``, ``message LIKE '%[threshold:N]%'`` with **no** status
        filter, so a row of any status dedups (``any_status=True``, certctl as
        built).  ``any_status=False`` is the documented intent: rows with
        status ``'failed'`` do not count.  O(rows with this key), via an index
        kept on insert.
        """
        seqs = self._threshold_rows.get((certificate_id, str(threshold), channel))
        if not seqs:
            return False
        if any_status:
            return True
        status = self._columns["status"]
        return any(status[seq] != "failed" for seq in seqs)

    def count_by_status(self, status: str) -> int:
        """``CountByStatus``: rows whose status equals ``status`` exactly."""
        return self._counts[status]

    def counts(self) -> dict[str, int]:
        """Rows per canonical status plus ``stranded`` (failed with ``next_retry_at`` NULL)."""
        out = {status: self._counts[status] for status in STATUSES}
        out["stranded"] = self._stranded
        return out


class _Rows:
    """``table.rows``: a read-only sequence of row views."""

    __slots__ = ("_table",)

    def __init__(self, table: NotificationTable):
        self._table = table

    def __len__(self) -> int:
        return len(self._table)

    def __getitem__(self, seq: int) -> Notification:
        if not -len(self) <= seq < len(self):
            raise IndexError(seq)
        return Notification(self._table, seq % len(self))

    def __iter__(self):
        table = self._table
        return (Notification(table, seq) for seq in range(len(table)))
