"""Conformance: certctl's repository tests (``internal/repository/postgres/notification_test.go``)
and the repository semantics of postgres/notification.go, against :class:`notifsim.machine.NotificationTable`.

certctl's fixtures are raw-SQL INSERTs on channel ``Webhook`` with ``now`` = UTC truncated to µs,
``past`` = now − 5 min, ``future`` = now + 5 min.  Here times are simulation seconds; where it is cheap the
same rows are also run through :func:`notifsim.simulate` (the retry tick at t=0 plays ``now``).
"""

from __future__ import annotations

import pandas as pd
import pytest

import notifsim
from notifsim import channels as ch
from notifsim.machine import NotFound, NotificationService, NotificationTable, RequeueRefused
from notifsim.timeutil import ZERO_TIME

START = pd.Timestamp("2026-01-01T00:00:00Z")
AS_BUILT = notifsim.Policy.preset("certctl-asbuilt")
I005 = notifsim.Policy.preset("certctl-i005")

NOW = 10_000.0
PAST = NOW - 300.0
FUTURE = NOW + 300.0


def at(seconds: float) -> pd.Timestamp:
    return START + pd.Timedelta(seconds=seconds)


def insert(table: NotificationTable, id: str, status: str, rc: int = 0, nra: float | None = None, le: str | None = None, **extra):
    values = dict(
        id=id,
        type="ExpirationWarning",
        certificate_id=None,
        channel="Webhook",
        recipient="ops@example.com",
        message=f"fixture {id}",
        status=status,
        retry_count=rc,
        next_retry_at=nra,
        last_error=le,
        error=None,
        created_at=NOW - 3600.0,
        sent_at=None,
    )
    values.update(extra)
    return table.insert(**values)


def eligible_fixture(order=None) -> NotificationTable:
    """The eight rows of ListRetryEligible (notification_test.go:59-160)."""
    rows = [
        ("overdue-1", "failed", 1, PAST - 30.0),
        ("overdue-2", "failed", 3, PAST),
        ("future", "failed", 2, FUTURE),
        ("exhausted", "failed", 5, PAST - 30.0),
        ("pending", "pending", 0, None),
        ("sent", "sent", 0, None),
        ("dead", "dead", 5, None),
        ("unsched", "failed", 1, None),
    ]
    if order is not None:
        rows = [rows[i] for i in order]
    table = NotificationTable()
    for id, status, rc, nra in rows:
        insert(table, id, status, rc, nra, le="boom" if status in ("failed", "dead") else None)
    return table


def ids(rows) -> list[str]:
    return [r.id for r in rows]


# ---------------------------------------------------------------------------------------------------
# ListRetryEligible
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", [None, [7, 6, 5, 4, 3, 2, 1, 0]], ids=["certctl-order", "reversed-insert"])
def test_list_retry_eligible(order):
    """certctl internal/repository/postgres/notification_test.go ListRetryEligible (59-160), postgres/notification.go: ``status='failed' AND
    next_retry_at IS NOT NULL AND
    next_retry_at <= now AND retry_count < maxAttempts ORDER BY next_retry_at ASC LIMIT limit``.

    Of the 8 rows only overdue-1 (rc 1, past−30s) and overdue-2 (rc 3, past) are eligible, in that order;
    future, exhausted (rc 5), pending, sent, dead and unsched (NULL nra) are excluded.
    """
    table = eligible_fixture(order)
    assert ids(table.list_retry_eligible(NOW, 5, 100)) == ["overdue-1", "overdue-2"]
    assert ids(table.list_retry_eligible(NOW, 5, 1)) == ["overdue-1"]
    assert ids(table.list_retry_eligible(NOW, 2, 100)) == ["overdue-1"]


def test_list_retry_eligible_boundaries_and_default_limit():
    """postgres/notification.go / service/testutil_test.go mock: ``next_retry_at == now`` is included (``<=``); ``limit <= 0`` means 1000; no 500-row cap."""
    table = NotificationTable()
    insert(table, "at-now", "failed", 0, NOW)
    insert(table, "just-after", "failed", 0, NOW + 1e-6)
    assert ids(table.list_retry_eligible(NOW, 5, 100)) == ["at-now"]

    big = NotificationTable()
    for i in range(1001):
        insert(big, f"r{i:04d}", "failed", 0, float(i))
    assert len(big.list_retry_eligible(2000.0, 5, 0)) == 1000
    assert len(big.list_retry_eligible(2000.0, 5, -1)) == 1000
    assert len(big.list_retry_eligible(2000.0, 5, 1001)) == 1001
    assert ids(big.list_retry_eligible(2000.0, 5, 3)) == ["r0000", "r0001", "r0002"]


def test_list_retry_eligible_in_retry_sweep():
    """certctl internal/repository/postgres/notification_test.go ListRetryEligible rows driven through the retry sweep (RetryFailedNotifications):
    with a (failing) Webhook notifier,
    the t=0 retry tick sends exactly overdue-1 then overdue-2; every other row is untouched."""
    rows = []
    for id, status, rc, nra in [
        ("overdue-1", "failed", 1, -330.0),
        ("overdue-2", "failed", 3, -300.0),
        ("future", "failed", 2, 300.0),
        ("exhausted", "failed", 5, -330.0),
        ("sent", "sent", 0, None),
        ("dead", "dead", 5, None),
        ("unsched", "failed", 1, None),
    ]:
        rows.append(
            dict(
                id=id,
                channel="Webhook",
                status=status,
                retry_count=rc,
                next_retry_at=nra,
                last_error="boom" if status != "sent" else None,
                sent_at=-600.0 if status == "sent" else None,
            )
        )
    policy = AS_BUILT.replace(webhook_notifier=True)
    scenario = notifsim.Scenario(name="t", channels={"Webhook": ch.Scripted([], then="webhook: HTTP 503: service unavailable")})
    result = notifsim.simulate(scenario, policy, horizon="60s", initial_rows=rows)
    attempts = result.attempts
    assert list(attempts["notification_id"]) == ["overdue-1", "overdue-2"]
    assert list(attempts["retry_count_before"]) == [1, 3]
    assert list(attempts["loop"]) == ["retry", "retry"]
    r1, r2 = result.row("overdue-1"), result.row("overdue-2")
    assert (r1["status"], r1["retry_count"], r1["next_retry_at"]) == ("failed", 2, at(120))
    assert (r2["status"], r2["retry_count"], r2["next_retry_at"]) == ("failed", 4, at(480))
    for nid, status, rc in [("future", "failed", 2), ("exhausted", "failed", 5), ("sent", "sent", 0), ("dead", "dead", 5), ("unsched", "failed", 1)]:
        row = result.row(nid)
        assert (row["status"], row["retry_count"], row["attempts"]) == (status, rc, 0), nid


# ---------------------------------------------------------------------------------------------------
# RecordFailedAttempt, MarkAsDead, Requeue
# ---------------------------------------------------------------------------------------------------


def test_record_failed_attempt():
    """certctl internal/repository/postgres/notification_test.go RecordFailedAttempt (166-223), postgres/notification.go: ``retry_count + 1``,
    ``last_error``, ``next_retry_at``;
    status and sent_at untouched; unknown id → not found."""
    table = NotificationTable()
    insert(table, "n1", "failed", 2, PAST, le="first failure", sent_at=ZERO_TIME)
    new_nra = NOW + 480.0
    row = table.record_failed_attempt("n1", "connection refused", new_nra)
    assert (row.status, row.retry_count, row.next_retry_at, row.last_error, row.sent_at) == ("failed", 3, new_nra, "connection refused", ZERO_TIME)
    assert table.get("n1") == row
    with pytest.raises(NotFound) as info:
        table.record_failed_attempt("missing", "x", NOW)
    assert str(info.value) == "notification not found: missing"


def test_record_failed_attempt_does_not_touch_status():
    """postgres/notification.go vs service/testutil_test.go mock: Postgres ``RecordFailedAttempt`` does not write status (only the unit-test mock forces
    ``failed``); a ``pending`` row stays ``pending``."""
    table = NotificationTable()
    insert(table, "p1", "pending", 0, None)
    row = table.record_failed_attempt("p1", "boom", NOW + 60.0)
    assert (row.status, row.retry_count, row.next_retry_at, row.last_error) == ("pending", 1, NOW + 60.0, "boom")
    assert table.count_by_status("pending") == 1 and table.count_by_status("failed") == 0


def test_mark_as_dead():
    """certctl internal/repository/postgres/notification_test.go MarkAsDead (229-289), postgres/notification.go: ``status='dead'``, ``next_retry_at``
    NULL, ``last_error``; rc 5 kept;
    unknown id → not found."""
    table = NotificationTable()
    insert(table, "n1", "failed", 5, PAST, le="prior failure")
    row = table.mark_as_dead("n1", "max attempts exceeded")
    assert (row.status, row.next_retry_at, row.retry_count, row.last_error) == ("dead", None, 5, "max attempts exceeded")
    assert table.list_retry_eligible(NOW + 1e6, 10, 100) == []
    with pytest.raises(NotFound):
        table.mark_as_dead("missing", "x")


def test_requeue():
    """certctl internal/repository/postgres/notification_test.go Requeue (303-340), postgres/notification.go: dead (rc 5, "gave up") and failed (rc
    2, "transient") rows →
    ``pending``, rc 0, nra NULL, le NULL; ``sent_at`` and ``error`` untouched; unknown id → not found."""
    table = NotificationTable()
    insert(table, "dead", "dead", 5, None, le="gave up", sent_at=ZERO_TIME, error="legacy error")
    insert(table, "failed", "failed", 2, PAST, le="transient", sent_at=ZERO_TIME)
    insert(table, "sent", "sent", 0, None, sent_at=NOW - 60.0)
    for nid in ("dead", "failed"):
        row = table.requeue(nid)
        assert (row.status, row.retry_count, row.next_retry_at, row.last_error, row.sent_at) == ("pending", 0, None, None, ZERO_TIME)
    assert table.get("dead").error == "legacy error"
    assert table.list_retry_eligible(NOW, 5, 100) == []
    assert table.count_by_status("pending") == 2
    with pytest.raises(NotFound):
        table.requeue("missing")


def test_requeue_sent_row_accepted_as_built():
    """certctl internal/repository/postgres/notification_test.go note, docs/certctl.md, comments vs code #9: the test's ``sent`` row "must NOT" be
    requeued per comments, but no layer checks
    status — Requeue moves it to ``pending`` (sent_at kept).  With ``requeue_any_status`` off (i005) the service refuses."""
    table = NotificationTable()
    insert(table, "sent", "sent", 0, None, sent_at=NOW - 60.0)
    row = NotificationService(table, AS_BUILT, []).requeue_notification("sent")
    assert (row.status, row.retry_count, row.sent_at) == ("pending", 0, NOW - 60.0)

    table2 = NotificationTable()
    insert(table2, "sent", "sent", 0, None, sent_at=NOW - 60.0)
    with pytest.raises(RequeueRefused):
        NotificationService(table2, I005, []).requeue_notification("sent")
    assert table2.get("sent").status == "sent"


# ---------------------------------------------------------------------------------------------------
# CreatedAt, CountByStatus
# ---------------------------------------------------------------------------------------------------


def test_created_at_is_persisted():
    """certctl internal/repository/postgres/notification_test.go CreatedAt_IsPersisted (354-391): an explicit CreatedAt round-trips through Create + List."""
    table = NotificationTable()
    table.insert(
        id="n1",
        type="ExpirationWarning",
        certificate_id=None,
        channel="Webhook",
        recipient="r",
        message="m",
        status="pending",
        retry_count=0,
        next_retry_at=None,
        last_error=None,
        error=None,
        created_at=-12345.678901,
        sent_at=None,
    )
    assert [r.created_at for r in table.list_pending(50)] == [-12345.678901]

    explicit = "2025-12-31T12:34:56.789012Z"
    scenario = notifsim.Scenario(name="t", channels={})
    result = notifsim.simulate(
        scenario, AS_BUILT, horizon="10s", initial_rows=[dict(id="n1", channel="Webhook", status="sent", created_at=explicit, sent_at=explicit)]
    )
    assert result.row("n1")["created_at"] == pd.Timestamp(explicit)


def test_created_at_defaults_to_now():
    """certctl internal/repository/postgres/notification_test.go CreatedAt_DefaultsToNow (399-429), postgres/notification.go Create: a created row
    gets ``created_at`` = now, and
    ``retry_count`` 0, ``next_retry_at``/``last_error``/``sent_at``/``error`` NULL, status ``pending``."""
    table = NotificationTable()
    row = table.create(42.25, id="n1", type="ExpirationWarning", channel="Email", recipient="r@example.com", message="m")
    assert (row.created_at, row.status, row.retry_count, row.next_retry_at, row.last_error, row.sent_at, row.error) == (
        42.25,
        "pending",
        0,
        None,
        None,
        None,
        None,
    )

    from notifsim.workloads import Workload

    class One(Workload):
        def process(self, hooks):
            yield hooks.timeout(42.25)
            hooks.create(type="RenewalSuccess", channel="Webhook", recipient="r@example.com", message="m", certificate_id="mc-1", deadline=120.0)

    result = notifsim.simulate(notifsim.Scenario(name="t", channels={}, workload=One()), AS_BUILT, horizon="60s")
    created = result.notifications.iloc[0]
    assert created["created_at"] == at(42.25)


def test_count_by_status_exact_match():
    """postgres/notification.go CountByStatus: ``WHERE status = $1`` exact (title-case ``Pending`` is a different value)."""
    table = eligible_fixture()
    assert table.count_by_status("failed") == 5
    assert table.count_by_status("dead") == 1
    assert table.count_by_status("pending") == 1
    assert table.count_by_status("Pending") == 0


def test_generated_ids_follow_certctl_and_resolve():
    """Rows created without an id get the service's ``notif-<UnixNano>-<counter>`` (migrations/000001, renewal.go generateID, renewal.go
    generateID); the table resolves them like any id, and refuses a near miss or a duplicate."""
    epoch_ns = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
    table = NotificationTable(id_epoch_ns=epoch_ns)
    table.insert(id="snap-1", type="ExpirationWarning", channel="Email", recipient="r", message="m", status="sent", created_at=-5.0)
    a = table.create(1.5, type="RenewalSuccess", channel="Email", recipient="r")
    b = table.create(2.25, type="RenewalSuccess", channel="Slack", recipient="r")
    assert (a.id, b.id) == (f"notif-{epoch_ns + 1_500_000_000}-1", f"notif-{epoch_ns + 2_250_000_000}-2")
    assert table.get(b.id) == b and b.id in table and "snap-1" in table
    assert f"notif-{epoch_ns + 1_500_000_001}-1" not in table and "notif-1-3" not in table and "notif-x-1" not in table
    with pytest.raises(NotFound):
        table.update_status(f"notif-{epoch_ns}-2", "sent", 3.0)
    with pytest.raises(ValueError, match="duplicate"):
        table.insert(id=a.id, type="RenewalSuccess", channel="Email", recipient="r", message="", status="sent")
    table.update_status(a.id, "sent", 3.0)
    assert (table.get(a.id).status, table.get(a.id).sent_at) == ("sent", 3.0)


def test_result_ids_are_certctl_style_and_unique():
    scenario = notifsim.Scenario(channels={"Email": notifsim.channels.Bernoulli(0.5)}, workload=notifsim.workloads.Poisson(600, channels={"Email": 1}))
    n = notifsim.simulate(scenario, "certctl-i005", seed=4, horizon="1h").notifications
    assert n["id"].is_unique and len(n) > 400
    assert n["id"].str.fullmatch(r"notif-\d{19}-\d+").all()
    parts = n["id"].str.split("-", expand=True)
    assert parts[2].astype(int).tolist() == list(range(1, len(n) + 1))  # the service's counter, in creation order
    created_ns = (n["created_at"] - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta(nanoseconds=1)
    assert ((parts[1].astype("int64") - created_ns).abs() < 1000).all()  # UnixNano of the creation (created_at keeps µs)


def test_ids_in_results_are_the_ids_the_service_answers_to():
    """An id read from a run's results addresses the same row in a rerun: a requeue by that id lands."""
    channels = {"Slack": notifsim.channels.Bernoulli(0.5)}
    workload = notifsim.workloads.Poisson(300, channels={"Slack": 1})
    first = notifsim.simulate(notifsim.Scenario(channels=channels, workload=workload), "certctl-asbuilt", seed=9, horizon="1h")
    stranded = first.notifications[first.notifications["status"] == "failed"]["id"].tolist()[:3]
    assert len(stranded) == 3
    actions = [(3000, "requeue", nid) for nid in stranded] + [(3000, "requeue", stranded[0] + "9")]
    again = notifsim.simulate(
        notifsim.Scenario(channels=channels, workload=workload, operator=notifsim.operators.Scripted(actions)),
        "certctl-asbuilt",
        seed=9,
        horizon="1h",
    )
    assert again.requeues["outcome"].tolist() == ["requeued", "requeued", "requeued", "not_found"]
    assert (again.notifications.set_index("id").loc[stranded, "requeues"] == 1).all()


def test_clearing_the_table_keeps_the_id_epoch():
    """Generated ids carry the run's start (UnixNano): a cleared table keeps generating them from the same epoch."""
    table = NotificationTable(id_epoch_ns=1_767_225_600_000_000_000)
    first = table.create(0.0, type="ExpirationWarning", channel="Email", recipient="a@example.com")
    assert table.id_of(first.seq) == "notif-1767225600000000000-1"
    table.clear()
    again = table.create(2.5, type="ExpirationWarning", channel="Email", recipient="a@example.com")
    assert table.id_of(again.seq) == "notif-1767225602500000000-1"
