"""certctl's ``notification_events`` table and its repository methods, pure: no SimPy, no I/O.

The table mirrors certctl's Postgres table (``migrations/000001``, ``000016``,
``000017``); each method writes exactly the columns its certctl counterpart
writes (``internal/repository/postgres/notification.go``).  Every UPDATE is
scoped by id only and raises :class:`NotFound` when no row has that id.

Rows are stored by column in numpy arrays, so the engine can apply a
transition to one row (the ``*`` methods taking an id or a row number) or
to many rows at once (the ``*_many`` methods taking arrays of row numbers,
all distinct).  Low-cardinality text is stored as codes (:mod:`.columns`).

Ordering guarantees:

* :meth:`NotificationTable.list_pending` returns ``pending`` rows ordered
  ``sent_at DESC NULLS LAST`` (Go's zero time sorts below every real instant);
  ties — which certctl leaves unspecified — go to the row inserted first.
* :meth:`NotificationTable.list_retry_eligible` returns rows of the partial
  index ``status='failed' AND next_retry_at IS NOT NULL`` whose
  ``next_retry_at <= now`` and ``retry_count < max_attempts``, oldest
  ``next_retry_at`` first, ties to the row inserted first.

Both are served by lazy indexes (:mod:`.listing`): a transition costs
O(1) and a listing O(rows it touches).  Times are
simulation seconds (NaN is NULL, ``-inf`` Go's zero time).  See
``docs/certctl.md`` for the rules and ``docs/architecture.md`` for the layers.
"""

from __future__ import annotations

from array import array
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from ..certctl import CHANNELS, COLUMNS, GENERATED_ID_PREFIX, STATUSES, TYPES
from .alerts import AlertIndex
from .columns import NULL, Pool, TextColumn
from .listing import PendingIndex, RetryIndex
from .views import Notification, Rows

#: Status codes of the five certctl statuses (other status texts from initial rows get codes after them).
PENDING, SENT, FAILED, DEAD, READ = range(5)
_ALERT = TYPES.index("ExpirationWarning")
_NAN = float("nan")
_INT = np.int64
_POOL_OF = {"status": "statuses", "channel": "channels", "type": "types", "recipient": "recipients", "last_error": "texts", "error": "texts"}

_NUMERIC = {
    "status": np.int16,
    "channel": np.int16,
    "type": np.int16,
    "recipient": np.int32,
    "last_error": np.int32,
    "error": np.int32,
    "retry_count": np.int64,
    "next_retry_at": np.float64,
    "created_at": np.float64,
    "sent_at": np.float64,
    "id_ns": np.int64,
    "counter": np.int64,
}


class NotFound(KeyError):
    """certctl's ``notification not found``: an UPDATE matched no row."""

    def __str__(self) -> str:
        return f"notification not found: {self.args[0]}"


class NotificationTable:
    """The ``notification_events`` table with certctl's repository methods (postgres/notification.go).

    ``id_epoch_ns`` is the run's start in Unix nanoseconds: generated ids are
    ``notif-<id_epoch_ns + created_at in ns>-<counter>``, as certctl's
    ``generateID("notif")`` makes them.
    """

    # numeric columns (capacity-sized; rows 0 .. n-1 are in use); text columns are codes of the pools
    status: np.ndarray
    channel: np.ndarray
    type: np.ndarray
    recipient: np.ndarray
    last_error: np.ndarray
    error: np.ndarray
    retry_count: np.ndarray
    next_retry_at: np.ndarray
    created_at: np.ndarray
    sent_at: np.ndarray
    id_ns: np.ndarray
    counter: np.ndarray

    def __init__(self, id_epoch_ns: int = 0, capacity: int = 1024) -> None:
        self.id_epoch_ns = id_epoch_ns
        self.statuses = Pool(STATUSES)
        self.channels = Pool(CHANNELS)
        self.types = Pool(TYPES)
        self.recipients = Pool()
        self.texts = Pool()  # last_error and error
        self.certificate_ids = TextColumn()
        self.messages = TextColumn()
        self.n = 0
        self._cap = 0
        self.reserve(max(capacity, 1))
        self._given: dict[str, int] = {}  # ids given explicitly -> seq
        self._given_text: dict[int, str] = {}
        self._generated = array("q")  # n-1 -> seq of the row with the n-th generated id (8 bytes a row)
        self._pending = PendingIndex(self._cap)
        self._retry = RetryIndex()
        self._counts = np.zeros(8, np.int64)  # rows per status code
        self._stranded = 0  # failed rows with next_retry_at NULL
        self._alerts = AlertIndex()

    # -- storage -------------------------------------------------------------

    def reserve(self, need: int) -> None:
        """Room for ``need`` rows in all: the columns grow (at least twofold, each copied) when they have less."""
        if need <= self._cap:
            return
        cap = max(need, 2 * self._cap, 1024)
        n = self.n
        for name, dtype in _NUMERIC.items():
            new = np.empty(cap, dtype)
            if self._cap:
                new[:n] = getattr(self, name)[:n]
            setattr(self, name, new)
        if self._cap:
            self._pending.grow(cap, n)
        self._cap = cap

    def column(self, name: str, take: bool = False) -> np.ndarray:
        """The numeric column ``name`` of the rows in use (codes for text columns; NaN is NULL for times); ``take``: as
        an exact-size copy, the table letting go of its own (as a run's rows are copied out, before :meth:`clear`)."""
        values = getattr(self, name)[: self.n]
        if take:
            values = values.copy()
            setattr(self, name, values[:0])
        return values

    def value(self, seq: int, name: str) -> Any:
        """One column of one row as certctl has it: text as strings, times as seconds or None (NULL)."""
        if not 0 <= seq < self.n:
            raise IndexError(seq)
        if name == "id":
            return self.id_of(seq)
        pool = _POOL_OF.get(name)
        if pool is not None:
            return getattr(self, pool).text(int(getattr(self, name)[seq]))
        if name == "certificate_id":
            return self.certificate_ids[seq]
        if name == "message":
            return self.messages[seq]
        if name == "retry_count":
            return int(self.retry_count[seq])
        if name in ("next_retry_at", "created_at", "sent_at"):
            v = float(getattr(self, name)[seq])
            return None if v != v else v
        raise AttributeError(name)

    def row(self, seq: int) -> Notification:
        """The row inserted ``seq``-th (0-based), as a view."""
        return Notification(self, seq)

    @property
    def rows(self) -> Rows:
        """Every row in insertion order, as views (``rows[seq]``)."""
        return Rows(self)

    def __len__(self) -> int:
        return self.n

    # -- ids -------------------------------------------------------------------

    def id_of(self, seq: int) -> str:
        """The id of row ``seq``: as given, or certctl's ``notif-<UnixNano>-<counter>``."""
        counter = int(self.counter[seq])
        if not counter:
            return self._given_text[seq]
        return f"{GENERATED_ID_PREFIX}{int(self.id_ns[seq])}-{counter}"

    def seq_of(self, id: int | str) -> int:
        """The row number of ``id`` (a row number passes through), or :class:`NotFound`."""
        if isinstance(id, (int, np.integer)):
            if not 0 <= id < self.n:
                raise NotFound(id)
            return int(id)
        seq = self._given.get(id)
        if seq is not None:
            return seq
        if isinstance(id, str) and id.startswith(GENERATED_ID_PREFIX):
            stamp, _, counter = id[len(GENERATED_ID_PREFIX) :].partition("-")
            if counter.isdigit() and str(n := int(counter)) == counter and 1 <= n <= len(self._generated):
                seq = self._generated[n - 1]
                if stamp == str(int(self.id_ns[seq])):
                    return seq
        raise NotFound(id)

    def __contains__(self, id: str) -> bool:
        try:
            self.seq_of(id)
        except NotFound:
            return False
        return True

    def get(self, id: int | str) -> Notification:
        """The row with this id (or row number), or :class:`NotFound`."""
        return Notification(self, self.seq_of(id))

    # -- inserting ----------------------------------------------------------------

    def insert(self, **values: Any) -> Notification:
        """INSERT a row with every column given (how raw-SQL fixtures and snapshots enter)."""
        values = {name: values.get(name) for name in COLUMNS}
        if values["id"] is None:
            raise ValueError("insert needs an id; create() generates one")
        seq = self._append_one(
            id=values["id"],
            type=values["type"],
            certificate_id=values["certificate_id"],
            channel=values["channel"],
            recipient=values["recipient"],
            message=values["message"],
            status=values["status"],
            retry_count=values["retry_count"] or 0,
            next_retry_at=values["next_retry_at"],
            last_error=values["last_error"],
            error=values["error"],
            created_at=values["created_at"],
            sent_at=values["sent_at"],
        )
        return Notification(self, seq)

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

        Without ``id`` the row gets the service's ``notif-<UnixNano>-<counter>``,
        kept as its parts rather than as a string.
        """
        if id is None:
            return Notification(self, self.create_generated(now, type, channel, recipient, message, certificate_id))
        row = dict(type=type, certificate_id=certificate_id, channel=channel, recipient=recipient, message=message, status="pending", retry_count=0)
        return Notification(self, self._append_one(id=id, **row, next_retry_at=None, last_error=None, error=None, created_at=now, sent_at=None))

    def create_generated(self, now: float, type: str, channel: str, recipient: str, message: str, certificate_id: str | None) -> int:
        """:meth:`create` of a row with a generated id; returns its row number (the one-row path of a run)."""
        seq = self.n
        if seq >= self._cap:
            self.reserve(seq + 1)
        generated = self._generated
        generated.append(seq)
        self.counter[seq] = len(generated)
        self.id_ns[seq] = self.id_epoch_ns + round(now * 1e9)
        type_code = self.types.code(type)
        self.status[seq] = PENDING
        self.type[seq] = type_code
        self.channel[seq] = channel_code = self.channels.code(channel)
        self.recipient[seq] = self.recipients.code(recipient)
        self.last_error[seq] = self.error[seq] = NULL
        self.retry_count[seq] = 0
        self.next_retry_at[seq] = self.sent_at[seq] = _NAN
        self.created_at[seq] = now
        self._admit(seq, PENDING, type_code, channel_code, certificate_id, message)
        return seq

    def _append_one(
        self, *, id, type, certificate_id, channel, recipient, message, status, retry_count, next_retry_at, last_error, error, created_at, sent_at
    ) -> int:
        seq = self.n
        self.reserve(seq + 1)
        if id is None:
            self._generated.append(seq)
            self.counter[seq] = len(self._generated)
            self.id_ns[seq] = self.id_epoch_ns + round(created_at * 1e9)
        else:
            if id in self:
                raise ValueError(f"duplicate notification id {id!r}")
            self._given[id] = seq
            self._given_text[seq] = id
            self.counter[seq] = 0
            self.id_ns[seq] = 0
        status_code = self.statuses.code(status)
        type_code = self.types.code(type)
        channel_code = self.channels.code(channel)
        self.status[seq] = status_code
        self.type[seq] = type_code
        self.channel[seq] = channel_code
        self.recipient[seq] = self.recipients.code(recipient)
        self.last_error[seq] = self.texts.code(last_error)
        self.error[seq] = self.texts.code(error)
        self.retry_count[seq] = retry_count
        self.next_retry_at[seq] = _NAN if next_retry_at is None else next_retry_at
        self.created_at[seq] = _NAN if created_at is None else created_at
        self.sent_at[seq] = _NAN if sent_at is None else sent_at
        self._admit(seq, status_code, type_code, channel_code, certificate_id, message)
        return seq

    def _admit(self, seq: int, status: int, type: int, channel: int, certificate_id: str | None, message: str) -> None:
        """The last step of adding row ``seq`` (its numeric columns written): its texts, the row count, the indexes."""
        self.certificate_ids.append(certificate_id)
        self.messages.append(message)
        self.n = seq + 1
        self._enter(seq, status)
        if type == _ALERT:
            self._alerts.add(seq, certificate_id, message, channel)

    def create_many(
        self,
        now: np.ndarray,
        *,
        type: np.ndarray,
        channel: np.ndarray,
        recipient: np.ndarray,
        certificate_ids: Sequence[Any],
        messages: Sequence[Any],
        tagged: bool = True,
    ) -> np.ndarray:
        """``Create`` of many rows at once (codes for type, channel and recipient; text arrays for the rest).

        Returns their row numbers.  The rows get generated ids in order, as if created one by one; expiry alerts
        among them are indexed (and logged when ``pending`` is watched) as :meth:`create` does (``tagged=False``:
        no body carries a ``[threshold:N]`` tag, so none is searched for one)."""
        k = len(now)
        first = self.n
        self.reserve(first + k)
        seqs = np.arange(first, first + k, dtype=_INT)
        base = len(self._generated)
        self._generated.frombytes(seqs.tobytes())  # int64, as the array's "q": one copy, not int by int
        sl = slice(first, first + k)
        self.counter[sl] = np.arange(base + 1, base + k + 1, dtype=_INT)
        self.id_ns[sl] = self.id_epoch_ns + np.rint(np.asarray(now) * 1e9).astype(_INT)  # rint: np.round's half to even
        self.status[sl] = PENDING
        self.type[sl] = type
        self.channel[sl] = channel
        self.recipient[sl] = recipient
        self.last_error[sl] = NULL
        self.error[sl] = NULL
        self.retry_count[sl] = 0
        self.next_retry_at[sl] = _NAN
        self.created_at[sl] = now
        self.sent_at[sl] = _NAN
        self.certificate_ids.extend(certificate_ids)
        self.messages.extend(messages)
        self.n = first + k
        self._counts[PENDING] += k
        self._pending.enter_many(seqs, self.sent_at[sl])
        alerts = np.flatnonzero(self.type[sl] == _ALERT)
        if len(alerts):  # expiry alerts: indexed (by the texts given, not copies read back), logged as taking pending
            self._alerts.add_many(first, alerts, certificate_ids, messages, self.channel[sl], PENDING, tagged)
        return seqs

    # -- index upkeep ----------------------------------------------------------------

    def _count_slot(self, code: int) -> None:
        if code >= len(self._counts):
            counts = np.zeros(max(code + 1, 2 * len(self._counts)), np.int64)
            counts[: len(self._counts)] = self._counts
            self._counts = counts

    def _enter(self, seq: int, code: int) -> None:
        """Row ``seq`` has just taken status ``code`` (with its current sent_at and next_retry_at): count and index it."""
        self._count_slot(code)
        self._counts[code] += 1
        if code == PENDING:
            self._pending.enter(seq, float(self.sent_at[seq]))
        elif code == FAILED:
            nra = float(self.next_retry_at[seq])
            if nra != nra:
                self._stranded += 1
            else:
                self._retry.enter(nra, seq)
        if self._alerts.watching and self.type[seq] == _ALERT:
            self._alerts.took(seq, code)

    def _leave(self, seq: int, code: int) -> None:
        """Row ``seq`` is about to lose status ``code``: uncount it (lazy indexes drop it when listed)."""
        self._counts[code] -= 1
        if code == FAILED and self.next_retry_at[seq] != self.next_retry_at[seq]:
            self._stranded -= 1

    def _update(self, seq: int, status: int | None = None, **changes: float | int | None) -> Notification:
        """Write columns of row ``seq`` (``status`` is a code; times: None is NULL), keeping counts and indexes."""
        old = int(self.status[seq])
        self._leave(seq, old)
        for name, value in changes.items():
            getattr(self, name)[seq] = _NAN if value is None else value
        new = old if status is None else status
        self.status[seq] = new
        self._enter(seq, new)
        return Notification(self, seq)

    # -- repository methods (one row, by id or row number) -----------------------------

    def update_status(self, id: int | str, status: str, sent_at: float | None) -> Notification:
        """``UpdateStatus``: writes ``status`` and ``sent_at``, nothing else."""
        return self._update(self.seq_of(id), self.statuses.code(status), sent_at=sent_at)

    def record_failed_attempt(self, id: int | str, last_error: str, next_retry_at: float) -> Notification:
        """``RecordFailedAttempt``: ``retry_count + 1`` (server side), ``last_error``, ``next_retry_at``; status untouched."""
        seq = self.seq_of(id)
        return self._update(seq, retry_count=int(self.retry_count[seq]) + 1, last_error=self.texts.code(last_error), next_retry_at=next_retry_at)

    def mark_as_dead(self, id: int | str, last_error: str) -> Notification:
        """``MarkAsDead``: ``status='dead'``, ``next_retry_at`` NULL, ``last_error``; ``retry_count`` kept."""
        return self._update(self.seq_of(id), DEAD, next_retry_at=None, last_error=self.texts.code(last_error))

    def requeue(self, id: int | str, retry_count: int = 0) -> Notification:
        """``Requeue``: ``status='pending'``, ``retry_count`` 0, ``next_retry_at``/``last_error`` NULL; no status guard.

        A ``retry_count`` other than 0 is not certctl's: it writes a Sidekiq-style
        requeue (one more attempt, policy ``requeue_mode``).
        """
        return self._update(self.seq_of(id), PENDING, retry_count=retry_count, next_retry_at=None, last_error=NULL)

    def strand(self, id: int | str, last_error: str) -> Notification:
        """``next_retry_at`` NULL and ``last_error`` (not certctl's: a failure the retry quota refused to retry)."""
        return self._update(self.seq_of(id), next_retry_at=None, last_error=self.texts.code(last_error))

    def clear_retry_fields(self, id: int | str) -> Notification:
        """Clear ``next_retry_at`` and ``last_error`` (the I-005 intent on success; not in certctl's code)."""
        return self._update(self.seq_of(id), next_retry_at=None, last_error=NULL)

    # -- many rows at once (distinct row numbers) ----------------------------------

    def update_many(self, seqs: np.ndarray, status: int | np.ndarray | None = None, **changes: Any) -> None:
        """Write columns of the distinct rows ``seqs`` (values: scalars or arrays; NaN is NULL), keeping counts and indexes."""
        if not len(seqs):
            return
        old = self.status[seqs]
        if self._stranded and (was_failed := old == FAILED).any():  # (no stranded row: no failed row has it NULL)
            self._stranded -= int(np.count_nonzero(np.isnan(self.next_retry_at[seqs[was_failed]])))
        gone = np.bincount(old)
        self._counts[: len(gone)] -= gone
        for name, value in changes.items():
            getattr(self, name)[seqs] = value
        if status is not None:
            self.status[seqs] = status
        new: np.ndarray | None = None  # each row's new status (None: every row takes ``code``)
        if isinstance(status, (int, np.integer)):  # every row takes the same status
            code = int(status)
            self._count_slot(code)
            self._counts[code] += len(seqs)
            pending, failed = (seqs if code == PENDING else seqs[:0]), (seqs if code == FAILED else seqs[:0])
        else:
            new = self.status[seqs]
            came = np.bincount(new)
            self._count_slot(len(came) - 1)
            self._counts[: len(came)] += came
            pending, failed = seqs[new == PENDING], seqs[new == FAILED]
        if len(pending):
            self._pending.enter_many(pending, self.sent_at[pending])
        if len(failed):
            nra = self.next_retry_at[failed]
            stranded = np.isnan(nra)
            if stranded.any():
                self._stranded += int(np.count_nonzero(stranded))
                nra, failed = nra[~stranded], failed[~stranded]
            if len(failed):
                self._retry.enter_many(nra, failed)
        if self._alerts.watching and (new is not None or self._alerts.logs(code)):  # a status not logged: nothing to do
            alert = self.type[seqs] == _ALERT
            self._alerts.took_many(seqs[alert], code if new is None else new[alert])

    # -- listing ---------------------------------------------------------------------

    def list_pending(self, limit: int) -> list[Notification]:
        """``List{Status: pending}``: up to ``limit`` rows, ``sent_at DESC NULLS LAST``, ties by insertion."""
        return [Notification(self, s) for s in self.pending_seqs(limit).tolist()]

    def pending_seqs(self, limit: int) -> np.ndarray:
        """Row numbers of :meth:`list_pending`."""
        return self._pending.first(limit, self.status, self.sent_at, PENDING)

    def list_retry_eligible(self, now: float, max_attempts: int, limit: int) -> list[Notification]:
        """``ListRetryEligible``: failed, ``next_retry_at <= now``, ``retry_count < max_attempts``; oldest first.

        ``limit <= 0`` means 1000, as in certctl's repository.
        """
        return [Notification(self, s) for s in self.retry_eligible_seqs(now, max_attempts, limit).tolist()]

    def retry_eligible_seqs(self, now: float, max_attempts: int, limit: int) -> np.ndarray:
        """Row numbers of :meth:`list_retry_eligible`."""
        if limit <= 0:
            limit = 1000
        return self._retry.due(now, limit, max_attempts, self.status, self.next_retry_at, self.retry_count, FAILED)

    def has_pending(self) -> bool:
        """Whether any row is ``pending``."""
        return bool(self._counts[PENDING])

    def first_retry_due(self) -> float:
        """The earliest ``next_retry_at`` of a ``failed`` row (``inf`` when none): no retry listing before it finds a row."""
        return self._retry.first_due(self.status, self.next_retry_at, FAILED)

    def list_by_status(self, status: str, limit: int | None = None, offset: int = 0) -> list[Notification]:
        """``List{Status: status}``: rows in ``sent_at DESC NULLS LAST`` order, ties by insertion; a page of them.

        ``status`` is a certctl status or ``"stranded"`` (failed with
        ``next_retry_at`` NULL, as a client filtering the ``failed`` list on
        that field sees them); ``limit`` ``None`` means every row from
        ``offset``.  For operators, who look rarely: it scans the table.
        """
        n = self.n
        st = self.status[:n]
        if status == "stranded":
            mask = (st == FAILED) & np.isnan(self.next_retry_at[:n])
        else:
            code = self.statuses.find(status)
            if code is None:
                return []
            mask = st == code
        seqs = np.flatnonzero(mask)
        if not len(seqs):
            return []
        sent = self.sent_at[seqs]
        null = np.isnan(sent)
        key = np.where(null, 0.0, -sent)  # -inf (Go zero) becomes +inf: after every real instant
        order = np.lexsort((seqs, key, null))
        seqs = seqs[order]
        page = seqs[offset:] if limit is None else seqs[offset : offset + limit]
        return [Notification(self, int(s)) for s in page]

    def has_threshold_notification_on_channel(self, certificate_id: str, threshold: int, channel: str, statuses: Collection[str] = STATUSES) -> bool:
        """``HasThresholdNotificationOnChannel`` (renewal.go, ``sendThresholdAlerts``): does an alert row suppress a new one?

        certctl lists ``type='ExpirationWarning'``, this ``certificate_id`` and
        ``channel``, ``message LIKE '%[threshold:N]%'`` with **no** status
        filter, so a row of any status dedups: ``statuses`` = all five
        (certctl as built), which also counts rows whose status text is none
        of certctl's five.  A smaller ``statuses`` counts only rows in one of
        them (the policy's ``dedup_statuses``).  O(rows with this key).
        """
        code = self.channels.find(channel)
        if code is None:
            return False
        seqs = self._alerts.rows(certificate_id, threshold, code)
        if not seqs:
            return False
        codes = self._alerts.codes(statuses)
        if codes is None:
            return True
        status = self.status
        return any(int(status[s]) in codes for s in seqs)

    def watch_alerts(self, suppressing: Collection[str]) -> bool:
        """Keep the alert log: every time an ``ExpirationWarning`` row takes a status *not* in ``suppressing``.

        Those are the rows that stop suppressing a new alert under a dedup
        reading (``suppressing`` = the policy's ``dedup_statuses``), so a
        fleet revisits their certificates by reading the log
        (:meth:`alert_log_since`) instead of scanning the table.  A row
        created ``pending`` counts as taking ``pending``.  With all five
        statuses suppressing (certctl as built) nothing is logged: returns False.
        """
        self._alerts.watch(suppressing)
        return self._alerts.watching

    def alert_log_since(self, cursor: int) -> tuple[list[int], int]:
        """Row numbers logged from position ``cursor`` of the alert log (:meth:`watch_alerts`) on, and the log's end.

        Start with cursor 0 and pass back the end returned; the entries before
        ``cursor`` are dropped (they have been read).
        """
        return self._alerts.since(cursor)

    def count_by_status(self, status: str) -> int:
        """``CountByStatus``: rows whose status equals ``status`` exactly."""
        code = self.statuses.find(status)
        return 0 if code is None else int(self._counts[code])

    def counts(self) -> dict[str, int]:
        """Rows per canonical status plus ``stranded`` (failed with ``next_retry_at`` NULL)."""
        out = {status: int(self._counts[i]) for i, status in enumerate(STATUSES)}
        out["stranded"] = self._stranded
        return out

    def drop_indexes(self) -> None:
        """Let go of the listing and alert indexes (once the run is over: only the rows are read after it)."""
        watched = self._alerts.watched
        self._pending, self._retry, self._alerts = PendingIndex(0), RetryIndex(), AlertIndex()
        if watched is not None:
            self.watch_alerts(watched)

    def clear(self) -> None:
        """Drop every row and index (used once a run's rows have been copied out); the id epoch and the alert watch stay."""
        watched = self._alerts.watched
        NotificationTable.__init__(self, self.id_epoch_ns)
        if watched is not None:
            self.watch_alerts(watched)
