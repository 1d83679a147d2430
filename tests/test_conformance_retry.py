"""Conformance: certctl's service-level notification tests (``internal/service/notification_test.go``) and the scheduler quirks of
service/notification.go, RetryFailedNotifications, scheduler.go, docs/certctl.md, quirks.

Each ``test_<certctl case>`` translates one case of certctl's ``internal/service/notification_test.go``.
certctl's unit tests run against a mock notifier on channel ``Email``; notifsim's as-built Email carries
the SMTP quit defect (email.go), so the translated cases run under ``certctl-asbuilt`` with
``email_quit_defect=False`` (:data:`MOCK`).  "sends" in certctl's tests counts *successful* Send calls
(service/testutil_test.go mock); here both the number of Send calls and the number of successful ones are asserted.

Scheduler facts used throughout (scheduler.go): both loops tick at t=0 and then every 60 s (process) /
120 s (retry); per-tick deadlines 60 s / 120 s; a tick that arrives while the previous run of its loop is
still going is skipped.  The clock starts at 2026-01-01T00:00:00Z.
"""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import AS_BUILT, DEADLINE_ERROR, GO_ZERO, I005, MOCK, START, At, assert_row, at, run, sends

import notifsim
from notifsim import channels as ch
from notifsim.database import Database
from notifsim.machine import NotificationService, NotificationTable
from notifsim.timeutil import ZERO_TIME
from notifsim.workloads import Workload


def ok_sends(result, nid=None) -> int:
    df = sends(result, nid)
    return int((df["outcome"] == "ok").sum())


def failed_row(id: str, rc: int, nra: float | None, **extra) -> dict:
    """certctl's ``newFailedNotification(id, rc, nra)`` fixture (certctl's notification_test.go:614-629)."""
    row = dict(
        id=id,
        type="ExpirationWarning",
        channel="Email",
        recipient="owner-i005@example.com",
        message=f"retry me: {id}",
        status="failed",
        retry_count=rc,
        next_retry_at=nra,
        last_error="connection refused",
        created_at=-3600.0,
    )
    row.update(extra)
    return row


def pending_row(id: str, channel: str = "Email", **extra) -> dict:
    row = dict(id=id, type="ExpirationWarning", channel=channel, recipient="owner-1@example.com", message=f"msg {id}", status="pending")
    row.update(extra)
    return row


def table_with(*rows: dict) -> NotificationTable:
    """A machine table holding the given rows (times as simulation seconds)."""
    table = NotificationTable()
    for row in rows:
        values = dict(status="pending", retry_count=0, next_retry_at=None, last_error=None, error=None, sent_at=None, certificate_id=None)
        values.update(row)
        table.insert(**values)
    return table


# ---------------------------------------------------------------------------------------------------
# certctl internal/service/notification_test.go RetryFailedNotifications_*
# ---------------------------------------------------------------------------------------------------


def test_retry_failed_notifications_no_eligible_rows():
    """certctl internal/service/notification_test.go RetryFailedNotifications_NoEligibleRows (notification_test.go:635-648): empty repo → no error, 0 sends."""
    assert NotificationTable().list_retry_eligible(0.0, 5, 1000) == []
    result = run(channels={"Email": ch.Scripted([], then=None)}, horizon="5m")
    assert len(result.attempts) == 0
    retry_ticks = result.ticks[result.ticks["loop"] == "retry"]
    assert list(retry_ticks["at"]) == [at(0), at(120), at(240)]
    assert list(retry_ticks["rows"]) == [0, 0, 0]
    assert list(retry_ticks["sends"]) == [0, 0, 0]
    assert not retry_ticks["skipped"].any()


def test_retry_failed_notifications_list_error():
    """certctl internal/service/notification_test.go RetryFailedNotifications_ListError (654-673), RetryFailedNotifications step 2, scheduler.go error handling.

    ``ListRetryEligible`` fails ("simulated DB outage") → the sweep returns an error with **zero** sends;
    the scheduler only logs it and both loops keep ticking.  The eligible row stays untouched until the
    database is back, and the next sweep after the outage sends it.
    """
    db = Database(outages=[(0, "3m")], error="simulated DB outage")
    result = run(rows=[failed_row("n1", 2, -60.0)], channels={"Email": ch.Scripted([], then=None)}, horizon="3m", database=db)
    assert len(result.attempts) == 0
    assert_row(result.row("n1"), status="failed", retry_count=2, next_retry_at=at(-60), last_error="connection refused")
    retry_ticks = result.ticks[result.ticks["loop"] == "retry"]
    assert list(retry_ticks["at"]) == [at(0), at(120)]
    assert all("simulated DB outage" in e for e in retry_ticks["error"])
    assert list(retry_ticks["sends"]) == [0, 0]
    # the loops keep running after the failed sweep
    assert list(result.ticks[result.ticks["loop"] == "process"]["at"]) == [at(0), at(60), at(120)]
    # once the database is back the next sweep sends the row
    later = run(
        rows=[failed_row("n1", 2, -60.0)],
        channels={"Email": ch.Scripted([], then=None)},
        horizon="5m",
        database=Database(outages=[(0, "3m")], error="simulated DB outage"),
    )
    assert_row(later.row("n1"), status="sent", retry_count=2, sent_at=at(240))


def test_retry_failed_notifications_success_promotes():
    """certctl internal/service/notification_test.go RetryFailedNotifications_SuccessPromotes (679-704), T5, docs/certctl.md, comments vs code #5.

    Row rc=2, nra=now−1m, notifier ok → 1 send, ``sent``, rc still 2; ``sent_at`` = time the Send returned;
    as built the stale ``next_retry_at`` and ``last_error`` are kept.
    """
    result = run(rows=[failed_row("n1", 2, -60.0)], channels={"Email": ch.Scripted([None], latency=1.5)})
    assert_row(result.row("n1"), status="sent", retry_count=2, sent_at=at(1.5), next_retry_at=at(-60), last_error="connection refused")
    attempts = sends(result, "n1")
    assert len(attempts) == 1 and ok_sends(result, "n1") == 1
    assert_row(attempts.iloc[0], loop="retry", at=at(0), retry_count_before=2, outcome="ok", delivered=True)
    assert result.row("n1")["deliveries"] == 1

    # the same decision in the pure state machine
    table = table_with(failed_row("n1", 2, 40.0, created_at=-3600.0))
    row = NotificationService(table, MOCK, ["Email"]).finish_retry("n1", 2, None, 101.5)
    assert (row.status, row.retry_count, row.sent_at, row.next_retry_at, row.last_error) == ("sent", 2, 101.5, 40.0, "connection refused")


def test_retry_failed_notifications_exponential_backoff():
    """certctl internal/service/notification_test.go RetryFailedNotifications_ExponentialBackoff (711-748), RetryFailedNotifications d/f, T7.

    Row rc=2, nra=now−1m, Send error ``smtp 451 temporary failure`` → ``failed``, rc 3, nra = time the
    Send returned + 4 min (pre-increment 2^2 min), le = the error; 0 successful sends.
    """
    err = "smtp 451 temporary failure"
    result = run(rows=[failed_row("n1", 2, -60.0)], channels={"Email": ch.Scripted([err], latency=1.5)})
    assert_row(result.row("n1"), status="failed", retry_count=3, next_retry_at=at(1.5 + 240), last_error=err, sent_at=None, error=None)
    assert len(sends(result, "n1")) == 1 and ok_sends(result, "n1") == 0
    assert_row(sends(result, "n1").iloc[0], loop="retry", retry_count_before=2, outcome="error", error=err, delivered=False)
    assert result.row("n1")["deliveries"] == 0

    table = table_with(failed_row("n1", 2, 40.0))
    row = NotificationService(table, MOCK, ["Email"]).finish_retry("n1", 2, err, 101.5)
    assert (row.status, row.retry_count, row.next_retry_at, row.last_error) == ("failed", 3, 101.5 + 240.0, err)


def test_retry_failed_notifications_backoff_cap():
    """certctl internal/service/notification_test.go RetryFailedNotifications_BackoffCap (765-810): rc=3 → rc 4, nra = after + 8 min, and ≤ after + 1h + 1s."""
    err = "webhook 502 bad gateway"
    result = run(rows=[failed_row("n1", 3, -60.0)], channels={"Email": ch.Scripted([err], latency=1.5)})
    row = result.row("n1")
    assert_row(row, status="failed", retry_count=4, next_retry_at=at(1.5 + 480), last_error=err)
    assert row["next_retry_at"] <= at(1.5) + pd.Timedelta(hours=1, seconds=1)
    assert len(sends(result, "n1")) == 1 and ok_sends(result, "n1") == 0


def test_retry_backoff_schedule_pre_increment_and_capped():
    """RetryFailedNotifications d, docs/certctl.md, knobs: wait = min(2^rc_before × 1 min, 1 h); with max 5 the 16 min and the cap are never used."""
    policy = MOCK
    assert [policy.backoff(n) for n in range(5)] == [60.0, 120.0, 240.0, 480.0, 960.0]
    assert policy.backoff(6) == 3600.0 and policy.backoff(20) == 3600.0
    assert [policy.exhausted(n) for n in range(6)] == [False, False, False, False, True, True]


def test_retry_failed_notifications_mark_dead_on_exhaustion():
    """certctl internal/service/notification_test.go RetryFailedNotifications_MarkDeadOnExhaustion (817-843), T8, docs/certctl.md, comments vs code #4.

    Row rc=4, Send error → ``dead``, nra NULL, le = the error; rc kept at 4 (not incremented).
    """
    err = "connection refused after max attempts"
    result = run(rows=[failed_row("n1", 4, -60.0)], channels={"Email": ch.Scripted([err], latency=1.5)}, horizon="10m")
    assert_row(result.row("n1"), status="dead", retry_count=4, next_retry_at=None, last_error=err, sent_at=None)
    assert len(sends(result, "n1")) == 1 and ok_sends(result, "n1") == 0  # dead is never retried again

    table = table_with(failed_row("n1", 4, 40.0))
    row = NotificationService(table, MOCK, ["Email"]).finish_retry("n1", 4, err, 101.5)
    assert (row.status, row.retry_count, row.next_retry_at, row.last_error) == ("dead", 4, None, err)


# ---------------------------------------------------------------------------------------------------
# certctl internal/service/notification_test.go RequeueNotification_*
# ---------------------------------------------------------------------------------------------------


def test_requeue_notification_success():
    """certctl internal/service/notification_test.go RequeueNotification_Success (849-887), T9, postgres/notification.go Requeue.

    Dead row rc=5, nra=now+10m, le ``max attempts exceeded`` → ``pending``, rc 0, nra NULL, le NULL;
    ``sent_at`` and ``error`` untouched.
    """
    dead = failed_row("n1", 5, 600.0, status="dead", last_error="max attempts exceeded", sent_at="0001-01-01T00:00:00Z")
    result = run(rows=[dead], channels={"Email": ch.Scripted([], then=None)}, actions=[(10, "requeue", "n1")], horizon="30s")
    assert_row(result.row("n1"), status="pending", retry_count=0, next_retry_at=None, last_error=None, sent_at=GO_ZERO, error=None, requeues=1)
    assert len(result.attempts) == 0
    rq = result.requeues
    assert len(rq) == 1
    assert_row(rq.iloc[0], notification_id="n1", at=at(10), action="requeue", from_status="dead", retry_count_before=5, outcome="requeued")

    table = table_with(dict(dead, next_retry_at=600.0, sent_at=ZERO_TIME))
    row = NotificationService(table, MOCK, ["Email"]).requeue_notification("n1")
    assert (row.status, row.retry_count, row.next_retry_at, row.last_error, row.sent_at) == ("pending", 0, None, None, ZERO_TIME)


def test_requeue_notification_repo_error():
    """certctl internal/service/notification_test.go RequeueNotification_RepoError (893-917): a repository error (``pg: deadlock detected``) surfaces
    from ``RequeueNotification`` (HTTP 500); the row is unchanged."""
    dead = dict(failed_row("n1", 5, 600.0, status="dead", last_error="max attempts exceeded"))
    db = Database(write_error_rate=1.0, error="pg: deadlock detected")
    result = run(rows=[dead], channels={"Email": ch.Scripted([], then=None)}, actions=[(10, "requeue", "n1")], database=db)
    action = result.requeues.iloc[0]
    assert (action["notification_id"], action["outcome"], action["from_status"]) == ("n1", "error", "dead")
    assert_row(result.row("n1"), status="dead", retry_count=5, next_retry_at=at(600), last_error="max attempts exceeded", requeues=0)


# ---------------------------------------------------------------------------------------------------
# certctl internal/service/notification_test.go ProcessPendingNotifications*, MarkAsRead
# ---------------------------------------------------------------------------------------------------


def test_process_pending_notifications():
    """certctl internal/service/notification_test.go ProcessPendingNotifications (259-301), ProcessPendingNotifications, T2: 3 pending Email rows → 3
    sends, all ``sent``."""
    rows = [pending_row(f"p{i}") for i in range(3)]
    result = run(rows=rows, channels={"Email": ch.Scripted([], then=None, latency=2.0)})
    for i in range(3):
        assert_row(result.row(f"p{i}"), status="sent", retry_count=0, next_retry_at=None, last_error=None, deliveries=1, attempts=1)
    # one tick at t=0 sends them one after the other; each sent_at is the time its own Send returned
    assert sorted(result.notifications["sent_at"]) == [at(2), at(4), at(6)]
    assert len(result.attempts) == 3 and ok_sends(result) == 3
    assert set(result.attempts["loop"]) == {"process"}
    assert list(result.attempts["at"]) == [at(0), at(2), at(4)]
    tick0 = result.ticks[(result.ticks["loop"] == "process")].iloc[0]
    assert_row(tick0, at=at(0), rows=3, sends=3, skipped=False, deadline_hit=False)


def test_process_pending_notifications_no_notifier():
    """certctl internal/service/notification_test.go ProcessPendingNotifications_NoNotifier (303-335), T3: empty registry → ``sent`` at the tick, no
    Send call."""
    result = run(rows=[pending_row("p1")], channels={})
    assert_row(result.row("p1"), status="sent", sent_at=at(0), retry_count=0, next_retry_at=None, last_error=None, attempts=0, deliveries=0)
    assert len(result.attempts) == 0
    tick0 = result.ticks[result.ticks["loop"] == "process"].iloc[0]
    assert_row(tick0, rows=1, sends=0)


def test_mark_as_read():
    """certctl internal/service/notification_test.go MarkAsRead (387-416), T10, RequeueNotification: a ``sent`` row → ``read``; ``sent_at``
    overwritten with now."""
    row = pending_row("s1", status="sent", sent_at=-3600.0, retry_count=2, next_retry_at=-600.0, last_error="old")
    result = run(rows=[row], channels={"Email": ch.Scripted([], then=None)}, actions=[(10, "read", "s1")])
    assert_row(result.row("s1"), status="read", sent_at=at(10), retry_count=2, next_retry_at=at(-600), last_error="old", attempts=0)
    assert_row(result.requeues.iloc[0], action="read", from_status="sent", outcome="read", at=at(10))

    table = table_with(dict(row, sent_at=-3600.0, next_retry_at=-600.0, created_at=-7200.0))
    r = NotificationService(table, MOCK, ["Email"]).mark_as_read("s1", 10.0)
    assert (r.status, r.sent_at, r.retry_count, r.next_retry_at, r.last_error) == ("read", 10.0, 2, -600.0, "old")


def test_mark_as_read_pending_row_is_never_sent():
    """docs/certctl.md, quirks, docs/certctl.md, transitions mark-read: a ``pending`` row marked read is never sent.

    50 filler rows fill the as-built batch of t=0, so the target (51st) is still pending when read at t=10.
    """
    rows = [pending_row(f"f{i:02d}", channel="Slack") for i in range(50)] + [pending_row("target", channel="Slack")]
    result = run(rows=rows, channels={"Slack": ch.Scripted([], then=None)}, actions=[(10, "read", "target")], horizon="5m")
    assert_row(result.row("target"), status="read", sent_at=at(10), attempts=0, deliveries=0)
    assert len(sends(result, "target")) == 0


# ---------------------------------------------------------------------------------------------------
# List ordering and the pending batch (postgres/notification.go List, ProcessPendingNotifications, docs/certctl.md, the 50-row page, docs/certctl.md, quirks)
# ---------------------------------------------------------------------------------------------------


def test_list_pending_order_sent_at_desc_nulls_last():
    """postgres/notification.go List, ProcessPendingNotifications: ``ORDER BY sent_at DESC NULLS LAST`` — real timestamps (newest first), then Go's
    zero time, then NULL; only ``pending`` rows; limit applied after ordering."""
    table = table_with(
        dict(id="null-1", status="pending", sent_at=None),
        dict(id="zero", status="pending", sent_at=ZERO_TIME),
        dict(id="old", status="pending", sent_at=100.0),
        dict(id="null-2", status="pending", sent_at=None),
        dict(id="new", status="pending", sent_at=500.0),
        dict(id="sent", status="sent", sent_at=900.0),
        dict(id="failed", status="failed", sent_at=ZERO_TIME),
        dict(id="read", status="read", sent_at=950.0),
    )
    ids = [r.id for r in table.list_pending(50)]
    assert ids[:3] == ["new", "old", "zero"]
    assert sorted(ids[3:]) == ["null-1", "null-2"]  # order among NULLs is unspecified in certctl
    assert [r.id for r in table.list_pending(2)] == ["new", "old"]
    assert [r.id for r in table.list_pending(3)] == ["new", "old", "zero"]


def test_requeued_rows_sort_first_in_next_pending_batch():
    """ProcessPendingNotifications, docs/certctl.md, quirks: requeue keeps ``sent_at``, so requeued rows (a real timestamp from a sent row, Go zero time
    from a failed row) sort before NULL-``sent_at`` pending rows in the next process tick; real timestamps first."""
    filler = [pending_row(f"f{i:02d}", channel="Slack") for i in range(55)]  # t=0 sends 50, 5 remain
    sent = pending_row("was-sent", channel="Slack", status="sent", sent_at=-100.0)
    failed = pending_row("was-failed", channel="Slack", status="failed", sent_at="0001-01-01T00:00:00Z")
    result = run(
        rows=[*filler, failed, sent],
        channels={"Slack": ch.Scripted([], then=None, latency=0.1)},
        actions=[(10, "requeue", "was-failed"), (10, "requeue", "was-sent")],
    )
    tick60 = result.attempts[result.attempts["at"] >= at(60)]
    order = list(tick60["notification_id"])
    assert len(order) == 7
    assert order[:2] == ["was-sent", "was-failed"]
    assert sorted(order[2:]) == [f"f{i:02d}" for i in range(50, 55)]
    assert_row(result.row("was-sent"), status="sent", sent_at=at(60.1))
    assert_row(result.row("was-failed"), status="sent", sent_at=at(60.2))


@pytest.mark.parametrize(
    "policy, expected_rows",
    [(AS_BUILT, [50, 10]), (I005, [60, 0])],
    ids=["asbuilt-50", "i005-1000"],
)
def test_process_pending_batch_50_as_built_1000_for_i005(policy, expected_rows):
    """docs/certctl.md, the 50-row page, postgres/notification.go List, docs/certctl.md, knobs: ``PerPage: 1000`` is rewritten to 50 as built; the
    I-005 intent is 1000.

    60 pending rows: as built the t=0 tick sends 50 and the t=60 tick the other 10; i005 sends all 60 at t=0.
    """
    rows = [pending_row(f"p{i:02d}", channel="Slack") for i in range(60)]
    result = run(rows=rows, channels={"Slack": ch.Scripted([], then=None)}, policy=policy)
    process = result.ticks[result.ticks["loop"] == "process"]
    assert list(process["rows"]) == expected_rows
    assert list(process["sends"]) == expected_rows
    assert (result.notifications["status"] == "sent").all()
    assert len(result.attempts) == 60


def test_i005_pending_batch_caps_at_1000():
    """ProcessPendingNotifications / docs/policies.md: the designed batch is ``PerPage: 1000`` — 1001 pending rows take two ticks."""
    rows = [pending_row(f"p{i:04d}", channel="Slack") for i in range(1001)]
    result = run(rows=rows, channels={"Slack": ch.Scripted([], then=None)}, policy=I005)
    assert list(result.ticks[result.ticks["loop"] == "process"]["rows"]) == [1000, 1]


# ---------------------------------------------------------------------------------------------------
# Double-send race (ProcessPendingNotifications), per-tick deadlines and skipped ticks (scheduler.go)
# ---------------------------------------------------------------------------------------------------


def test_double_send_race_creator_and_process_tick():
    """ProcessPendingNotifications, docs/certctl.md, quirks race: a creator's immediate Send (8 s, in flight) while the t=60 process tick lists the same
    pending row → two Send calls (loops ``create`` then ``process``), two deliveries; final ``sent_at`` from the later write."""
    result = run(channels={"Slack": ch.Scripted([], then=None, latency=8.0)}, workload=At([(55.0, "Slack")]), horizon="3m")
    assert len(result.notifications) == 1
    nid = result.notifications["id"].iloc[0]
    attempts = sends(result, nid)
    assert list(attempts["loop"]) == ["create", "process"]
    assert list(attempts["at"]) == [at(55), at(60)]
    assert list(attempts["delivered"]) == [True, True]
    assert_row(result.row(nid), status="sent", sent_at=at(68), created_at=at(55), attempts=2, deliveries=2)


def test_double_send_race_poisson_workload():
    """ProcessPendingNotifications: Poisson arrivals on one channel with a 9 s Send. A row is sent twice exactly when a process tick
    starts while its immediate send is in flight (created_at < tick < created_at + 9 s)."""
    latency = 9.0
    horizon = 4 * 3600
    result = run(
        channels={"Slack": ch.Scripted([], then=None, latency=latency)},
        workload=notifsim.workloads.Poisson(rate_per_hour=60, channels="Slack"),
        horizon=horizon,
        seed=3,
    )
    notes = result.notifications
    assert len(notes) > 100
    raced = 0
    for _, row in notes.iterrows():
        t = (row["created_at"] - START).total_seconds()
        ticks = [k * 60 for k in range(horizon // 60 + 1) if t < k * 60 < t + latency]
        if t + latency >= horizon:
            continue
        expected = 1 + len(ticks)
        attempts = sends(result, row["id"])
        assert len(attempts) == expected, (row["id"], t, list(attempts["at"]))
        assert row["deliveries"] == expected and row["status"] == "sent"
        if ticks:
            raced += 1
            assert list(attempts["loop"]) == ["create", "process"]
            # listed at the tick; sent at the tick or after the rows listed before it in the same tick
            assert at(ticks[0]) <= attempts["at"].iloc[1] < at(ticks[0] + 60)
    assert raced >= 5


def test_process_tick_deadline_http_sends_fail_fast_rows_unchanged():
    """scheduler.go context expiry, docs/certctl.md, quirks: within the 60 s process deadline, HTTP Sends run; the one in flight at the
    deadline is cut (``context deadline exceeded``), the next fails at once; both rows stay ``pending`` (write fails)."""
    policy = MOCK.replace(process_interval=300.0)  # keep the next tick out of the picture; deadline stays 60 s
    rows = [pending_row(f"s{i}", channel="Slack") for i in range(1, 9)]
    result = run(rows=rows, channels={"Slack": ch.Scripted([], then=None, latency=9.0)}, policy=policy, horizon="100s")
    for i in range(1, 7):
        assert_row(result.row(f"s{i}"), status="sent", sent_at=at(9 * i), deliveries=1)
    for nid in ("s7", "s8"):
        assert_row(result.row(nid), status="pending", sent_at=None, retry_count=0, next_retry_at=None, last_error=None, deliveries=0)
    s7, s8 = sends(result, "s7").iloc[0], sends(result, "s8").iloc[0]
    assert_row(s7, at=at(54), latency_s=6.0, outcome="error", error=DEADLINE_ERROR, delivered=False)
    assert_row(s8, at=at(60), latency_s=0.0, outcome="error", error=DEADLINE_ERROR, delivered=False)
    tick0 = result.ticks[result.ticks["loop"] == "process"].iloc[0]
    assert_row(tick0, at=at(0), rows=8, sends=8, deadline_hit=True, duration_s=60.0)


def test_process_tick_deadline_email_ignores_ctx_duplicate_next_tick():
    """scheduler.go, email.go, sendNotification, docs/certctl.md, quirks: Email ignores the deadline (a 70 s SMTP exchange is delivered), but its status
    write uses the expired ctx and fails → row stays ``pending``; the t=60 tick is skipped (still running); the t=120
    tick sends it again → duplicate delivery."""
    channels = {"Email": ch.Scripted([None, None], latency=[70.0, 1.0])}
    mid = run(rows=[pending_row("e1")], channels=channels, horizon="100s")
    assert_row(mid.row("e1"), status="pending", sent_at=None, attempts=1, deliveries=1)
    assert_row(sends(mid, "e1").iloc[0], at=at(0), latency_s=70.0, outcome="ok", delivered=True)

    result = run(rows=[pending_row("e1")], channels=channels, horizon="3m")
    assert_row(result.row("e1"), status="sent", sent_at=at(121), attempts=2, deliveries=2)
    assert list(sends(result, "e1")["at"]) == [at(0), at(120)]
    process = result.ticks[result.ticks["loop"] == "process"].reset_index(drop=True)
    assert list(process["at"]) == [at(0), at(60), at(120)]
    assert list(process["skipped"]) == [False, True, False]
    assert list(process["deadline_hit"]) == [True, False, False]


def test_retry_tick_deadline_row_unchanged_budget_not_consumed():
    """RetryFailedNotifications write failures, scheduler.go, docs/certctl.md, transitions "failed(retry) write fails → unchanged": an Email retry
    Send returning after
    the 2 min deadline cannot write; the row keeps rc and nra (≤ now) and is re-attempted at the same rc."""
    row = failed_row("n1", 1, -60.0)
    chan = {"Email": ch.Scripted(["smtp 451 temporary failure", "smtp 451 again"], latency=[130.0, 1.0])}
    mid = run(rows=[row], channels=chan, horizon="200s")
    assert_row(mid.row("n1"), status="failed", retry_count=1, next_retry_at=at(-60), last_error="connection refused", attempts=1)
    result = run(rows=[row], channels=chan, horizon="300s")
    attempts = sends(result, "n1")
    assert list(attempts["at"]) == [at(0), at(240)]
    assert list(attempts["retry_count_before"]) == [1, 1]
    assert_row(result.row("n1"), status="failed", retry_count=2, next_retry_at=at(241 + 120), last_error="smtp 451 again")
    retry = result.ticks[result.ticks["loop"] == "retry"].reset_index(drop=True)
    assert list(retry["skipped"]) == [False, True, False]


def test_scheduler_skips_ticks_while_previous_run_in_flight():
    """scheduler.go guard: ticks arriving while the previous run of the same loop is in flight are skipped, not queued;
    the two loops are independent; both run once at start."""
    rows = [pending_row("e1"), failed_row("f1", 1, -60.0)]
    chan = {"Email": ch.Scripted([None, "smtp 451", None], latency=[150.0, 250.0, 0.0])}
    result = run(rows=rows, channels=chan, horizon="300s")
    ticks = result.ticks
    process = ticks[ticks["loop"] == "process"]
    retry = ticks[ticks["loop"] == "retry"]
    assert list(process["at"]) == [at(0), at(60), at(120), at(180), at(240)]
    assert list(process["skipped"]) == [False, True, True, False, False]
    assert list(retry["at"]) == [at(0), at(120), at(240)]
    assert list(retry["skipped"]) == [False, True, True]
    # skipped ticks do no work
    assert (process[process["skipped"]]["rows"] == 0).all() and (retry[retry["skipped"]]["sends"] == 0).all()
    # e1: first send 0→150 delivered but write fails (deadline 60) → re-sent at 180
    assert list(sends(result, "e1")["at"]) == [at(0), at(180)]
    assert_row(result.row("e1"), status="sent", sent_at=at(180), deliveries=2)


# ---------------------------------------------------------------------------------------------------
# No-notifier path, Email quit defect, i005 arming, hybrid state
# ---------------------------------------------------------------------------------------------------


def test_no_notifier_webhook_as_built_is_ghost_sent():
    """cmd/server/main.go registry, T3, T6, docs/certctl.md, quirks: as built there is no Webhook notifier, even if the scenario models the endpoint.
    A created Webhook row is ``sent`` at creation, a pending one at the next tick, an armed failed one by the retry
    sweep (rc/nra/le kept) — all with no Send call and no delivery (ghost)."""
    webhook = ch.Scripted([], then="must never be called")
    rows = [pending_row("w-pending", channel="Webhook"), failed_row("w-failed", 4, -30.0, channel="Webhook")]
    result = run(rows=rows, channels={"Webhook": webhook}, policy=AS_BUILT, workload=At([(30.0, "Webhook")]))
    assert len(result.attempts) == 0
    assert_row(result.row("w-pending"), status="sent", sent_at=at(0), deliveries=0)
    assert_row(result.row("w-failed"), status="sent", sent_at=at(0), retry_count=4, next_retry_at=at(-30), last_error="connection refused", deliveries=0)
    created = result.notifications[result.notifications["origin"] == "created"].iloc[0]
    assert_row(created, status="sent", created_at=at(30), sent_at=at(30), attempts=0, deliveries=0)
    summary = result.summary(include_initial=True)
    assert summary["ghost_rate"] == 1.0


def test_webhook_notifier_called_under_i005():
    """docs/policies.md ``webhook_notifier``: with a working Webhook notifier the same rows are really sent."""
    webhook = ch.Scripted([], then=None)
    result = run(rows=[pending_row("w-pending", channel="Webhook")], channels={"Webhook": webhook}, policy=I005)
    assert len(sends(result, "w-pending")) == 1
    assert_row(result.row("w-pending"), status="sent", deliveries=1)


def test_email_quit_defect_delivered_but_failed():
    """email.go, docs/certctl.md, quirks, docs/certctl.md, transitions last line: as built, an Email accepted by a compliant SMTP server is delivered **and**
    reported failed (``failed to quit SMTP: 250 ...``) → T4 orphan: ``failed``, sent_at 0001-01-01, never retried."""
    result = run(rows=[pending_row("e1")], channels={"Email": ch.Scripted([], then=None)}, policy=AS_BUILT, horizon="1h")
    assert_row(result.row("e1"), status="failed", sent_at=GO_ZERO, retry_count=0, next_retry_at=None, last_error=None, error=None, attempts=1, deliveries=1)
    a = sends(result, "e1").iloc[0]
    assert a["outcome"] == "error" and a["delivered"]
    assert a["error"].startswith("failed to quit SMTP: 250")
    # the same server without the defect: a clean success
    clean = run(rows=[pending_row("e1")], channels={"Email": ch.Scripted([], then=None)}, policy=MOCK)
    assert_row(clean.row("e1"), status="sent", sent_at=at(0), deliveries=1)


@pytest.mark.parametrize(
    "latency, attempt_times",
    [(0.0, [0, 120, 240, 480, 960]), (0.5, [0, 120, 360, 720, 1320])],
    ids=["latency-0", "latency-0.5s"],
)
def test_i005_arm_first_failure_then_quantised_retries_until_dead(latency, attempt_times):
    """docs/policies.md ``certctl-i005``, RetryFailedNotifications: the first failure arms the retry path (``failed``, rc 1,
    nra = send return + 60 s); retries happen at the first retry tick (every 120 s) with tick ≥ nra; waits 1,2,4,8 min
    pre-increment from the send's return; the 5th Send call (rc 4) goes ``dead`` with rc kept at 4."""
    err = "slack: webhook returned HTTP 503: service unavailable"
    chan = {"Slack": ch.Scripted([], then=err, latency=latency)}
    row = pending_row("n1", channel="Slack")

    first = run(rows=[row], channels=chan, policy=I005, horizon="90s")
    assert_row(first.row("n1"), status="failed", retry_count=1, next_retry_at=at(latency + 60), last_error=err, sent_at=GO_ZERO, attempts=1)

    result = run(rows=[row], channels=chan, policy=I005, horizon="30m")
    attempts = sends(result, "n1")
    assert list(attempts["at"]) == [at(t) for t in attempt_times]
    assert list(attempts["loop"]) == ["process", "retry", "retry", "retry", "retry"]
    assert list(attempts["retry_count_before"]) == [0, 1, 2, 3, 4]
    assert_row(result.row("n1"), status="dead", retry_count=4, next_retry_at=None, last_error=err, sent_at=GO_ZERO, attempts=5, deliveries=0)


def test_i005_arm_first_failure_on_creator_path():
    """docs/policies.md: under i005 a creator's immediate-send failure is armed too (rc 1, nra = send return + 1 min);
    as built the same failure is an orphan (rc 0, nra NULL, sent_at 0001-01-01)."""
    err = "slack: webhook returned HTTP 503: service unavailable"
    chan = {"Slack": ch.Scripted([err], then=None, latency=0.5)}
    i005 = run(channels=chan, policy=I005, workload=At([(30.0, "Slack")]), horizon="100s")
    assert_row(i005.notifications.iloc[0], status="failed", retry_count=1, next_retry_at=at(90.5), last_error=err, sent_at=GO_ZERO)
    built = run(channels=chan, policy=AS_BUILT, workload=At([(30.0, "Slack")]), horizon="1h")
    assert_row(built.notifications.iloc[0], status="failed", retry_count=0, next_retry_at=None, last_error=None, sent_at=GO_ZERO, attempts=1)


@pytest.mark.parametrize(
    "rc, expected",
    [
        (0, dict(status="pending", retry_count=1, next_retry_at=at(30 + 60))),
        (2, dict(status="pending", retry_count=1, next_retry_at=at(30 + 240))),
        (4, dict(status="dead", retry_count=0, next_retry_at=None)),
    ],
    ids=["rc0", "rc2", "rc4"],
)
def test_hybrid_state_requeue_during_retry_send(rc, expected):
    """RetryFailedNotifications concurrency note and steps d-f: an operator requeue (t=10) while a retry Send (0→30 s) is in flight.

    ``RecordFailedAttempt`` does not touch status and increments the *current* rc server-side, while the backoff and
    the exhaustion test use the rc *listed* at the sweep's start: rc 0 → ``pending`` rc 1, nra +1 min (the hybrid
    state); rc 2 → ``pending`` rc 1 with a 4 min wait; rc 4 → ``MarkAsDead`` → ``dead`` with the requeue's rc 0.
    """
    err = "smtp 451 temporary failure"
    result = run(
        rows=[failed_row("n1", rc, -60.0)],
        channels={"Email": ch.Scripted([err], then=None, latency=30.0)},
        actions=[(10, "requeue", "n1")],
        horizon="50s",
    )
    assert_row(result.row("n1"), last_error=err, requeues=1, **expected)
    assert_row(result.requeues.iloc[0], from_status="failed", retry_count_before=rc, outcome="requeued")
    assert_row(sends(result, "n1").iloc[0], loop="retry", retry_count_before=rc)


def test_creator_context_expired_write_fails_row_stays_pending():
    """scheduler.go (immediate sends run under the caller's context), email.go, sendNotification, ProcessPendingNotifications (b): an Email send that outlives
    its creator's context is delivered but its status write fails → the row stays ``pending`` and the next process
    tick sends it again (duplicate)."""

    class ShortContext(Workload):
        def process(self, hooks):
            yield hooks.timeout(30.0)
            hooks.create(type="RenewalSuccess", channel="Email", recipient="owner-1@example.com", message="m", certificate_id="mc-1", deadline=5.0)

    chan = {"Email": ch.Scripted([None, None], latency=10.0)}
    mid = run(channels=chan, workload=ShortContext(), horizon="50s")
    assert_row(mid.notifications.iloc[0], status="pending", sent_at=None, attempts=1, deliveries=1)
    result = run(channels=chan, workload=ShortContext(), horizon="100s")
    n = result.notifications.iloc[0]
    assert_row(n, status="sent", sent_at=at(70), attempts=2, deliveries=2)
    assert list(sends(result, n["id"])["loop"]) == ["create", "process"]


def test_failed_status_write_after_delivery_resends_next_tick():
    """sendNotification / docs/certctl.md, quirks: if the post-send ``UpdateStatus`` fails (database error), the row stays ``pending``
    and the next process tick sends it again: a duplicate delivery."""
    db = Database(outages=[(0.5, 1.0)])  # the database is down exactly when the first send returns (t = 1 s)
    result = run(rows=[pending_row("n1")], channels={"Email": ch.Scripted([None, None], latency=1.0)}, database=db)
    assert_row(result.row("n1"), status="sent", sent_at=at(61), deliveries=2, attempts=2)
    assert list(sends(result, "n1")["loop"]) == ["process", "process"]


def test_create_fails_while_database_down():
    """service/notification.go creators: a creator whose ``Create`` fails returns the error: no row, no send."""

    class OneAlert(Workload):
        def process(self, hooks):
            yield hooks.timeout(30)
            hooks.create(type="RenewalSuccess", channel="Email", recipient="a@example.com", message="m", certificate_id="mc-1", deadline=120)

    down = run(channels={"Email": ch.Scripted([], then=None)}, workload=OneAlert(), database=Database(outages=[(0, 60)]))
    assert len(down.notifications) == 0 and len(down.attempts) == 0 and down.lost_creations == 1
    up = run(channels={"Email": ch.Scripted([], then=None)}, workload=OneAlert())
    assert len(up.notifications) == 1 and up.notifications["deliveries"].iloc[0] == 1 and up.lost_creations == 0
