"""Initial rows: dicts, DataFrames and certctl's list-API JSON, with certctl's Create defaults."""

import json

import pandas as pd
import pytest

import notifsim
from notifsim import ConfigError
from notifsim.errors import NotifsimWarning

START = pd.Timestamp("2026-01-01T00:00:00Z")


def _run(rows, **kw):
    # no channels and no notifier: ticks still run, rows are only read back
    scenario = notifsim.Scenario(channels={"Email": notifsim.channels.Scripted([], then="down")})
    return notifsim.simulate(scenario, "certctl-asbuilt", horizon="1s", initial_rows=rows, **kw)


def test_defaults_follow_create():
    result = _run([{"id": "a", "status": "sent", "sent_at": -30.0}])
    row = result.row("a")
    assert row["type"] == "ExpirationWarning" and row["channel"] == "Email"
    assert row["retry_count"] == 0
    assert pd.isna(row["next_retry_at"]) and pd.isna(row["last_error"]) and pd.isna(row["error"])
    assert row["created_at"] == START
    assert row["sent_at"] == START - pd.Timedelta(seconds=30)
    assert row["origin"] == "initial"


def test_json_from_certctl_list_api(tmp_path):
    body = {
        "data": [
            {
                "id": "notif-dead-001",
                "type": "ExpirationWarning",
                "certificate_id": "mc-1",
                "channel": "Email",
                "recipient": "owner@example.com",
                "message": "The certificate will expire [threshold:7]",
                "sent_at": "0001-01-01T00:00:00Z",
                "status": "dead",
                "retry_count": 4,
                "last_error": "SMTP connection refused",
                "created_at": "2025-12-31T23:00:00Z",
            },
            {
                "id": "notif-2",
                "type": "Revocation",
                "channel": "Webhook",
                "recipient": "x",
                "message": "m",
                "status": "sent",
                "sent_at": "2025-12-31T23:30:00+00:00",
                "created_at": "2025-12-31T23:29:59Z",
                "retry_count": 0,
            },
        ],
        "total": 2,
        "page": 1,
        "per_page": 50,
    }
    path = tmp_path / "notifications.json"
    path.write_text(json.dumps(body))
    result = _run(str(path))
    dead = result.row("notif-dead-001")
    assert dead["status"] == "dead" and dead["retry_count"] == 4
    assert dead["sent_at"] == pd.Timestamp("0001-01-01T00:00:00Z")
    assert dead["created_at"] == pd.Timestamp("2025-12-31T23:00:00Z")
    assert result.row("notif-2")["sent_at"] == pd.Timestamp("2025-12-31T23:30:00Z")


def test_dataframe_input():
    frame = pd.DataFrame(
        {"id": ["x", "y"], "status": ["failed", "dead"], "retry_count": [5, 4], "next_retry_at": [-60.0, None], "last_error": ["e", "gave up"]}
    )
    result = _run(frame)
    assert result.row("x")["next_retry_at"] == START - pd.Timedelta(seconds=60)
    assert pd.isna(result.row("y")["next_retry_at"])


def test_unknown_column_suggests():
    with pytest.raises(ConfigError, match="did you mean 'retry_count'"):
        _run([{"id": "a", "retry_cnt": 1}])


def test_duplicate_ids_rejected():
    with pytest.raises(ConfigError, match="duplicate id"):
        _run([{"id": "a"}, {"id": "a"}])


def test_bad_time_names_field():
    with pytest.raises(ConfigError) as info:
        _run([{"id": "a", "sent_at": "yesterday-ish"}])
    assert info.value.field == "initial_rows[0].sent_at"


def test_unreadable_path():
    with pytest.raises(ConfigError, match="cannot read"):
        _run("/nonexistent/notifications.json")


def test_names_spelt_another_way_are_kept_as_written_with_a_warning():
    """certctl's columns have no CHECK constraint and its queries match texts exactly.  A title-case ``Pending``
    (certctl's legacy UI), a snake_case type (its demo seed) and a lowercase ``email`` load with one warning;
    over three process ticks (0, 60, 120 s) the ``Pending`` row is never listed, the ``email`` row (pending)
    has no notifier, so the first tick marks it sent without a Send, and the snake_case row, an ordinary
    pending Email row otherwise, is sent once."""
    rows = [
        {"id": "legacy", "status": "Pending"},
        {"id": "seed", "status": "pending", "type": "expiration_warning"},
        {"id": "lower", "status": "pending", "channel": "email"},
    ]
    scenario = notifsim.Scenario(channels={"Email": notifsim.channels.Scripted([])}, workload=None)
    with pytest.warns(NotifsimWarning, match=r"initial_rows\[0\]\.status: 'Pending' is not 'pending'.*\(and 2 more\)"):
        result = notifsim.simulate(scenario, "certctl-asbuilt", horizon="150s", initial_rows=rows)
    by_id = result.notifications.set_index("id")
    assert by_id.loc["legacy", "status"] == "Pending" and by_id.loc["legacy", "attempts"] == 0
    assert by_id.loc["lower", "status"] == "sent" and by_id.loc["lower", "attempts"] == 0
    assert by_id.loc["seed", "type"] == "expiration_warning" and by_id.loc["seed", "attempts"] == 1
    assert sorted(result.attempts["notification_id"]) == ["seed"]
    assert result.ticks.query("loop == 'process'")["rows"].tolist() == [2, 0, 0]  # 0 s: seed and lower; then nothing


@pytest.mark.parametrize(("field", "value"), [("status", "pendng"), ("type", "ExpiryWarning"), ("channel", "Mail")])
def test_a_name_certctl_does_not_have_is_refused(field, value):
    with pytest.raises(ConfigError, match=rf"initial_rows\[0\]\.{field}: unknown value '{value}'"):
        _run([{"id": "a", field: value}])
