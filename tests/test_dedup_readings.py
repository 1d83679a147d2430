"""The dedup readings (``Policy.dedup_statuses``): which alert rows suppress a new alert, worked by hand.

certctl's ``HasThresholdNotificationOnChannel`` matches an existing
``ExpirationWarning`` row of any status (``"any"``, as built);
``certctl-i005`` lets ``failed`` rows through (``"not-failed"``); the
renewal comments mean only a delivered alert (``"delivered"``: ``sent`` or
``read``).  Every case below is small enough to follow tick by tick.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import notifsim
from notifsim import ConfigError, Policy
from notifsim.certctl import alert_message
from notifsim.channels import Bernoulli, Outages, Scripted
from notifsim.machine import NotificationTable
from notifsim.operators import Scripted as ScriptedOperator
from notifsim.policy import DEDUP_READINGS
from notifsim.workloads import Fleet

ASBUILT = Policy.preset("certctl-asbuilt").replace(email_quit_defect=False, webhook_notifier=True)
I005 = Policy.preset("certctl-i005")
SLACK_ONLY = {tier: ["Slack"] for tier in ("informational", "warning", "critical")}
EPOCH_NS = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z, the default start, in Unix nanoseconds


def hours(result, rows: pd.DataFrame) -> list[float]:
    return list((rows["created_at"] - result.start) / pd.Timedelta(hours=1))


def alerts(result) -> pd.DataFrame:
    n = result.notifications
    return n[(n["type"] == "ExpirationWarning") & (n["origin"] == "created")]


# -- the readings as values ---------------------------------------------------------------------------------


def test_readings_and_lists_normalise_to_statuses_in_certctls_order():
    assert Policy.preset("certctl-asbuilt").dedup_statuses == ("pending", "sent", "failed", "dead", "read")
    assert Policy.preset("certctl-i005").dedup_statuses == ("pending", "sent", "dead", "read")
    assert Policy(dedup_statuses="delivered").dedup_statuses == ("sent", "read")
    assert Policy(dedup_statuses=["read", "sent", "sent"]).dedup_statuses == ("sent", "read")
    assert Policy(dedup_statuses=frozenset({"dead"})).dedup_statuses == ("dead",)
    assert Policy(dedup_statuses=[]).dedup_statuses == ()
    assert DEDUP_READINGS["any"] == notifsim.machine.STATUSES


def test_replace_names_the_reading_and_to_dict_round_trips():
    p = Policy.preset("certctl-asbuilt").replace(dedup_statuses="delivered")
    assert p.name == "certctl-asbuilt+dedup_statuses=delivered"
    assert Policy.preset("certctl-asbuilt").replace(dedup_statuses=["failed", "sent"]).name == "certctl-asbuilt+dedup_statuses=sent|failed"
    assert Policy.preset("certctl-asbuilt").replace(dedup_statuses="any").name == "certctl-asbuilt"  # no change
    assert p.to_dict()["dedup_statuses"] == ["sent", "read"]
    assert Policy.from_dict(p.to_dict()) == p
    assert Policy.from_dict({"preset": "certctl-asbuilt", "dedup_statuses": "not-failed"}).dedup_statuses == I005.dedup_statuses


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("delivred", "unknown reading 'delivred' (did you mean 'delivered'?); allowed: a reading (any, not-failed, delivered) or a list of statuses"),
        ("sent", "unknown reading 'sent' (did you mean ['sent']?)"),
        (["sent", "Pending"], "unknown status 'Pending' (did you mean 'pending'?); allowed: a reading (any, not-failed, delivered)"),
        (["delivered"], "unknown status 'delivered'"),
        (True, "must be a reading (any, not-failed, delivered) or a list of statuses (pending, sent, failed, dead, read); got True"),
    ],
)
def test_bad_readings_are_config_errors_naming_the_field_and_the_allowed_values(value, text):
    with pytest.raises(ConfigError) as info:
        Policy.preset("certctl-asbuilt").replace(dedup_statuses=value)
    assert info.value.field == "policy.dedup_statuses"
    assert text in str(info.value)
    with pytest.raises(ConfigError) as info:
        Policy(dedup_statuses=value)
    assert info.value.field == "policy.dedup_statuses"


def test_policy_file_takes_a_reading(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text('preset = "certctl-asbuilt"\ndedup_statuses = "delivered"\n')
    from notifsim.cli import main

    out = tmp_path / "runs.duckdb"
    assert main(["run", "--scenario", "steady", "--policy", str(path), "--horizon", "10m", "--db", str(out)]) == 0
    with notifsim.open_results(out) as stored:
        assert stored.runs["policy"].tolist() == ["certctl-asbuilt+dedup_statuses=delivered"]
    path.write_text('preset = "certctl-asbuilt"\ndedup_statuses = ["sent", "sending"]\n')
    assert main(["run", "--scenario", "steady", "--policy", str(path), "--horizon", "10m", "--db", str(tmp_path / "other.duckdb")]) == 2


# -- the table's lookup -------------------------------------------------------------------------------------


def test_table_lookup_counts_only_suppressing_statuses_and_any_counts_every_status_text():
    table = NotificationTable()
    message = alert_message("a.example.com", 5, 7, "2026-01-06")
    for i, status in enumerate(["failed", "Pending"]):  # "Pending": a title-case status from an old snapshot
        table.insert(id=f"r{i}", type="ExpirationWarning", certificate_id=f"mc-{i}", channel="Email", recipient="o", message=message, status=status)
    lookup = table.has_threshold_notification_on_channel
    assert lookup("mc-0", 7, "Email") and lookup("mc-1", 7, "Email")  # as built: no status filter at all
    assert not lookup("mc-0", 7, "Email", DEDUP_READINGS["not-failed"])
    assert not lookup("mc-1", 7, "Email", DEDUP_READINGS["not-failed"])  # an unknown status text is none of the four
    assert lookup("mc-0", 7, "Email", ("failed",)) and not lookup("mc-0", 14, "Email", ("failed",)) and not lookup("mc-0", 7, "Slack")


def test_alert_log_records_rows_taking_a_status_that_does_not_suppress():
    table = NotificationTable()
    table.watch_alerts(DEDUP_READINGS["delivered"])
    message = alert_message("a.example.com", 5, 7, "2026-01-06")
    a = table.create(0.0, type="ExpirationWarning", channel="Email", recipient="o", message=message, certificate_id="mc-0")
    table.create(0.0, type="RenewalSuccess", channel="Email", recipient="o", message="renewed", certificate_id="mc-0")  # not an alert
    assert table.alert_log_since(0) == ([a.seq], 1)  # created pending: pending does not suppress
    table.update_status(a.seq, "sent", 1.0)
    table.update_status(a.seq, "failed", None)
    table.mark_as_dead(a.seq, "boom")
    assert table.alert_log_since(1) == ([a.seq, a.seq], 3)  # failed, then dead; sent suppresses and is not logged
    with pytest.raises(ValueError, match="already dropped"):
        table.alert_log_since(0)
    as_built = NotificationTable()
    as_built.watch_alerts(DEDUP_READINGS["any"])
    row = as_built.create(0.0, type="ExpirationWarning", channel="Email", recipient="o", message=message, certificate_id="mc-0")
    as_built.update_status(row.seq, "failed", None)
    assert as_built.alert_log_since(0) == ([], 0)  # every status suppresses: nothing to revisit


@pytest.mark.parametrize("texts", ["lists", "tuples", "numpy", "arrow", "chunked"])
def test_alert_rows_created_in_bulk_are_indexed_and_logged_as_rows_created_one_by_one(texts):
    """``create_many`` (rows deferred or created together, or an arrival workload's as Arrow arrays) indexes the expiry
    alerts it creates and logs them as taking pending, exactly as ``create`` does one row at a time: tagged bodies with a
    certificate are found by the lookup, untagged ones or ones without a certificate only logged, other types neither."""
    rows = [
        ("ExpirationWarning", "mc-0", alert_message("a.example.com", 5, 7, "2026-01-06")),
        ("ExpirationWarning", "mc-1", "no tag here"),
        ("RenewalSuccess", "mc-2", alert_message("b.example.com", 5, 7, "2026-01-06")),  # a tag, but not an alert
        ("ExpirationWarning", None, alert_message("c.example.com", 20, 30, "2026-01-21")),
        ("ExpirationWarning", "mc-3", alert_message("d.example.com", 0, 0, "2026-01-01")),
    ]
    one_by_one, bulk = NotificationTable(), NotificationTable()
    for table in (one_by_one, bulk):
        table.watch_alerts(DEDUP_READINGS["delivered"])
    for kind, cert, message in rows:
        one_by_one.create(1.0, type=kind, channel="Email", recipient="o", message=message, certificate_id=cert)
    ids, messages = [cert for _, cert, _ in rows], [message for _, _, message in rows]
    bulk.create_many(
        np.full(len(rows), 1.0),
        type=np.array([bulk.types.code(kind) for kind, _, _ in rows], np.int16),
        channel=np.full(len(rows), bulk.channels.code("Email"), np.int16),
        recipient=np.full(len(rows), bulk.recipients.code("o"), np.int32),
        certificate_ids=_as(texts, ids),
        messages=_as(texts, messages),
    )
    channel = bulk.channels.code("Email")  # one channel code for every row, as numpy broadcasts it
    bulk.create_many(
        np.array([2.0]),
        type=np.array([bulk.types.code("ExpirationWarning")], np.int16),
        channel=channel,
        recipient=0,
        certificate_ids=["mc-4"],
        messages=[rows[0][2]],
    )
    one_by_one.create(2.0, type="ExpirationWarning", channel="Email", recipient="o", message=rows[0][2], certificate_id="mc-4")
    for table in (one_by_one, bulk):
        found = [
            (cert, t) for cert in ("mc-0", "mc-1", "mc-2", "mc-3", "mc-4") for t in (0, 7, 30) if table.has_threshold_notification_on_channel(cert, t, "Email")
        ]
        assert found == [("mc-0", 7), ("mc-3", 0), ("mc-4", 7)]
        assert table.alert_log_since(0) == ([0, 1, 3, 4, 5], 5)  # every alert row created pending (pending does not suppress)


def test_rows_created_in_bulk_without_tags_are_logged_and_not_searched():
    """``tagged=False`` (an arrival workload's rows, whose bodies name their type and certificate): the alert rows are
    logged as taking pending, and no body is searched, so a tag there is not found."""
    table = NotificationTable()
    table.watch_alerts(DEDUP_READINGS["delivered"])
    codes = np.array([table.types.code("ExpirationWarning")] * 2, np.int16)
    message = alert_message("a.example.com", 5, 7, "2026-01-06")
    email = table.channels.code("Email")
    table.create_many(np.zeros(2), type=codes, channel=email, recipient=0, certificate_ids=["mc-0", "mc-1"], messages=[message, "x"], tagged=False)
    assert table.alert_log_since(0) == ([0, 1], 2)
    assert not table.has_threshold_notification_on_channel("mc-0", 7, "Email")
    table.create_many(np.ones(1), type=codes[:1], channel=email, recipient=0, certificate_ids=["mc-0"], messages=[message])  # tagged: found
    assert table.has_threshold_notification_on_channel("mc-0", 7, "Email")


def _as(kind: str, texts: list) -> object:
    """Texts as a sequence of the kind ``create_many`` accepts."""
    if kind == "tuples":
        return tuple(texts)
    if kind == "numpy":
        return np.array(texts, dtype=object)
    if kind == "arrow":
        return pa.array(texts, pa.large_string())
    return pa.chunked_array([texts[:2], texts[2:]], pa.large_string()) if kind == "chunked" else texts


# -- which existing rows suppress: one certificate per status -----------------------------------------------------------

STATUS_OF_CERT = ["pending", "sent", "failed", "dead", "read"]


def _one_row_per_status() -> list[dict]:
    rows = []
    for c, status in enumerate(STATUS_OF_CERT):
        rows.append(
            {
                "id": f"old-{status}",
                "type": "ExpirationWarning",
                "certificate_id": f"mc-{c:06d}",
                "channel": "Email",
                "recipient": "owner-1@example.com",
                "status": status,
                "sent_at": None if status == "pending" else -7200.0,
                "created_at": -7200.0,
                "message": alert_message(f"svc-{c:06d}.example.com", 5, 7, "2026-01-06"),
            }
        )
    return rows


@pytest.mark.parametrize(
    ("reading", "alerted"),
    [
        ("any", []),
        ("not-failed", ["failed"]),
        ("delivered", ["pending", "failed", "dead"]),
        (("failed",), ["pending", "sent", "dead", "read"]),
        ((), ["pending", "sent", "failed", "dead", "read"]),
    ],
)
def test_which_existing_rows_suppress_under_each_reading(reading, alerted):
    """Five certificates at 5 days, each with one [threshold:7] Email row in a different status; one renewal check.

    The pending row is being sent by the process tick at t = 0 (its Send takes 1 s), so it is still
    pending when the renewal check looks at it a moment later, in the same instant.
    """
    fleet = Fleet(expires_in_days=[5.0] * 5, auto_renew=0, thresholds=[7])
    scenario = notifsim.Scenario("statuses", channels={"Email": Bernoulli(0.0, latency=1.0)}, workload=fleet)
    result = notifsim.simulate(scenario, ASBUILT.replace(dedup_statuses=reading), horizon="30m", initial_rows=_one_row_per_status())
    new = alerts(result)
    assert sorted(new["certificate_id"]) == [f"mc-{STATUS_OF_CERT.index(s):06d}" for s in alerted]
    # created one after the other in the same check, each after the previous one's 1-second Send
    assert list((new["created_at"] - result.start).dt.total_seconds()) == [float(i) for i in range(len(alerted))]
    assert result.counters.get("alerts_deduped", 0) == 5 - len(alerted)


# -- each reading through a Slack outage ------------------------------------------------------------------------------

# One certificate 5 days from expiry, alerted at 7 days on Slack; Slack is down for the first 2.5 hours; the
# renewal check runs hourly.  As built a failed first Send strands the row; under certctl-i005 it is retried at
# the retry ticks of 120, 240, 480 and 960 s after its hour, all inside the outage, and is dead 16 minutes in.
OUTAGE_CASES = [
    # policy, reading: hours alerts are created at, their final statuses
    (ASBUILT, "any", [0], ["failed"]),  # certctl as built: the failed row suppresses for good
    (ASBUILT, "not-failed", [0, 1, 2, 3], ["failed", "failed", "failed", "sent"]),  # re-sent every hour until Slack is back
    (ASBUILT, "delivered", [0, 1, 2, 3], ["failed", "failed", "failed", "sent"]),  # as built nothing else is undelivered
    (ASBUILT, (), [0, 1, 2, 3, 4], ["failed", "failed", "failed", "sent", "sent"]),  # no dedup: an alert every hour
    (I005, "any", [0], ["dead"]),
    (I005, "not-failed", [0], ["dead"]),  # certctl-i005: the dead row suppresses; the alert is never delivered
    (I005, "delivered", [0, 1, 2, 3], ["dead", "dead", "dead", "sent"]),  # a dead row does not: the 3 h alert gets through
]


@pytest.mark.parametrize(("policy", "reading", "created", "statuses"), OUTAGE_CASES)
def test_each_reading_through_a_slack_outage(policy, reading, created, statuses):
    fleet = Fleet(expires_in_days=[5.0], auto_renew=0, thresholds=[7], channels=SLACK_ONLY)
    scenario = notifsim.Scenario("outage", channels={"Slack": Outages([(0, "150m")])}, workload=fleet)
    result = notifsim.simulate(scenario, policy.replace(dedup_statuses=reading), horizon="5h")
    rows = alerts(result)
    assert hours(result, rows) == created
    assert list(rows["status"]) == statuses
    assert list(rows["deliveries"]) == [0] * (len(created) - statuses.count("sent")) + [1] * statuses.count("sent")
    if policy is I005:
        dead = rows[rows["status"] == "dead"]
        assert (dead["attempts"] == 5).all() and (dead["retry_count"] == 4).all()
        sends = result.attempts.merge(rows[["id"]], left_on="notification_id", right_on="id")
        first = sends[sends["notification_id"] == rows["id"].iloc[0]]
        assert list((first["at"] - result.start).dt.total_seconds()) == [0.0, 120.0, 240.0, 480.0, 960.0]


def test_a_row_marked_read_stops_suppressing_under_a_sent_only_reading():
    """Reading ("sent",): an operator marks the alert read, so it no longer suppresses and the next check re-alerts.

    0 h: alert A (sent).  0.5 h: A marked read.  1 h: A is read → alert B (sent).  2 h: B suppresses.
    2.5 h: B marked read.  3 h: alert C.  The certificate is revisited because its row took a status that does
    not suppress (read), not because of any wake-up of its own: with "delivered" the same actions change nothing.
    """
    a = f"notif-{EPOCH_NS}-1"
    b = f"notif-{EPOCH_NS + 3600 * 10**9}-2"
    operator = ScriptedOperator([("30m", "read", a), ("150m", "read", b)])
    fleet = Fleet(expires_in_days=[5.0], auto_renew=0, thresholds=[7])
    scenario = notifsim.Scenario("read", channels={"Email": Scripted([])}, workload=fleet, operator=operator)
    sent_only = notifsim.simulate(scenario, ASBUILT.replace(dedup_statuses=("sent",)), horizon="4h")
    rows = alerts(sent_only)
    assert list(rows["id"][:2]) == [a, b]
    assert hours(sent_only, rows) == [0, 1, 3]
    assert list(rows["status"]) == ["read", "read", "sent"]
    delivered = notifsim.simulate(scenario, ASBUILT.replace(dedup_statuses="delivered"), horizon="4h")
    assert hours(delivered, alerts(delivered)) == [0]
