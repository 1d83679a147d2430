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

Pure: no clock, no randomness of its own, no I/O; the engine passes the time
a Send returned and the uniform draws a policy needs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ..policy import Policy
from ..timeutil import ZERO_TIME
from .table import Notification, NotificationTable


class RequeueRefused(Exception):
    """The service refused a requeue (only with ``requeue_any_status`` off, for sent/read rows)."""


class NotificationService:
    """certctl's notification service decisions after a ``Send`` returns (service/notification.go; RequeueNotification).

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
       send's ``retry_after`` and the caller's uniform ``jitter_u`` (T7).

    A successful send refunds the quota (what the row's last retry cost,
    else ``retry_quota_refund``).  :attr:`decisions` counts the outcomes of
    the steps (``permanent``, ``exhausted``, ``quota_empty``, ``retry``).
    The quota and the per-row memory of decorrelated jitter live here: no
    clock, no randomness of its own.
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
        self._decorrelated = policy.jitter == "decorrelated"
        self._quota: dict[str, int] | None = {} if policy.retry_quota > 0 else None
        self._acquired: dict[str, int] = {}  # id -> tokens its last retry took (refunded if it then succeeds)
        self._last_wait: dict[str, float] = {}  # id -> its last wait (decorrelated jitter)

    def quota_tokens(self, channel: str) -> int | None:
        """Tokens left in ``channel``'s retry quota (``None`` when the policy has no quota)."""
        if self._quota is None:
            return None
        return self._quota.get(channel, self.policy.retry_quota)

    def has_notifier(self, channel: str) -> bool:
        """True when a notifier is registered for exactly this channel name (case-sensitive)."""
        return channel in self.notifier_channels

    def finish_no_notifier(self, id: str, now: float) -> Notification:
        """T3/T6: no notifier for the channel: ``sent`` at ``now`` without any delivery."""
        return self.table.update_status(id, "sent", now)

    def finish_send(self, id: str, error: str | None, now: float, *, retry_after: float | None = None, jitter_u: float | None = None) -> Notification:
        """``sendNotification`` after ``Send``: T2 on success, T4 on error.

        With ``arm_first_failure`` the failure also arms the retry path exactly
        like a retry-sweep failure at the row's current ``retry_count``.
        ``retry_after`` (seconds the server asked to wait) and ``jitter_u``
        (a uniform in [0, 1), needed when the policy jitters) feed that
        decision; see the class docstring.
        """
        table = self.table
        if error is None:
            self._succeeded(id)
            row = table.update_status(id, "sent", now)
            if self.policy.success_clears_retry_fields:
                row = table.clear_retry_fields(id)
            return row
        row = table.update_status(id, "failed", ZERO_TIME)
        if self.policy.arm_first_failure:
            row = self._failed_attempt(id, row.retry_count, error, now, retry_after, jitter_u)
        elif self._classify and self.policy.is_permanent(error):
            self.decisions["permanent"] += 1
            row = table.mark_as_dead(id, error)
        return row

    def finish_retry(
        self, id: str, retry_count_before: int, error: str | None, now: float, *, retry_after: float | None = None, jitter_u: float | None = None
    ) -> Notification:
        """``RetryFailedNotifications`` after ``Send``: T5 on success, else T7 or, when exhausted, T8.

        ``retry_count_before`` is the value listed at the start of the sweep
        (certctl's backoff and exhaustion use the listed row, pre-increment).
        ``retry_after`` and ``jitter_u`` as for :meth:`finish_send`.
        """
        if error is None:
            self._succeeded(id)
            row = self.table.update_status(id, "sent", now)
            if self.policy.success_clears_retry_fields:
                row = self.table.clear_retry_fields(id)
            return row
        return self._failed_attempt(id, retry_count_before, error, now, retry_after, jitter_u)

    def _succeeded(self, id: str) -> None:
        """A send of row ``id`` returned no error: refund the quota, forget the row's retry memory."""
        self._last_wait.pop(id, None)
        quota = self._quota
        if quota is None:
            return
        acquired = self._acquired.pop(id, None)
        refund = self.policy.retry_quota_refund if acquired is None else acquired
        channel = self.table.get(id).channel
        capacity = self.policy.retry_quota
        quota[channel] = min(capacity, quota.get(channel, capacity) + refund)

    def _forget(self, id: str) -> None:
        self._acquired.pop(id, None)
        self._last_wait.pop(id, None)

    def _failed_attempt(
        self, id: str, retry_count_before: int, error: str, now: float, retry_after: float | None = None, jitter_u: float | None = None
    ) -> Notification:
        policy, table, decisions = self.policy, self.table, self.decisions
        if self._classify and policy.is_permanent(error):
            self._forget(id)
            decisions["permanent"] += 1
            return table.mark_as_dead(id, error)
        if policy.exhausted(retry_count_before):
            self._forget(id)
            decisions["exhausted"] += 1
            return table.mark_as_dead(id, error)
        quota = self._quota
        if quota is not None:
            channel = table.get(id).channel
            cost = policy.retry_cost(error)
            tokens = quota.get(channel, policy.retry_quota)
            if tokens < cost:  # RetryQuotaReached: the failure is not retried
                self._forget(id)
                decisions["quota_empty"] += 1
                if policy.retry_quota_empty == "dead":
                    return table.mark_as_dead(id, error)
                return table.strand(id, error)
            quota[channel] = tokens - cost
            self._acquired[id] = cost
        decisions["retry"] += 1
        if self._decorrelated:
            wait = policy.delay(retry_count_before, jitter_u, self._last_wait.get(id), retry_after)
            self._last_wait[id] = wait
        else:
            wait = policy.delay(retry_count_before, jitter_u, None, retry_after)
        return table.record_failed_attempt(id, error, now + wait)

    def requeue_notification(self, id: str) -> Notification:
        """``RequeueNotification`` (T9).  certctl accepts any status; with ``requeue_any_status`` off,
        ``sent`` and ``read`` rows are refused with :class:`RequeueRefused`.

        ``requeue_mode`` ``"reset"`` writes ``retry_count`` 0 (certctl);
        ``"one_more"`` writes ``max_attempts - 1`` (Sidekiq's Retry from the
        dead set), so once the row is armed its next failure is exhausted:
        exactly one more attempt.  Either way ``next_retry_at`` and
        ``last_error`` become NULL and the row is ``pending`` again.
        """
        row = self.table.get(id)
        if not self.policy.requeue_any_status and row.status in ("sent", "read"):
            raise RequeueRefused(f"notification {id} is {row.status}; only pending, failed or dead rows can be requeued")
        self._forget(id)
        if self.policy.requeue_mode == "one_more":
            return self.table.requeue(id, retry_count=self.policy.max_attempts - 1)
        return self.table.requeue(id)

    def mark_as_read(self, id: str, now: float) -> Notification:
        """``MarkAsRead`` (T10): ``status='read'``, ``sent_at`` = now, from any status."""
        return self.table.update_status(id, "read", now)
