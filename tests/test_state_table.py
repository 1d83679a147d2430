"""Conformance: every row of the state machine of docs/certctl.md, transitions, one test per row.

State = (status, retry_count, next_retry_at, last_error, sent_at); N(ch) = a notifier is registered for the
channel.  Each test drives the row end-to-end with :func:`notifsim.simulate` (scheduler ticks at t=0 then every
60 s / 120 s; clock starts 2026-01-01T00:00:00Z) and, where cheap, the pure :mod:`notifsim.machine` too.
Mock-notifier style rows use ``certctl-asbuilt`` with ``email_quit_defect=False`` (:data:`MOCK`); the last row
of docs/certctl.md, transitions (Email against a compliant server) uses the defect.
"""

from __future__ import annotations

import pytest
from helpers import AS_BUILT, DEADLINE_ERROR, GO_ZERO, MOCK, At, assert_row, at, sends
from helpers import run as _run

from notifsim import channels as ch
from notifsim.machine import NotFound, NotificationService, NotificationTable
from notifsim.timeutil import ZERO_TIME

ERR = "smtp 451 temporary failure"


def run(rows=(), channels=None, policy=MOCK, horizon="90s", actions=None, workload=None):
    return _run(rows, channels, policy, horizon, actions, workload, name="state-table")


def row_dict(id, status, channel="Email", rc=0, nra=None, le=None, sent_at=None, **extra):
    row = dict(
        id=id,
        type="ExpirationWarning",
        channel=channel,
        recipient="owner-1@example.com",
        message=f"msg {id}",
        status=status,
        retry_count=rc,
        next_retry_at=nra,
        last_error=le,
        sent_at=sent_at,
        created_at=-3600.0,
    )
    row.update(extra)
    return row


def machine(*rows, policy=MOCK, notifiers=("Email",)):
    table = NotificationTable()
    for r in rows:
        values = dict(certificate_id=None, error=None)
        values.update(r)
        for name in ("next_retry_at", "sent_at"):
            if values.get(name) == "0001-01-01T00:00:00Z":
                values[name] = ZERO_TIME
        table.insert(**values)
    return table, NotificationService(table, policy, notifiers)


# --- row 1: — → create → pending ---------------------------------------------------------------------


def test_state_table_create_inserts_pending_then_immediate_send():
    """docs/certctl.md transitions row 1 (— / create → pending), postgres/notification.go Create, service/notification.go creators: insert rc=0,
    nra=NULL, le=NULL, sent_at=NULL,
    created_at=now, status pending; then the creator sends at once (loop ``create``)."""
    table = NotificationTable()
    row = table.create(30.0, id="n1", type="ExpirationWarning", channel="Email", recipient="r@example.com", message="m", certificate_id="mc-1")
    assert (row.status, row.retry_count, row.next_retry_at, row.last_error, row.sent_at, row.created_at, row.error) == (
        "pending",
        0,
        None,
        None,
        None,
        30.0,
        None,
    )

    chan = {"Email": ch.Scripted([], then=None, latency=20.0)}
    during = run(channels=chan, workload=At([(30.0, "Email")]), horizon="40s")  # immediate Send in flight
    n = during.notifications.iloc[0]
    assert_row(n, status="pending", retry_count=0, next_retry_at=None, last_error=None, sent_at=None, error=None, created_at=at(30), origin="created")

    after = run(channels=chan, workload=At([(30.0, "Email")]), horizon="100s")
    n = after.notifications.iloc[0]
    assert_row(n, status="sent", sent_at=at(50), attempts=1, deliveries=1)
    assert_row(sends(after, n["id"]).iloc[0], loop="create", at=at(30), retry_count_before=0, outcome="ok")


# --- row 2: pending, ¬N(ch) → sent ---------------------------------------------------------------------


def test_state_table_pending_no_notifier_sent_without_delivery():
    """docs/certctl.md transitions row 2 (pending / immediate send or process-tick pick / ¬N(ch) → sent, sent_at=now, no delivery), T3."""
    result = run(rows=[row_dict("p1", "pending", channel="Teams")], channels={}, workload=At([(30.0, "Teams")]))
    assert_row(result.row("p1"), status="sent", sent_at=at(0), retry_count=0, next_retry_at=None, last_error=None, attempts=0, deliveries=0)
    created = result.notifications[result.notifications["origin"] == "created"].iloc[0]
    assert_row(created, status="sent", sent_at=at(30), created_at=at(30), attempts=0, deliveries=0)
    assert len(result.attempts) == 0

    table, service = machine(row_dict("p1", "pending", channel="Teams"))
    assert not service.has_notifier("Teams")
    r = service.finish_no_notifier("p1", 7.0)
    assert (r.status, r.sent_at) == ("sent", 7.0)


# --- row 3: pending, Send ok → sent ----------------------------------------------------------------------


def test_state_table_pending_send_ok_sent_at_after_send():
    """docs/certctl.md transitions row 3 (pending / send / N(ch), Send ok, write ok → sent, sent_at = now after the send), T2."""
    result = run(rows=[row_dict("p1", "pending", channel="Slack")], channels={"Slack": ch.Scripted([None], latency=4.0)})
    assert_row(result.row("p1"), status="sent", sent_at=at(4), retry_count=0, next_retry_at=None, last_error=None, attempts=1, deliveries=1)
    assert_row(sends(result, "p1").iloc[0], loop="process", at=at(0), outcome="ok", delivered=True, latency_s=4.0)

    table, service = machine(row_dict("p1", "pending", channel="Slack"), notifiers=("Slack",))
    r = service.finish_send("p1", None, 4.0)
    assert (r.status, r.sent_at, r.retry_count, r.next_retry_at, r.last_error) == ("sent", 4.0, 0, None, None)


# --- row 4: pending, Send error → failed orphan ------------------------------------------------------------


def test_state_table_pending_send_error_failed_orphan():
    """docs/certctl.md transitions row 4 (pending / send / Send error → failed, sent_at=0001-01-01; rc 0, nra NULL, le NULL,
    error NULL), docs/certctl.md, why a first failure is never retried, T4: the row is never retried (one Send in an hour)."""
    result = run(rows=[row_dict("p1", "pending")], channels={"Email": ch.Scripted([ERR], then=None, latency=2.0)}, horizon="1h")
    assert_row(result.row("p1"), status="failed", sent_at=GO_ZERO, retry_count=0, next_retry_at=None, last_error=None, error=None, attempts=1, deliveries=0)
    assert_row(sends(result, "p1").iloc[0], outcome="error", error=ERR)
    assert result.samples["stranded"].iloc[-1] == 1

    table, service = machine(row_dict("p1", "pending"))
    r = service.finish_send("p1", ERR, 2.0)
    assert (r.status, r.sent_at, r.retry_count, r.next_retry_at, r.last_error, r.error) == ("failed", ZERO_TIME, 0, None, None, None)
    assert table.list_retry_eligible(1e9, 5, 1000) == []


# --- row 5: pending, status write fails → pending -----------------------------------------------------------


def test_state_table_pending_status_write_fails_stays_pending_resent():
    """docs/certctl.md transitions row 5 (pending / send / status write fails (ctx expired) → pending, re-sent next tick), sendNotification.

    A 70 s Email exchange outlives the 60 s process deadline: delivered, but the write fails → pending; the t=60 tick
    is skipped, the t=120 tick sends it again → sent, 2 deliveries (duplicate)."""
    chan = {"Email": ch.Scripted([None, None], latency=[70.0, 0.0])}
    mid = run(rows=[row_dict("p1", "pending")], channels=chan, horizon="110s")
    assert_row(mid.row("p1"), status="pending", sent_at=None, retry_count=0, next_retry_at=None, last_error=None, deliveries=1)
    result = run(rows=[row_dict("p1", "pending")], channels=chan, horizon="150s")
    assert_row(result.row("p1"), status="sent", sent_at=at(120), attempts=2, deliveries=2)
    assert list(sends(result, "p1")["at"]) == [at(0), at(120)]


# --- row 6: failed (nra NULL) → never retried ----------------------------------------------------------------


def test_state_table_failed_unarmed_never_retried():
    """docs/certctl.md transitions row 6 (failed(nra=NULL) / any timer → none), docs/certctl.md, why a first failure is never retried: a stranded row
    is not touched by either loop."""
    row = row_dict("f1", "failed", rc=0, sent_at="0001-01-01T00:00:00Z")
    result = run(rows=[row], channels={"Email": ch.Scripted([], then=None)}, horizon="1h")
    assert_row(result.row("f1"), status="failed", retry_count=0, next_retry_at=None, last_error=None, sent_at=GO_ZERO, attempts=0)
    assert result.ticks["rows"].sum() == 0


# --- row 7: armed, ¬N(ch) → sent (rc, nra, le kept) -------------------------------------------------------------


def test_state_table_armed_no_notifier_sent_retry_fields_kept():
    """docs/certctl.md transitions row 7 (failed(nra≤now, rc<5) / retry tick / ¬N(ch) → sent, sent_at=now; rc, nra, le kept), T6."""
    row = row_dict("f1", "failed", channel="Teams", rc=3, nra=-30.0, le="teams: webhook returned HTTP 503: x", sent_at="0001-01-01T00:00:00Z")
    result = run(rows=[row], channels={})
    assert_row(
        result.row("f1"),
        status="sent",
        sent_at=at(0),
        retry_count=3,
        next_retry_at=at(-30),
        last_error="teams: webhook returned HTTP 503: x",
        attempts=0,
        deliveries=0,
    )


# --- row 8: armed, Send ok → sent (rc, nra, le kept) ---------------------------------------------------------------


def test_state_table_armed_send_ok_sent_retry_fields_kept():
    """docs/certctl.md transitions row 8 (failed(nra≤now, rc<5) / retry tick / Send ok → sent, sent_at = now after send; rc, nra, le kept), T5."""
    row = row_dict("f1", "failed", rc=1, nra=-30.0, le="connection refused", sent_at="0001-01-01T00:00:00Z")
    result = run(rows=[row], channels={"Email": ch.Scripted([None], latency=3.0)})
    assert_row(result.row("f1"), status="sent", sent_at=at(3), retry_count=1, next_retry_at=at(-30), last_error="connection refused", attempts=1, deliveries=1)
    assert_row(sends(result, "f1").iloc[0], loop="retry", retry_count_before=1)


# --- row 9: armed rc ≤ 3, Send error → failed, rc+1, backoff ------------------------------------------------------------


@pytest.mark.parametrize("rc", [0, 1, 2, 3])
def test_state_table_armed_send_error_backoff(rc):
    """docs/certctl.md transitions row 9 (failed(nra≤now, rc≤3) / retry tick / Send error → failed; rc+=1; le=err;
    nra = now_after_send + min(2^rc_old min, 1h)), T7."""
    row = row_dict("f1", "failed", rc=rc, nra=-30.0, le="connection refused", sent_at="0001-01-01T00:00:00Z")
    result = run(rows=[row], channels={"Email": ch.Scripted([ERR], then=None, latency=2.0)}, horizon="100s")
    assert_row(result.row("f1"), status="failed", retry_count=rc + 1, next_retry_at=at(2 + 60 * 2**rc), last_error=ERR, sent_at=GO_ZERO, attempts=1)

    table, service = machine(dict(row, next_retry_at=-30.0, sent_at=ZERO_TIME))
    r = service.finish_retry("f1", rc, ERR, 2.0)
    assert (r.status, r.retry_count, r.next_retry_at, r.last_error, r.sent_at) == ("failed", rc + 1, 2.0 + 60 * 2**rc, ERR, ZERO_TIME)


# --- row 10: armed rc = 4, Send error → dead ------------------------------------------------------------------------------


def test_state_table_armed_rc4_send_error_dead():
    """docs/certctl.md transitions row 10 (failed(nra≤now, rc=4) / retry tick / Send error → dead; le=err; nra=NULL; rc stays 4), T8."""
    row = row_dict("f1", "failed", rc=4, nra=-30.0, le="connection refused", sent_at="0001-01-01T00:00:00Z")
    result = run(rows=[row], channels={"Email": ch.Scripted([ERR], then=None, latency=2.0)}, horizon="1h")
    assert_row(result.row("f1"), status="dead", retry_count=4, next_retry_at=None, last_error=ERR, sent_at=GO_ZERO, attempts=1)


# --- row 11: armed, write fails → unchanged ---------------------------------------------------------------------------------


def test_state_table_retry_write_fails_unchanged_email():
    """docs/certctl.md transitions row 11 (failed(retry) / retry tick / write fails → unchanged: same rc, nra ≤ now), RetryFailedNotifications, scheduler.go.

    Email ignores the 2 min deadline: its Send returns at 130 s, the write fails, the row keeps rc 2 / nra / le."""
    row = row_dict("f1", "failed", rc=2, nra=-30.0, le="connection refused", sent_at="0001-01-01T00:00:00Z")
    result = run(rows=[row], channels={"Email": ch.Scripted([ERR], then=None, latency=130.0)}, horizon="200s")
    assert_row(result.row("f1"), status="failed", retry_count=2, next_retry_at=at(-30), last_error="connection refused", sent_at=GO_ZERO, attempts=1)


def test_state_table_retry_write_fails_unchanged_http():
    """docs/certctl.md transitions row 11, scheduler.go: HTTP retry Sends after the 2 min deadline fail fast (``context deadline exceeded``) and
    their rows stay unchanged; rows written before the deadline are ``sent``.

    14 armed Slack rows × 9.5 s: rows 1-12 finish by 114 s; row 13 is cut at 120 s, row 14 fails at once."""
    policy = MOCK.replace(retry_interval=300.0)  # keep the next retry tick away; the deadline stays 120 s
    rows = [row_dict(f"s{i:02d}", "failed", channel="Slack", rc=1, nra=-60.0 + i, le="old") for i in range(1, 15)]
    result = run(rows=rows, channels={"Slack": ch.Scripted([], then=None, latency=9.5)}, policy=policy, horizon="200s")
    for i in range(1, 13):
        assert_row(result.row(f"s{i:02d}"), status="sent", sent_at=at(9.5 * i), retry_count=1, deliveries=1)
    for i in (13, 14):
        assert_row(result.row(f"s{i:02d}"), status="failed", retry_count=1, next_retry_at=at(-60 + i), last_error="old", deliveries=0)
    assert_row(sends(result, "s13").iloc[0], at=at(114), latency_s=6.0, error=DEADLINE_ERROR, delivered=False)
    assert_row(sends(result, "s14").iloc[0], at=at(120), latency_s=0.0, error=DEADLINE_ERROR, delivered=False)
    tick0 = result.ticks[result.ticks["loop"] == "retry"].iloc[0]
    assert_row(tick0, rows=14, sends=14, deadline_hit=True)


# --- row 12: any → requeue → pending ---------------------------------------------------------------------------------------

START_STATES = {
    "pending": dict(rc=3, nra=600.0, le="boom", sent_at=None),
    "sent": dict(rc=3, nra=-600.0, le="boom", sent_at=-100.0),
    "failed": dict(rc=3, nra=-600.0, le="boom", sent_at="0001-01-01T00:00:00Z"),
    "dead": dict(rc=4, nra=None, le="boom", sent_at="0001-01-01T00:00:00Z"),
    "read": dict(rc=3, nra=-600.0, le="boom", sent_at=-50.0),
}


def _expected_sent_at(value):
    if value is None:
        return None
    return GO_ZERO if isinstance(value, str) else at(value)


@pytest.mark.parametrize("status", list(START_STATES))
def test_state_table_requeue_any_status(status):
    """docs/certctl.md transitions row 12 (any / operator requeue / row exists → rc=0; nra=NULL; le=NULL (sent_at, error kept) → pending),
    T9, RequeueNotification (no status validation at any layer)."""
    s = START_STATES[status]
    row = row_dict("n1", status, rc=s["rc"], nra=s["nra"], le=s["le"], sent_at=s["sent_at"], error="legacy")
    # the Email notifier is slow so that a pending row picked at t=0 is still in flight at the horizon
    result = run(rows=[row], channels={"Email": ch.Scripted([], then=None, latency=100.0)}, actions=[(10, "requeue", "n1")], horizon="30s")
    assert_row(
        result.row("n1"),
        status="pending",
        retry_count=0,
        next_retry_at=None,
        last_error=None,
        sent_at=_expected_sent_at(s["sent_at"]),
        error="legacy",
        requeues=1,
    )
    assert_row(result.requeues.iloc[0], from_status=status, retry_count_before=s["rc"], outcome="requeued")

    table, service = machine(dict(row, next_retry_at=s["nra"], sent_at=ZERO_TIME if isinstance(s["sent_at"], str) else s["sent_at"]))
    r = service.requeue_notification("n1")
    assert (r.status, r.retry_count, r.next_retry_at, r.last_error, r.error) == ("pending", 0, None, None, "legacy")


def test_state_table_requeue_unknown_id_not_found():
    """docs/certctl.md transitions row 12 guard (row exists, else 404), handler/notifications.go: an unknown id is an error and changes nothing."""
    table, service = machine(row_dict("n1", "dead", rc=4))
    with pytest.raises(NotFound):
        service.requeue_notification("nope")
    result = run(rows=[row_dict("n1", "dead", rc=4)], actions=[(10, "requeue", "nope")], horizon="30s")
    assert_row(result.requeues.iloc[0], notification_id="nope", outcome="not_found")
    assert_row(result.row("n1"), status="dead", requeues=0)


# --- row 13: any → mark-read → read ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(START_STATES))
def test_state_table_mark_read_any_status(status):
    """docs/certctl.md transitions row 13 (any / operator mark-read / row exists → sent_at=now → read), T10: only status and
    sent_at are written (rc, nra, le kept)."""
    s = START_STATES[status]
    row = row_dict("n1", status, rc=s["rc"], nra=s["nra"], le=s["le"], sent_at=s["sent_at"])
    result = run(rows=[row], channels={"Email": ch.Scripted([], then=None, latency=100.0)}, actions=[(10, "read", "n1")], horizon="30s")
    nra = None if s["nra"] is None else at(s["nra"])
    assert_row(result.row("n1"), status="read", sent_at=at(10), retry_count=s["rc"], next_retry_at=nra, last_error="boom")
    assert_row(result.requeues.iloc[0], action="read", from_status=status, outcome="read")

    table, service = machine(dict(row, next_retry_at=s["nra"], sent_at=None))
    r = service.mark_as_read("n1", 10.0)
    assert (r.status, r.sent_at, r.retry_count, r.next_retry_at, r.last_error) == ("read", 10.0, s["rc"], s["nra"], "boom")


def test_state_table_mark_read_unknown_id_error():
    """docs/certctl.md transitions row 13 guard (row exists, else 500), handler/notifications.go: an unknown id is an error and changes nothing."""
    table, service = machine(row_dict("n1", "sent", sent_at=-100.0))
    with pytest.raises(NotFound):
        service.mark_as_read("nope", 10.0)
    result = run(rows=[row_dict("n1", "sent", sent_at=-100.0)], actions=[(10, "read", "nope")], horizon="30s")
    assert_row(result.requeues.iloc[0], notification_id="nope", action="read", outcome="not_found")
    assert_row(result.row("n1"), status="sent", sent_at=at(-100))


# --- row 14: sent / read / dead are terminal ----------------------------------------------------------------------------------


def test_state_table_terminal_states_ignore_timers():
    """docs/certctl.md transitions row 14 (sent / read / dead / timers → none, terminal until operator action); a ``sent`` row with
    stale rc/nra≤now (after a retry success, docs/certctl.md, comments vs code #5) is not retry-eligible either."""
    rows = [
        row_dict("sent", "sent", rc=2, nra=-60.0, le="old", sent_at=-30.0),
        row_dict("read", "read", sent_at=-20.0),
        row_dict("dead", "dead", rc=4, le="gave up", sent_at="0001-01-01T00:00:00Z"),
    ]
    result = run(rows=rows, channels={"Email": ch.Scripted([], then=None)}, horizon="1h")
    assert len(result.attempts) == 0
    assert_row(result.row("sent"), status="sent", retry_count=2, next_retry_at=at(-60), last_error="old", sent_at=at(-30))
    assert_row(result.row("read"), status="read", sent_at=at(-20))
    assert_row(result.row("dead"), status="dead", retry_count=4, next_retry_at=None, last_error="gave up", sent_at=GO_ZERO)


# --- last line: Email against a compliant server ⇒ the failed transition --------------------------------------------------------


def test_state_table_email_compliant_server_takes_failed_transition():
    """docs/certctl.md, transitions (Email against a compliant server: "delivered, reported error" ⇒ the failed transition), email.go.

    As built: a pending Email row → T4 (failed, 0001-01-01, delivered once); an armed Email row → T7 (rc+1,
    le = the quit error, nra = send return + 1 min) although it was delivered — each retry delivers again."""
    chan = {"Email": ch.Scripted([], then=None, latency=1.0)}
    rows = [row_dict("p1", "pending"), row_dict("f1", "failed", rc=0, nra=-30.0, le="connection refused", sent_at="0001-01-01T00:00:00Z")]
    result = run(rows=rows, channels=chan, policy=AS_BUILT, horizon="100s")
    quit_error = sends(result, "p1")["error"].iloc[0]
    assert quit_error.startswith("failed to quit SMTP: 250")
    assert_row(result.row("p1"), status="failed", sent_at=GO_ZERO, retry_count=0, next_retry_at=None, last_error=None, deliveries=1)
    assert_row(result.row("f1"), status="failed", retry_count=1, next_retry_at=at(1 + 60), last_error=quit_error, deliveries=1)
