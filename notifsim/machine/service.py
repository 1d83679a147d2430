"""certctl's notification service: which transition a Send's result causes, under a policy.

:class:`NotificationService` mirrors the decisions of certctl's
``sendNotification``, ``RetryFailedNotifications`` and
``RequeueNotification`` (``internal/service/notification.go``) on a
:class:`~notifsim.machine.table.NotificationTable`.  The transitions
(``docs/certctl.md`` has the full table):

=====  ==================  =======  ==============================================
T1     (none)              pending  ``create``
T2/T3  pending (or any)    sent     send ok / no notifier for the channel
T4     pending (or any)    failed   send error; ``sent_at`` = Go zero time
T5/T6  failed (armed)      sent     retry sweep: send ok / no notifier
T7     failed (armed)      failed   retry sweep: error, ``retry_count`` + 1, re-armed
T8     failed (armed)      dead     retry sweep: error at ``retry_count >= max-1``
T9     any                 pending  ``requeue``
T10    any                 read     ``mark_as_read``
=====  ==================  =======  ==============================================

Every decision exists twice: for one row (``finish_send``, ``finish_retry``,
... taking an id or a row number) and for many distinct rows at once
(``finish_many``, ``finish_no_notifier_many`` taking arrays), with the same
arithmetic, so both give the same table value for value.  Pure: no clock,
no randomness of its own, no I/O; the engine passes the time a Send
returned and the uniform draws a policy needs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np

from ..policy import Policy
from ..timeutil import ZERO_TIME
from .columns import NULL
from .table import DEAD, FAILED, PENDING, READ, SENT, Notification, NotificationTable

_NAN = float("nan")


class RequeueRefused(Exception):
    """The service refused a requeue (only with ``requeue_any_status`` off, for sent/read rows)."""


class NotificationService:
    """certctl's notification service decisions after a ``Send`` returns.

    Call :meth:`finish_send` after a send of a listed or freshly created row
    (``sendNotification``), :meth:`finish_retry` after a send made by the
    retry sweep (``RetryFailedNotifications``), :meth:`finish_no_notifier`
    when the channel has no notifier.  ``now`` is the time the send returned:
    certctl stamps ``sent_at`` and ``next_retry_at`` after the send.

    A failure that reaches the retry decision (every retry-sweep failure; a
    first failure only with ``arm_first_failure``) is decided in this order,
    each step only when the policy enables it (certctl: steps 2 and 4 only):

    1. the error matches ``permanent_errors`` → ``dead`` (also for an
       unarmed first failure);
    2. ``retry_count_before >= max_attempts - 1`` → ``dead`` (T8);
    3. the channel's retry quota cannot pay :meth:`Policy.retry_cost
       <notifsim.policy.Policy.retry_cost>` → ``dead`` or stranded
       (``retry_quota_empty``); otherwise the cost is taken;
    4. ``next_retry_at`` = now + :meth:`Policy.delay
       <notifsim.policy.Policy.delay>` of the listed ``retry_count``, the
       send's ``retry_after`` and the caller's uniform ``jitter_u`` (T7);
       ``retry_count`` becomes the row's current value + 1 (server side).

    A successful send refunds the quota (what the row's last retry cost,
    else ``retry_quota_refund``).  :attr:`decisions` counts the outcomes of
    the steps (``dead_permanent``, ``dead_exhausted``, ``quota_empty``,
    ``retries_scheduled``).  The quota is sequential state shared by a
    channel's rows, so it is decided one row at a time only.
    """

    def __init__(self, table: NotificationTable, policy: Policy, notifier_channels: Iterable[str]):
        self.table = table
        self.policy = policy
        channels = set(notifier_channels)
        if not policy.webhook_notifier:
            channels.discard("Webhook")
        self.notifier_channels = frozenset(channels)
        self.decisions: Counter[str] = Counter()
        self._classify = bool(policy.permanent_errors)
        self._permanent: dict[int, bool] = {}  # error code -> matches permanent_errors
        self._decorrelated = policy.jitter == "decorrelated"
        self._quota: dict[str, int] | None = {} if policy.retry_quota > 0 else None
        self._acquired: dict[int, int] = {}  # seq -> tokens its last retry took (refunded if it then succeeds)
        self._last_wait = np.full(1024, _NAN)  # per seq: its last wait (decorrelated jitter), NaN: none

    # -- notifiers, quota ----------------------------------------------------------

    def quota_tokens(self, channel: str) -> int | None:
        """Tokens left in ``channel``'s retry quota (``None`` when the policy has no quota)."""
        if self._quota is None:
            return None
        return self._quota.get(channel, self.policy.retry_quota)

    def has_notifier(self, channel: str) -> bool:
        """True when a notifier is registered for exactly this channel name (case-sensitive)."""
        return channel in self.notifier_channels

    def notifier_codes(self) -> np.ndarray:
        """Per channel code of the table: whether it has a notifier (for decisions on many rows)."""
        texts = self.table.channels.texts
        return np.array([t in self.notifier_channels for t in texts], dtype=bool)

    def is_permanent_code(self, code: int) -> bool:
        """Whether the error text with this code matches ``permanent_errors``."""
        hit = self._permanent.get(code)
        if hit is None:
            text = self.table.texts.text(code)
            hit = self._permanent[code] = bool(self._classify and text is not None and self.policy.is_permanent(text))
        return hit

    def _last_wait_of(self, seq: int) -> float | None:
        if seq >= len(self._last_wait):
            return None
        v = float(self._last_wait[seq])
        return None if v != v else v

    def _remember_wait(self, seqs: np.ndarray | int, waits: np.ndarray | float) -> None:
        top = int(np.max(seqs)) + 1 if np.ndim(seqs) else int(seqs) + 1
        if top > len(self._last_wait):
            grown = np.full(max(top, 2 * len(self._last_wait)), _NAN)
            grown[: len(self._last_wait)] = self._last_wait
            self._last_wait = grown
        self._last_wait[seqs] = waits

    def _forget(self, seq: int) -> None:
        self._acquired.pop(seq, None)
        if seq < len(self._last_wait):
            self._last_wait[seq] = _NAN

    # -- one row ---------------------------------------------------------------------

    def finish_no_notifier(self, id: int | str, now: float) -> Notification:
        """T3/T6: no notifier for the channel: ``sent`` at ``now`` without any delivery."""
        return self.table._update(self.table.seq_of(id), SENT, sent_at=now)

    def finish_send(self, id: int | str, error: str | None, now: float, *, retry_after: float | None = None, jitter_u: float | None = None) -> Notification:
        """``sendNotification`` after ``Send``: T2 on success, T4 on error.

        With ``arm_first_failure`` the failure also arms the retry path exactly
        like a retry-sweep failure at the row's current ``retry_count``.
        ``retry_after`` (seconds the server asked to wait) and ``jitter_u``
        (a uniform in [0, 1), needed when the policy jitters) feed that
        decision; see the class docstring.
        """
        seq = self.table.seq_of(id)
        if error is None:
            return self._succeeded(seq, now)
        code = self.table.texts.code(error)
        if self.policy.arm_first_failure:
            return self._failed_attempt(seq, int(self.table.retry_count[seq]), code, now, retry_after, jitter_u, first=True)
        if self._classify and self.is_permanent_code(code):
            self.decisions["dead_permanent"] += 1
            return self.table._update(seq, DEAD, sent_at=ZERO_TIME, next_retry_at=None, last_error=code)
        return self.table._update(seq, FAILED, sent_at=ZERO_TIME)

    def finish_retry(
        self, id: int | str, retry_count_before: int, error: str | None, now: float, *, retry_after: float | None = None, jitter_u: float | None = None
    ) -> Notification:
        """``RetryFailedNotifications`` after ``Send``: T5 on success, else T7 or, when exhausted, T8.

        ``retry_count_before`` is the value listed at the start of the sweep
        (certctl's backoff and exhaustion use the listed row, pre-increment).
        ``retry_after`` and ``jitter_u`` as for :meth:`finish_send`.
        """
        seq = self.table.seq_of(id)
        if error is None:
            return self._succeeded(seq, now)
        return self._failed_attempt(seq, retry_count_before, self.table.texts.code(error), now, retry_after, jitter_u, first=False)

    def _succeeded(self, seq: int, now: float) -> Notification:
        """T2/T5: ``sent`` at ``now``; the quota refund; the row's retry memory forgotten."""
        quota = self._quota
        if quota is not None:
            acquired = self._acquired.pop(seq, None)
            refund = self.policy.retry_quota_refund if acquired is None else acquired
            channel = self.table.value(seq, "channel")
            capacity = self.policy.retry_quota
            quota[channel] = min(capacity, quota.get(channel, capacity) + refund)
        if seq < len(self._last_wait):
            self._last_wait[seq] = _NAN
        if self.policy.success_clears_retry_fields:
            return self.table._update(seq, SENT, sent_at=now, next_retry_at=None, last_error=NULL)
        return self.table._update(seq, SENT, sent_at=now)

    def _failed_attempt(self, seq: int, rc: int, code: int, now: float, retry_after: float | None, jitter_u: float | None, *, first: bool) -> Notification:
        """The retry decision for one failure; ``first``: the failed first send also writes ``failed`` and zero time."""
        policy, table, decisions = self.policy, self.table, self.decisions
        base: dict = {"sent_at": ZERO_TIME} if first else {}
        status = FAILED if first else None
        if self._classify and self.is_permanent_code(code):
            self._forget(seq)
            decisions["dead_permanent"] += 1
            return table._update(seq, DEAD, next_retry_at=None, last_error=code, **base)
        if policy.exhausted(rc):
            self._forget(seq)
            decisions["dead_exhausted"] += 1
            return table._update(seq, DEAD, next_retry_at=None, last_error=code, **base)
        quota = self._quota
        if quota is not None:
            channel = table.value(seq, "channel")
            error = table.texts.text(code) or ""
            cost = policy.retry_cost(error)
            tokens = quota.get(channel, policy.retry_quota)
            if tokens < cost:  # RetryQuotaReached: the failure is not retried
                self._forget(seq)
                decisions["quota_empty"] += 1
                if policy.retry_quota_empty == "dead":
                    return table._update(seq, DEAD, next_retry_at=None, last_error=code, **base)
                return table._update(seq, status, next_retry_at=None, last_error=code, **base)
            quota[channel] = tokens - cost
            self._acquired[seq] = cost
        decisions["retries_scheduled"] += 1
        previous = self._last_wait_of(seq) if self._decorrelated else None
        wait = policy.delay(rc, jitter_u, previous, retry_after)
        if self._decorrelated:
            self._remember_wait(seq, wait)
        return table._update(seq, status, retry_count=int(table.retry_count[seq]) + 1, last_error=code, next_retry_at=now + wait, **base)

    def move_to_pending(self, id: int | str) -> Notification:
        """The sweep of certctl's scheduler comment (``retry_via_pending``): a due failed row goes back to
        ``pending`` for the process loop, its other columns unchanged."""
        return self.table._update(self.table.seq_of(id), PENDING)

    def requeue_notification(self, id: int | str) -> Notification:
        """``RequeueNotification`` (T9).  certctl accepts any status; with ``requeue_any_status`` off,
        ``sent`` and ``read`` rows are refused with :class:`RequeueRefused`.

        ``requeue_mode`` ``"reset"`` writes ``retry_count`` 0 (certctl);
        ``"one_more"`` writes ``max_attempts - 1`` (Sidekiq's Retry from the
        dead set), so once the row is armed its next failure is exhausted:
        exactly one more attempt.  Either way ``next_retry_at`` and
        ``last_error`` become NULL and the row is ``pending`` again.
        """
        seq = self.table.seq_of(id)
        status = int(self.table.status[seq])
        if not self.policy.requeue_any_status and status in (SENT, READ):
            raise RequeueRefused(
                f"notification {self.table.id_of(seq)} is {self.table.value(seq, 'status')}; only pending, failed or dead rows can be requeued"
            )
        self._forget(seq)
        rc = self.policy.max_attempts - 1 if self.policy.requeue_mode == "one_more" else 0
        return self.table.requeue(seq, retry_count=rc)

    def mark_as_read(self, id: int | str, now: float) -> Notification:
        """``MarkAsRead`` (T10): ``status='read'``, ``sent_at`` = now, from any status."""
        return self.table._update(self.table.seq_of(id), READ, sent_at=now)

    # -- many distinct rows at once ---------------------------------------------------

    def finish_no_notifier_many(self, seqs: np.ndarray, now: np.ndarray) -> None:
        """:meth:`finish_no_notifier` for many distinct rows."""
        self.table.update_many(seqs, SENT, sent_at=now)

    def finish_many(
        self,
        seqs: np.ndarray,
        retry: np.ndarray,
        rc_before: np.ndarray,
        codes: np.ndarray,
        now: np.ndarray,
        retry_after: np.ndarray,
        jitter_u: np.ndarray | None,
    ) -> None:
        """:meth:`finish_send` (``retry`` False) or :meth:`finish_retry` (``retry`` True) for many distinct rows.

        ``codes`` are error codes of the table's text pool (``NULL``: the Send
        returned no error); ``retry_after`` and ``jitter_u`` NaN where absent.
        Not for policies with a retry quota (sequential state).
        """
        if self._quota is not None:
            raise RuntimeError("a retry quota is decided one row at a time")
        if not len(seqs):
            return
        policy, table = self.policy, self.table
        ok = codes == NULL
        every_ok = bool(ok.all())
        if every_ok or ok.any():
            s, t = (seqs, now) if every_ok else (seqs[at := np.flatnonzero(ok)], now[at])
            if self._decorrelated:  # only decorrelated jitter remembers waits (else every entry stays NaN)
                inside = s[s < len(self._last_wait)]
                self._last_wait[inside] = _NAN
            if policy.success_clears_retry_fields:
                table.update_many(s, SENT, sent_at=t, next_retry_at=_NAN, last_error=NULL)
            else:
                table.update_many(s, SENT, sent_at=t)
        if every_ok:
            return
        bad = ~ok
        if bad.all():
            u = jitter_u
        else:  # positions, not the mask: numpy indexes several arrays by positions faster
            at = np.flatnonzero(bad)
            seqs, retry, rc_before, codes, now, retry_after = seqs[at], retry[at], rc_before[at], codes[at], now[at], retry_after[at]
            u = None if jitter_u is None else jitter_u[at]
        if not policy.arm_first_failure:
            self._unarmed_failures(seqs, retry, rc_before, codes, now, retry_after, u)
            return
        self._armed_failures(seqs, ~retry, rc_before, codes, now, retry_after, u)

    def _unarmed_failures(
        self, seqs: np.ndarray, retry: np.ndarray, rc_before: np.ndarray, codes: np.ndarray, now: np.ndarray, retry_after: np.ndarray, u: np.ndarray | None
    ) -> None:
        """Failed Sends (distinct rows) under a policy whose first failure does not arm the retry path: a first
        failure (certctl as built) is failed with zero time, or dead when classified permanent; a retry's failure
        goes down the retry path."""
        first = ~retry
        if first.any():
            s, c = seqs[first], codes[first]
            perm = self._permanent_mask(c)
            if perm.any():
                self.decisions["dead_permanent"] += int(perm.sum())
                self.table.update_many(s[perm], DEAD, sent_at=ZERO_TIME, next_retry_at=_NAN, last_error=c[perm])
            if (~perm).any():
                self.table.update_many(s[~perm], FAILED, sent_at=ZERO_TIME)
        if retry.any():
            self._armed_failures(seqs[retry], first[retry], rc_before[retry], codes[retry], now[retry], retry_after[retry], None if u is None else u[retry])

    def _armed_failures(
        self, seqs: np.ndarray, first: np.ndarray, rc_before: np.ndarray, codes: np.ndarray, now: np.ndarray, retry_after: np.ndarray, u: np.ndarray | None
    ) -> None:
        """Failed Sends (distinct rows) that go down the retry path: dead, or failed with a next try."""
        policy, table = self.policy, self.table
        rc = np.where(first, table.retry_count[seqs], rc_before)
        exhausted = rc >= policy.max_attempts - 1
        if self._classify:
            perm = self._permanent_mask(codes)
            exhausted &= ~perm
            dead = perm | exhausted
        else:
            perm, dead = None, exhausted
        self.decisions["dead_permanent"] += 0 if perm is None else int(perm.sum())
        self.decisions["dead_exhausted"] += int(np.count_nonzero(exhausted))
        any_dead = bool(dead.any())
        if any_dead:
            s = seqs[dead]
            if self._decorrelated:
                inside = s[s < len(self._last_wait)]
                self._last_wait[inside] = _NAN
            f = first[dead]
            if f.any():
                table.update_many(s[f], DEAD, sent_at=ZERO_TIME, next_retry_at=_NAN, last_error=codes[dead][f])
            if (~f).any():
                table.update_many(s[~f], DEAD, next_retry_at=_NAN, last_error=codes[dead][~f])
        if any_dead:
            live = ~dead
            if not live.any():
                return
            s, f, rc, codes, now, retry_after = seqs[live], first[live], rc[live], codes[live], now[live], retry_after[live]
            u = None if u is None else u[live]
        else:
            s, f = seqs, first
        self.decisions["retries_scheduled"] += len(s)
        previous = None
        if self._decorrelated:
            previous = np.full(len(s), _NAN)
            inside = s < len(self._last_wait)
            previous[inside] = self._last_wait[s[inside]]
        wait = policy.delays(rc, u, previous, retry_after)
        if self._decorrelated:
            self._remember_wait(s, wait)
        nra = now + wait
        new_rc = table.retry_count[s] + 1
        every_first = bool(f.all())
        if every_first:
            table.update_many(s, FAILED, sent_at=ZERO_TIME, retry_count=new_rc, last_error=codes, next_retry_at=nra)
            return
        if f.any():
            a = np.flatnonzero(f)
            table.update_many(s[a], FAILED, sent_at=ZERO_TIME, retry_count=new_rc[a], last_error=codes[a], next_retry_at=nra[a])
        r = np.flatnonzero(~f)
        table.update_many(s[r], None, retry_count=new_rc[r], last_error=codes[r], next_retry_at=nra[r])

    def _permanent_mask(self, codes: np.ndarray) -> np.ndarray:
        if not self._classify:
            return np.zeros(len(codes), dtype=bool)
        return np.fromiter((self.is_permanent_code(int(c)) for c in codes), dtype=bool, count=len(codes))
