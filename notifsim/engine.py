"""SimPy wiring: the two scheduler loops, creators' immediate sends, the operator and a sampler.

When things happen (``docs/certctl.md`` gives the certctl files behind each rule):

* Both loops run once at the start and then every ``process_interval`` /
  ``retry_interval`` seconds on a fixed grid.  A tick that arrives while the
  previous run of the same loop is still going is **skipped** (recorded with
  ``skipped=True``), never queued.
* A tick lists its rows once, at its start, then sends them one after the
  other, each send taking its latency.  Each tick has a deadline
  (``process_deadline`` / ``retry_deadline`` after its start).  From the
  deadline on, an HTTP send fails at once with ``context deadline exceeded``
  and delivers nothing; a send still in flight is cut at the deadline; and
  every row write fails, so the row stays as it was.  Email ignores the
  deadline (it is delivered late) but its row write still fails.
* Creators insert a ``pending`` row and send it at once in their own process
  with their own deadline, so a process tick that lists the row while that
  send is in flight sends it a second time: the double-send race.
* A send returning at the same instant as a tick boundary is written before
  the tick lists rows only if its event was scheduled first (SimPy's FIFO
  order for simultaneous events); the order is deterministic.
* After a failed send the service decides the row's fate (machine.py) from
  the error text, the ``Retry-After`` the channel returned and one uniform
  from the keyed ``jitter`` stream, addressed by the same key as the Send's
  outcome (notification + attempt number): two policies on one seed draw
  the same jitter for the same attempt.
* Workloads and operators touch the run only through
  :class:`~notifsim.hooks.WorkloadHooks` and :class:`~notifsim.hooks.OperatorHooks`:
  operators see what a person could (the rows a list call returns now, the
  outcomes of each channel's most recent Sends, whether the channel's
  provider is in an outage now).
"""

from __future__ import annotations

import datetime as dt
import math
from array import array
from collections import Counter, deque
from collections.abc import Generator
from typing import Any

import simpy

from .certctl import CLIENT_TIMEOUT_S, DEADLINE_ERROR, EMAIL_QUIT_ERROR, HTTP_CHANNELS, timeout_error
from .hooks import Run
from .machine import NotFound, NotificationService, NotificationTable, RequeueRefused
from .operators import HEALTH_WINDOW
from .policy import Policy
from .record import Recorder
from .scenario import Scenario
from .streams import KeyedUniform, Streams, mix64, stable_key
from .timeutil import datetime_to_us


class Simulation:
    """One run: a scenario under a policy, for ``horizon_s`` seconds, on one seed."""

    def __init__(self, scenario: Scenario, policy: Policy, *, seed: int, horizon_s: float, initial_rows: list[dict], sample_interval: float):
        self.scenario = scenario
        self.policy = policy
        self.horizon_s = horizon_s
        self.sample_interval = sample_interval
        self.streams = Streams(seed)
        self.env = simpy.Environment()
        self._start_ns = datetime_to_us(scenario.start) * 1000
        self.table = NotificationTable(id_epoch_ns=self._start_ns)
        self.service = NotificationService(self.table, policy, scenario.channels)
        self.recorder = Recorder()
        self.channels = {name: model.bind(name, self.streams) for name, model in scenario.channels.items()}
        self.db = scenario.database.bind(self.streams)
        self._quit_defect = policy.email_quit_defect
        self._running = {"process": False, "retry": False}
        self._open_ticks: dict[str, tuple[int, int, int, bool]] = {}  # loop -> (tick index, rows, sends, deadline hit)
        self._keys = array("Q")  # per notification seq: a key stable across policies (streams.stable_key)
        self._sends_started = array("q")  # per notification seq: Send calls begun, numbering attempts
        self._jitter = self.streams.keyed("jitter")  # one uniform per failed Send, keyed like its outcome
        self._draw_jitter = policy.needs_jitter_draw
        self._recent: dict[str, deque[bool]] = {name: deque(maxlen=HEALTH_WINDOW) for name in self.channels}  # True: the Send returned no error
        self._runs: list[Run] = []  # the bound workload and operator
        for row in initial_rows:
            self.table.insert(**row)
            self.recorder.notification("initial")
            self._keys.append(stable_key("initial", row["id"]))
            self._sends_started.append(0)

    # -- what creators do (through _WorkloadHooks) ---------------------------------

    def create(self, *, type: str, channel: str, recipient: str, message: str, certificate_id: str | None, deadline: float):
        """certctl ``Create`` then an immediate send in the creator's own process (T1, then T2/T3/T4)."""
        rows = self.create_batch([dict(type=type, channel=channel, recipient=recipient, message=message, certificate_id=certificate_id)], deadline)
        return rows[0] if rows else None

    def create_batch(self, specs: list[dict], deadline: float) -> list:
        """Several ``Create`` calls, then their sends one after another in one creator process.

        This is how a revocation fans out (service/notification.go creators): the Webhook row and the
        Email row are inserted first, then sent in that order.  ``deadline``
        is the creator's context in seconds.
        """
        now = self.env.now
        if not self.db.available(now):  # the first Create fails: the creator returns its error, nothing is sent
            self.recorder.lost_creations += len(specs)
            return []
        created = [(self._insert(now, spec), spec) for spec in specs]
        pending: list[tuple[int, str, str, str]] = []
        for (seq, nid), spec in created:
            if pending or self.service.has_notifier(spec["channel"]):
                pending.append((seq, nid, spec["channel"], spec["recipient"]))
            elif self.db.write_ok(now):  # nothing to wait for: the no-notifier write happens at once
                self.service.finish_no_notifier(nid, now)
        if pending:
            self.env.process(self._creator_sends(pending, now + deadline))
        return [self.table.row(seq) for (seq, _), _ in created]

    def create_and_send(self, deadline: float, *, type: str, channel: str, recipient: str, message: str, certificate_id: str | None):
        """``Create`` then ``sendNotification`` of one row, inside the *calling* process (a generator).

        For creators that loop and send each row before creating the next
        (``SendThresholdAlertOnChannel`` per alert in the renewal check,
        ``SendRenewalNotification`` / ``SendDeploymentNotification`` in the job
        processor, service/notification.go creators; renewal.go sendThresholdAlerts): ``row = yield from sim.create_and_send(...)``
        so the sends of one creator run one after the other on its context.
        When the context has expired (``now >= deadline``) ``Create`` fails:
        no row, returns ``None``.  The send and its status write follow the
        deadline rules of :meth:`create_batch`.
        """
        now = self.env.now
        if now >= deadline:
            return None
        if not self.db.available(now):
            self.recorder.lost_creations += 1
            return None
        seq, nid = self._insert(now, dict(type=type, channel=channel, recipient=recipient, message=message, certificate_id=certificate_id))
        yield from self._send_and_write(seq, nid, channel, recipient, "create", 0, deadline)
        return self.table.row(seq)

    def _insert(self, now: float, spec: dict) -> tuple[int, str]:
        """``Create`` one row with a certctl-style id (``notif-<UnixNano>-<counter>``); its seq and id."""
        seq = self.table.create(now, **spec).seq
        nid = self.table.id_of(seq)
        self.recorder.notification("created")
        # the same alert created at the same instant gets the same key under every policy
        self._keys.append(stable_key(round(now * 1e6), spec["type"], spec["channel"], spec["recipient"], spec.get("certificate_id"), spec.get("message")))
        self._sends_started.append(0)
        return seq, nid

    def _u(self, error: str | None, key: int) -> float | None:
        """The jitter uniform of the Send with this key, drawn only when a failure needs one."""
        return self._jitter(key) if error is not None and self._draw_jitter else None

    # -- what an operator can see and do (through _OperatorHooks) --------------------

    @property
    def now(self) -> float:
        """Simulation seconds since the scenario's start."""
        return self.env.now

    def list_notifications(self, status: str, limit: int | None = None, offset: int = 0) -> list | None:
        """certctl's ``GET /notifications?status=...`` now: rows in ``sent_at DESC NULLS LAST`` order.

        ``status`` is a certctl status or ``"stranded"`` (failed rows with
        ``next_retry_at`` NULL).  Returns ``None`` when the database is down
        (the list call fails).  The rows are read-only views of the table.
        """
        if not self.db.available(self.env.now):
            return None
        return self.table.list_by_status(status, limit, offset)

    def recent_sends(self, channel: str, k: int) -> list[bool]:
        """The outcomes of the last ``k`` (at most :data:`HEALTH_WINDOW`) Sends on ``channel``, oldest first; True = no error."""
        recent = self._recent.get(channel)
        if not recent or k <= 0:
            return []
        return list(recent)[-k:]

    def channel_in_outage(self, channel: str) -> bool:
        """Whether ``channel``'s failure model is in an outage (down state or window) now, as a status page would say."""
        state = self.channels.get(channel)
        check = getattr(state, "in_outage", None)
        return bool(check(self.env.now)) if check is not None else False

    def requeue(self, nid: str) -> str:
        """An operator's ``POST /notifications/{id}/requeue`` at the current time (T9); returns the recorded outcome
        (``requeued``, ``refused``, ``error`` or ``not_found``)."""
        return self._act("requeue", nid)

    def mark_as_read(self, nid: str) -> str:
        """An operator's ``POST /notifications/{id}/read`` at the current time (T10); returns the recorded outcome."""
        return self._act("read", nid)

    def _act(self, action: str, nid: str) -> str:
        now = self.env.now
        try:
            row = self.table.get(nid)
        except NotFound:
            self.recorder.action(nid, now, action, None, None, "not_found", None)
            return "not_found"
        from_status, rc_before = row.status, row.retry_count
        if not self.db.write_ok(now):  # certctl answers 500 and the row is unchanged
            self.recorder.action(nid, now, action, from_status, rc_before, "error", row.seq)
            return "error"
        try:
            if action == "requeue":
                self.service.requeue_notification(nid)
                outcome = "requeued"
            else:
                self.service.mark_as_read(nid, now)
                outcome = "read"
        except RequeueRefused:
            outcome = "refused"
        self.recorder.action(nid, now, action, from_status, rc_before, outcome, row.seq)
        return outcome

    # -- running ----------------------------------------------------------------

    def run(self) -> None:
        env, policy = self.env, self.policy
        env.process(self._loop("process", policy.process_interval))
        env.process(self._loop("retry", policy.retry_interval))
        if self.scenario.workload is not None:
            workload = self.scenario.workload.bind(_WorkloadHooks(self))
            self._runs.append(workload)
            env.process(workload.process())
        if self.scenario.operator is not None:
            operator = self.scenario.operator.bind(_OperatorHooks(self))
            self._runs.append(operator)
            env.process(operator.process())
        env.process(self._sampler())
        env.run(until=self.horizon_s)
        # ticks still running at the horizon keep duration NULL and their counts so far
        for index, rows, sends, hit in self._open_ticks.values():
            self.recorder.update_tick(index, rows, sends, hit)

    def _loop(self, loop: str, interval: float):
        """Ticks at 0, interval, 2·interval, ...; skipped while the previous run is still going."""
        env = self.env
        k = 0
        while True:
            if self._running[loop]:
                self.recorder.open_tick(loop, env.now, skipped=True)
            else:
                self._running[loop] = True
                env.process(self._tick(loop))
            k += 1
            yield env.timeout(k * interval - env.now)

    def _tick(self, loop: str):
        """One run of a loop: list rows once at the start, then send them one by one.

        ``process`` is ``ProcessPendingNotifications`` (up to ``pending_batch``
        pending rows, ``sent_at DESC NULLS LAST``); ``retry`` is
        ``RetryFailedNotifications`` (armed failed rows due at the tick's
        start, oldest first, up to ``sweep_limit``).  The retry count used for
        backoff and exhaustion is the one listed at the start.
        """
        env, policy, table = self.env, self.policy, self.table
        start = env.now
        index = self.recorder.open_tick(loop, start)
        if not self.db.available(start):  # List fails: the service returns its error with zero sends
            self.recorder.close_tick(index, 0, 0, start, False, error=f"failed to list notifications: {self.db.error}")
            self._running[loop] = False
            return
        if loop == "process":
            deadline = start + policy.process_deadline
            rows = table.list_pending(policy.pending_batch)
        else:
            deadline = start + policy.retry_deadline
            rows = table.list_retry_eligible(start, policy.max_attempts, policy.sweep_limit)
        listed = [(r.seq, r.id, r.channel, r.recipient, r.retry_count) for r in rows]
        sends, hit = 0, False
        self._open_ticks[loop] = (index, len(listed), 0, False)
        for seq, nid, channel, recipient, rc in listed:
            sent, refused = yield from self._send_and_write(seq, nid, channel, recipient, loop, rc, deadline)
            sends += sent
            hit = hit or refused
            self._open_ticks[loop] = (index, len(listed), sends, hit)
        del self._open_ticks[loop]
        self.recorder.close_tick(index, len(listed), sends, env.now, hit)
        self._running[loop] = False

    def _creator_sends(self, rows: list[tuple], deadline: float) -> Generator[Any, Any, None]:
        """The creator's synchronous ``sendNotification`` for each row it just created, in order."""
        for seq, nid, channel, recipient in rows:
            yield from self._send_and_write(seq, nid, channel, recipient, "create", 0, deadline)

    def _send_and_write(
        self, seq: int, nid: str, channel: str, recipient: str, loop: str, rc_before: int, deadline: float
    ) -> Generator[Any, Any, tuple[bool, bool]]:
        """One row through ``sendNotification`` (creators, the process loop) or the retry sweep's body.

        Without a notifier for the channel the row is marked ``sent`` (T3/T6);
        otherwise the notifier's Send runs (:meth:`_send`) and the service
        writes the outcome.  The write happens on the caller's context: at or
        after ``deadline`` it fails, as does a write the database refuses, and
        the row stays as it was.  Returns ``(sent, refused)``: whether a Send
        was made, and whether the expired context refused the write.
        """
        env, service = self.env, self.service
        if not service.has_notifier(channel):
            if env.now >= deadline:
                return False, True
            if self.db.write_ok(env.now):
                service.finish_no_notifier(nid, env.now)
            return False, False
        error, retry_after, key = yield from self._send(seq, channel, recipient, loop, rc_before, deadline)
        if env.now >= deadline:
            return True, True  # the row write fails on the expired context: the row stays as it was
        if not self.db.write_ok(env.now):
            return True, False  # the database refused the write: the row stays as it was
        jitter_u = self._u(error, key)
        if loop == "retry":
            service.finish_retry(nid, rc_before, error, env.now, retry_after=retry_after, jitter_u=jitter_u)
        else:
            service.finish_send(nid, error, env.now, retry_after=retry_after, jitter_u=jitter_u)
        return True, False

    def _send(self, seq: int, channel: str, recipient: str, loop: str, rc_before: int, deadline: float):
        """One notifier ``Send``; returns ``(error, retry_after, key)``: its error text (``None`` when it
        returned no error), the ``Retry-After`` seconds it carried (or ``None``) and the Send's key."""
        env = self.env
        t0 = env.now
        http = channel in HTTP_CHANNELS
        if http and t0 >= deadline:
            self.recorder.attempt(seq, t0, loop, rc_before, DEADLINE_ERROR, 0.0, False, t0)
            self._recent[channel].append(False)
            return DEADLINE_ERROR, None, 0
        attempt = self._sends_started[seq]
        self._sends_started[seq] = attempt + 1
        key = mix64(self._keys[seq] + attempt)
        result = self.channels[channel].send(t0, recipient, key)
        delivered, error, latency = result.delivered, result.error, result.latency
        retry_after = result.retry_after
        client_timeout = CLIENT_TIMEOUT_S.get(channel)
        limit = math.inf if client_timeout is None else client_timeout
        remaining = deadline - t0 if http else math.inf
        if latency > min(limit, remaining):
            delivered, retry_after = False, None
            if remaining <= limit:
                latency, error = remaining, DEADLINE_ERROR
            else:
                latency, error = limit, timeout_error(channel, limit)
        if latency > 0:
            yield env.timeout(latency)
        if delivered and error is None and channel == "Email" and self._quit_defect:
            error = EMAIL_QUIT_ERROR
        self.recorder.attempt(seq, t0, loop, rc_before, error, latency, delivered, env.now, retry_after)
        self._recent[channel].append(error is None)
        return error, retry_after, key

    def _sampler(self):
        env = self.env
        while True:
            self.recorder.sample(env.now, self.table.counts())
            yield env.timeout(self.sample_interval)

    def counters(self) -> dict[str, int]:
        """What the bound workload and operator counted during the run (see :attr:`notifsim.result.Result.counters`)."""
        total: Counter[str] = Counter()
        for run in self._runs:
            total.update(run.counters())
        return dict(sorted(total.items()))


class _Clock:
    """Time and process control of one run, for workloads and operators."""

    __slots__ = ("_sim",)

    def __init__(self, sim: Simulation):
        self._sim = sim

    @property
    def now(self) -> float:
        return self._sim.env.now

    @property
    def start(self) -> dt.datetime:
        return self._sim.scenario.start

    @property
    def horizon_s(self) -> float:
        return self._sim.horizon_s

    def timeout(self, delay: float) -> Any:
        return self._sim.env.timeout(delay)

    def event(self) -> Any:
        return self._sim.env.event()

    def process(self, generator: Generator[Any, Any, Any]) -> Any:
        return self._sim.env.process(generator)


class _WorkloadHooks(_Clock):
    """:class:`~notifsim.hooks.WorkloadHooks` of one run: streams, certctl's creators, availability, dedup."""

    __slots__ = ()

    def generator(self, *purpose: str | int) -> Any:
        return self._sim.streams.generator(*purpose)

    def keyed(self, *purpose: str | int) -> KeyedUniform:
        return self._sim.streams.keyed(*purpose)

    def create(self, *, type: str, channel: str, recipient: str, message: str, certificate_id: str | None, deadline: float) -> Any:
        return self._sim.create(type=type, channel=channel, recipient=recipient, message=message, certificate_id=certificate_id, deadline=deadline)

    def create_batch(self, specs: list[dict], deadline: float) -> list:
        return self._sim.create_batch(specs, deadline)

    def create_and_send(
        self, deadline: float, *, type: str, channel: str, recipient: str, message: str, certificate_id: str | None
    ) -> Generator[Any, Any, Any]:
        return self._sim.create_and_send(deadline, type=type, channel=channel, recipient=recipient, message=message, certificate_id=certificate_id)

    def database_available(self) -> bool:
        return self._sim.db.available(self._sim.env.now)

    def has_alert(self, certificate_id: str, threshold: int, channel: str) -> bool:
        sim = self._sim
        return sim.table.has_threshold_notification_on_channel(certificate_id, threshold, channel, sim.policy.dedup_any_status)

    @property
    def failed_alerts_suppress(self) -> bool:
        return self._sim.policy.dedup_any_status

    def failed_alerts_since(self, cursor: int) -> tuple[list[str], int]:
        table = self._sim.table
        log = table.failed_alert_log
        certificate_ids = table.column("certificate_id")
        return [certificate_ids[seq] for seq in log[cursor:]], len(log)


class _OperatorHooks(_Clock):
    """:class:`~notifsim.hooks.OperatorHooks` of one run: what a person with the GUI or the API sees and does."""

    __slots__ = ()

    def list_notifications(self, status: str, limit: int | None = None, offset: int = 0) -> list | None:
        return self._sim.list_notifications(status, limit, offset)

    def recent_sends(self, channel: str, k: int) -> list[bool]:
        return self._sim.recent_sends(channel, k)

    def channel_in_outage(self, channel: str) -> bool:
        return self._sim.channel_in_outage(channel)

    def requeue(self, notification_id: str) -> str:
        return self._sim.requeue(notification_id)

    def mark_as_read(self, notification_id: str) -> str:
        return self._sim.mark_as_read(notification_id)
