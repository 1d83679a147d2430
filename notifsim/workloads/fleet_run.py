"""The state of one :class:`~notifsim.workloads.fleet.Fleet` in one run: certificates, wake-ups, jobs.

:class:`FleetRun` reproduces certctl's renewal check
(``CheckExpiringCertificates`` and ``sendThresholdAlerts`` in
``internal/service/renewal.go``), its job processor (renewal and
deployment notifications) and revocations, through
:class:`~notifsim.hooks.WorkloadHooks` only.  It is event-driven: the
instant each certificate next needs the renewal check is kept in a calendar
of buckets one renewal interval wide (:mod:`.wakeups`), so a tick touches
only the certificates due.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
from collections import defaultdict, deque
from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import numpy as np

from ..certctl import (
    CHANNELS,
    DAY_S,
    JOB_NOTIFICATION_CHANNEL,
    LISTING_WINDOW_S,
    REVOCATION_CHANNELS,
    alert_message,
    deployment_message,
    renewal_message,
    revocation_message,
)
from ..hooks import WorkloadHooks
from ..streams import uniform
from .fleet import Fleet
from .wakeups import WakeCalendar

#: Certificate statuses the model distinguishes (certctl ``CertificateStatus``).
CERT_STATUSES = ("Active", "Expiring", "Expired", "RenewalInProgress", "Revoked")
_ACTIVE, _EXPIRING, _EXPIRED, _RENEWING, _REVOKED = range(5)
_SKIPPED = frozenset({_EXPIRED, _RENEWING, _REVOKED})  # CheckExpiringCertificates skips these
_RENEWAL, _DEPLOYMENT = 0, 1
_EPOCH_DATE = dt.date(1970, 1, 1)


class _Job:
    """A renewal or deployment job: its certificate, renewal cycle, target and attempts made so far.

    ``key`` is the draw key of its first attempt: (certificate, cycle, target, attempt) packed as
    ``((cert * 65536 + cycle) * 256 + target) * 256 + attempt`` (the attempt capped at 255); a later
    attempt adds its number.
    """

    __slots__ = ("attempts", "cert", "cycle", "key", "kind", "target")

    def __init__(self, kind: int, cert: int, cycle: int, target: int = 0):
        self.kind = kind
        self.cert = cert
        self.cycle = cycle
        self.target = target
        self.attempts = 0
        self.key = ((cert * 65536 + cycle) * 256 + target) * 256


class FleetRun:
    """The runtime state of one :class:`Fleet` in one run (the Fleet itself stays a recipe).

    Per certificate: ``expires`` (s), ``status``, renewal ``cycle`` and a
    wake-up time in the calendar with a version stamp (an entry is live only while
    its version is the certificate's current one; every visit bumps it).  A
    renewal tick moves the live entries due by its deadline into a backlog
    ordered by ``expires_at`` and visits from there until its deadline.
    """

    def __init__(self, fleet: Fleet, hooks: WorkloadHooks):
        self.f = fleet
        self.hooks = hooks
        setup = hooks.generator("fleet", "setup")
        n = fleet.size
        expires = fleet.initial_expiries(setup)
        self.n = n
        self.expires: list[float] = expires.tolist()
        self.status: list[int] = [_ACTIVE] * n
        self.cycle: list[int] = [0] * n
        self.version: list[int] = [0] * n
        self.owner: list[int] = setup.integers(1, fleet.owners + 1, size=n).tolist()
        self.renewable: list[bool] = (setup.random(n) < fleet.auto_renew).tolist()
        width = max(6, len(str(n - 1)))
        self.ids = [f"mc-{c:0{width}d}" for c in range(n)]
        self.names = [f"svc-{c:0{width}d}.example.com" for c in range(n)]  # per certificate: its common name
        self.recipients = [f"owner-{k}@example.com" for k in range(fleet.owners + 1)]  # one per owner: a certificate's is recipients[owner[c]]
        self.index = {cid: c for c, cid in enumerate(self.ids)}
        self._deployed: dict[tuple[int, int], str] = {}  # DeploymentSuccess bodies, one per (certificate, target)
        self.start_epoch = hooks.start.timestamp()
        self._dates: dict[int, str] = {}
        # every certificate's first wake-up: when it enters the renewal check's listing window
        self.wakeups = WakeCalendar(fleet.renewal_check_interval, expires - LISTING_WINDOW_S)
        self.backlog: list[tuple[float, int, int]] = []  # due, not yet visited: (expires, certificate, version)
        self.dispatch = [(t, list(fleet.channels_for(t))) for t in fleet.thresholds]
        self.log_pos = 0  # cursor into the log of alerts that stopped suppressing (hooks.unsuppressed_alerts_since)
        self.renewal_running = False
        self.next_tick = 0.0  # the instant of the renewal loop's next grid point (s), as the clock will read it
        self.pending_jobs: list[_Job] = []
        self.job_wakeup = None
        self.jobs_running = 0  # jobs of the current job tick that have started and not ended
        self.slot_freed = None  # the event the job tick waits on while every slot is taken
        self._renewal_salt = hooks.keyed("fleet", "renewal").salt  # a job attempt's draw: uniform(salt, its key)
        self._deployment_salt = hooks.keyed("fleet", "deployment").salt
        self.stats: defaultdict[str, int] = defaultdict(int)  # increments cost a third of a Counter's (as a dict's)

    # -- helpers -----------------------------------------------------------

    def expiry_date(self, c: int) -> str:
        day = math.floor((self.start_epoch + self.expires[c]) / DAY_S)
        text = self._dates.get(day)
        if text is None:
            text = self._dates[day] = (_EPOCH_DATE + dt.timedelta(days=day)).isoformat()
        return text

    def push(self, c: int, wake: float) -> None:
        """Schedule certificate ``c``'s next visit, replacing any earlier one."""
        self.version[c] += 1
        self.wakeups.push(wake, c, self.version[c])

    # -- processes -----------------------------------------------------------

    def counters(self) -> dict[str, int]:
        """Renewal ticks, certificate visits, alerts created / deduped / skipped, jobs, failures, revocations."""
        return dict(self.stats)

    def process(self) -> Generator[Any, Any, None]:
        """Start the job processor and the revocations, then run the renewal loop."""
        env = self.hooks
        env.process(self.job_loop())
        rate = self.f.revocations_per_cert_year * self.n / (365.0 * DAY_S) + self.f.revocations_per_day / DAY_S
        if rate > 0:
            env.process(self.revocations(rate))
        return self.renewal_loop()

    def renewal_loop(self):
        """``renewalCheckLoop``: at start, then on a fixed grid; skipped while the previous check runs."""
        env, f = self.hooks, self.f
        k = 0
        while True:
            now = env.now
            self.next_tick = now + ((k + 1) * f.renewal_check_interval - now)  # where the timeout below resumes, to the last bit
            if self.renewal_running:
                self.stats["renewal_ticks_skipped"] += 1
            elif self.backlog or self.has_work(now + f.renewal_check_deadline):
                self.renewal_running = True
                env.process(self.renewal_tick())
            k += 1
            yield env.timeout(k * f.renewal_check_interval - now)

    def has_work(self, limit: float) -> bool:
        if self.wakeups.any_due(limit):
            return True
        return bool(self.hooks.unsuppressed_alerts_since(self.log_pos)[0])

    def renewal_tick(self):
        """One ``CheckExpiringCertificates`` run: visit the certificates due, in ``expires_at`` order.

        Certificates due by the deadline move from the wake-up calendar to the
        backlog (ordered like certctl's listing, ``expires_at`` then id); the
        tick visits the backlog in order until its deadline; what is left
        waits for the next tick.
        """
        env, backlog, version, expires = self.hooks, self.backlog, self.version, self.expires
        tick = env.now
        deadline = tick + self.f.renewal_check_deadline
        due = [(expires[c], c, v) for _, c, v in self.wakeups.take_due(deadline) if v == version[c]]
        if due:
            backlog += due
            heapq.heapify(backlog)
        # re-dispatch: certificates with an alert row that stopped suppressing since the last tick
        changed, self.log_pos = self.hooks.unsuppressed_alerts_since(self.log_pos)
        for cid in changed:
            found = self.index.get(cid)
            if found is not None:
                heapq.heappush(backlog, (expires[found], found, version[found]))
        self.stats["renewal_ticks"] += 1
        if not env.database_available():  # GetExpiringCertificates fails: the check returns its error
            self.stats["renewal_ticks_db_error"] += 1
            self.renewal_running = False
            return
        if backlog:
            # the certificate query runs before the first alert is created, so a notification process tick
            # due at this same instant lists its pending rows first (as in certctl, where that List takes
            # microseconds and the query milliseconds): yield once, without advancing the clock
            yield env.timeout(0)
        unlisted = tick + LISTING_WINDOW_S  # the listing returns the certificates expiring before this
        now, db_up = env.now, env.database_available()  # read again only when a visit's Send has taken time
        while backlog:
            if now >= deadline:  # every later database call fails: the rest waits for the next tick
                self.stats["renewal_ticks_cut"] += 1
                break
            if backlog[0][0] >= unlisted:  # so does every entry left: all of them looked at now, in one go
                backlog[:] = self.pass_over(sorted(backlog), self.next_tick + self.f.renewal_check_deadline)  # the next tick's deadline
                break
            _, c, v = heapq.heappop(backlog)
            if v != version[c]:
                continue
            self.stats["visits"] += 1
            now, db_up = yield from self.visit(c, deadline, now, db_up)
        self.renewal_running = False

    def pass_over(self, entries: list[tuple[float, int, int]], next_deadline: float) -> list[tuple[float, int, int]]:
        """:meth:`visit` of backlog entries (in backlog order) that this tick's listing does not return: each current
        one is counted as a visit and is due again when it enters the listing window (or is dropped when its status
        is one the check skips).  They take no time, so nothing happens between them.

        Returns the entries due again by ``next_deadline`` (s), the deadline of the next grid point's tick as that
        tick will compute it (the tick that runs next is that one or a later one), in backlog order: they stay in
        the backlog, where that tick would put them (it takes every entry due by its deadline); the others go back
        to the calendar.
        """
        status, version = self.status, self.version
        kept = []
        visits = 0
        for exp, c, v in entries:
            if v != version[c]:
                continue
            visits += 1
            if status[c] in _SKIPPED:
                version[c] += 1
            elif exp - LISTING_WINDOW_S <= next_deadline:
                version[c] = v = v + 1
                kept.append((exp, c, v))
            else:
                self.push(c, exp - LISTING_WINDOW_S)
        self.stats["visits"] += visits
        return kept

    def visit(self, c: int, deadline: float, now: float, db_up: bool):
        """One certificate the tick's listing returned (expiring within 31 days of the tick; the tick passes over
        the others, :meth:`pass_over`) in ``CheckExpiringCertificates``: status, ``sendThresholdAlerts``, renewal job.
        ``now`` and ``db_up``: the instant (s) and the database's availability then; returns them as the visit leaves
        them (its Sends take time)."""
        status, version = self.status, self.version
        version[c] += 1  # this visit replaces every pending wake-up of the certificate
        if status[c] in _SKIPPED:
            return now, db_up
        exp = self.expires[c]
        env, stats = self.hooks, self.stats
        days = (exp - now) / 3600.0 / 24.0
        if db_up:  # updateCertExpiryStatus runs before the alerts; during an outage it fails and the status stays
            status[c] = _EXPIRED if days <= 0 else _EXPIRING
        d = int(days)  # Go's int(): truncation toward zero
        cid = self.ids[c]
        cut = False
        for threshold, channels in self.dispatch:
            if d > threshold:
                continue
            if not channels:
                stats["alerts_skipped_no_channels"] += 1
                continue
            for channel in channels:
                if channel not in CHANNELS:
                    stats["alerts_skipped_invalid_channel"] += 1
                    continue
                if now >= deadline or not db_up:  # the dedup List fails: channel skipped
                    cut = True
                    continue
                if env.has_alert(cid, threshold, channel):
                    stats["alerts_deduped"] += 1
                    continue
                message = alert_message(self.names[c], d, threshold, self.expiry_date(c))
                row = yield from env.create_and_send(
                    deadline, type="ExpirationWarning", channel=channel, recipient=self.recipients[self.owner[c]], message=message, certificate_id=cid
                )
                now, db_up = env.now, env.database_available()
                if row is None:
                    cut = True
                else:
                    stats["alerts_created"] += 1
        if self.renewable[c]:
            if now < deadline and db_up:
                status[c] = _RENEWING  # no visits while renewing: the job's outcome schedules the next one
                self.add_job(_Job(_RENEWAL, c, self.cycle[c]))
                stats["renewal_jobs"] += 1
                return now, db_up
            cut = True
        if cut:  # something failed on the expired context: the next tick tries again
            self.push(c, now)
        elif status[c] != _EXPIRED:
            wake = exp  # the tick that marks it Expired
            for threshold, _ in self.dispatch:
                if d > threshold:
                    wake = min(wake, exp - (threshold + 1) * DAY_S)
            self.push(c, wake)
        return now, db_up

    # -- jobs ------------------------------------------------------------------

    def add_job(self, job: _Job) -> None:
        self.pending_jobs.append(job)
        if self.job_wakeup is not None and not self.job_wakeup.triggered:
            self.job_wakeup.succeed()

    def job_loop(self):
        """``jobProcessorLoop``: runs at the first grid point after a job became pending, one run at a time."""
        env, iv = self.hooks, self.f.job_processor_interval
        while True:
            if not self.pending_jobs:
                self.job_wakeup = env.event()
                yield self.job_wakeup
                self.job_wakeup = None
            nxt = (math.floor(env.now / iv) + 1) * iv
            yield env.timeout(nxt - env.now)
            yield from self.job_tick()

    def job_tick(self):
        """``ProcessPendingJobs``: claim every pending job and run them, at most ``job_concurrency`` at once.

        Jobs start in claim order (the order they became pending): as many as
        there are slots at the tick, then the next one at the instant a
        running job ends; jobs ending at one instant start as many next ones
        at that instant, still in claim order.  Each job runs on its own
        ``job_processor_deadline`` context from its start.  The tick ends when
        its last job does.
        """
        env = self.hooks
        self.stats["job_ticks"] += 1
        if not env.database_available():  # ClaimPendingJobs fails: the jobs stay pending
            return
        queue, self.pending_jobs = deque(self.pending_jobs), []
        slots = self.f.job_concurrency
        while queue or self.jobs_running:
            started = []
            while queue and self.jobs_running < slots:
                job = queue.popleft()
                if self.status[job.cert] == _REVOKED:
                    continue
                self.jobs_running += 1
                started.append(job)
            if started:
                env.soon(partial(self.run_jobs, started))
            if not self.jobs_running:
                break
            self.slot_freed = env.event()
            yield self.slot_freed
        self.slot_freed = None

    def run_jobs(self, jobs: list[_Job]) -> None:
        """Jobs started together now, in claim order, each on its own context: the issuer (or deployment) call,
        then the job's notification.

        Jobs do not wait in processes of their own: they go on in callbacks of
        the events they wait for, at the instants and in the order their
        processes would resume.  Consecutive jobs whose calls take equally long
        wait on one event and create their notifications together
        (``create_and_send_each``): nothing can happen between them.
        """
        f = self.f
        deadline = self.hooks.now + f.job_processor_deadline
        runs: list[tuple[float, list[tuple[_Job, int]]]] = []
        for job in jobs:
            attempt = job.attempts
            job.attempts += 1
            latency = f.renewal_latency if job.kind == _RENEWAL else f.deployment_latency
            if runs and runs[-1][0] == latency:
                runs[-1][1].append((job, attempt))
            else:
                runs.append((latency, [(job, attempt)]))
        for latency, run in runs:
            if latency > 0:
                self.hooks.timeout(latency).callbacks.append(partial(self.calls_returned, run, deadline))
            else:
                self.calls_returned(run, deadline)

    def calls_returned(self, run: list[tuple[_Job, int]], deadline: float, _event: Any = None) -> None:
        """The issuer or deployment calls of ``run`` (jobs and attempt numbers) have returned now: outcomes,
        effects, then every job's notification, created and sent on the job's context."""
        now = self.hooks.now
        types, messages, thens, recipients = [], [], [], []
        ids: list[str | None] = []
        for job, attempt in run:
            kind, message, then = self.renew(job, attempt, now) if job.kind == _RENEWAL else self.deploy(job, attempt)
            types.append(kind)
            messages.append(message)
            thens.append(then)
            recipients.append(self.recipients[self.owner[job.cert]])
            ids.append(self.ids[job.cert])
        self.hooks.create_and_send_columns(
            [deadline] * len(run), thens, types=types, channel=JOB_NOTIFICATION_CHANNEL, recipients=recipients, messages=messages, certificate_ids=ids
        )

    def end_job(self, _row: int | None = None) -> None:
        """A job has ended (its notification's Send is over): its slot goes to the next claimed job."""
        self.jobs_running -= 1
        freed = self.slot_freed
        if freed is not None and not freed.triggered:
            freed.succeed()

    def retry_later(self, job: _Job) -> None:
        """``RetryFailedJobs`` makes a failed job pending at the next job-retry tick."""
        env, iv = self.hooks, self.f.job_retry_interval
        delay = (math.floor(env.now / iv) + 1) * iv - env.now
        env.timeout(delay).callbacks.append(lambda _event: self.add_job(job))

    def job_failed(self, job: _Job, abandoned: str | None, _row: int | None = None) -> None:
        """A failed job's notification is over: retried at the next job-retry tick while it has attempts left."""
        if job.attempts < self.f.renewal_attempts:
            self.retry_later(job)
        elif abandoned is not None:
            self.stats[abandoned] += 1  # a renewal left RenewalInProgress: never checked again
        self.end_job()

    def renew(self, job: _Job, attempt: int, now: float) -> tuple[str, str, Callable[[int | None], Any]]:
        """The issuer call of attempt ``attempt`` has returned ``now`` (s): its outcome and effects; the notification's
        type, message and what happens when its Send is over."""
        f, c = self.f, job.cert
        cn = self.names[c]
        if uniform(self._renewal_salt, job.key + min(attempt, 255)) < f.renewal_failure_rate:
            self.stats["renewal_failures"] += 1
            return "RenewalFailure", renewal_message(cn, success=False), partial(self.job_failed, job, "renewals_abandoned")
        self.stats["renewals"] += 1
        exp = now + f.lifetime_days * DAY_S
        self.expires[c] = exp
        self.status[c] = _ACTIVE
        self.cycle[c] += 1
        for target in range(f.deployment_targets):
            self.add_job(_Job(_DEPLOYMENT, c, self.cycle[c], target))
        message = renewal_message(cn, success=True, new_expiry=self.expiry_date(c))
        self.push(c, exp - LISTING_WINDOW_S)
        return "RenewalSuccess", message, self.end_job

    def deploy(self, job: _Job, attempt: int) -> tuple[str, str, Callable[[int | None], Any]]:
        """The deployment call of attempt ``attempt`` has returned now: its outcome; the notification's type,
        message and what happens when its Send is over."""
        c, target = job.cert, job.target
        if uniform(self._deployment_salt, job.key + min(attempt, 255)) < self.f.deployment_failure_rate:
            self.stats["deployment_failures"] += 1
            return "DeploymentFailure", deployment_message(self.names[c], f"target-{target + 1}", success=False), partial(self.job_failed, job, None)
        self.stats["deployments"] += 1
        kept = self._deployed.get((c, target))
        if kept is None:  # the same body every cycle: keep one copy per (certificate, target)
            kept = self._deployed[(c, target)] = deployment_message(self.names[c], f"target-{target + 1}", success=True)
        return "DeploymentSuccess", kept, self.end_job

    # -- revocations -------------------------------------------------------------

    def revocations(self, rate_s: float):
        """Revocations as a Poisson process; each fans out to a Webhook row then an Email row (service/notification.go creators)."""
        env = self.hooks
        horizon = env.horizon_s
        rng = env.generator("fleet", "revocation")
        expected = rate_s * horizon
        size = int(expected + 10 * math.sqrt(expected) + 20)
        times = np.cumsum(rng.exponential(1.0 / rate_s, size=size))
        times = times[times < horizon].tolist()
        picks = rng.integers(0, self.n, size=len(times)).tolist()
        for at, c in zip(times, picks):
            if at > env.now:
                yield env.timeout(at - env.now)
            if self.status[c] == _REVOKED or not env.database_available():  # refused or failed: no notification
                continue
            self.status[c] = _REVOKED
            self.version[c] += 1
            self.stats["revocations"] += 1
            cid, cn, recipient = self.ids[c], self.names[c], self.recipients[self.owner[c]]
            message = revocation_message(cn)
            specs = [dict(type="Revocation", channel=ch, recipient=recipient, message=message, certificate_id=cid) for ch in REVOCATION_CHANNELS]
            env.create_batch(specs, math.inf)  # the HTTP request's context: no deadline
