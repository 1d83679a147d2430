"""Policy: presets exactly as docs/policies.md, certctl's retry arithmetic, validation naming the field."""

import subprocess
import sys

import pytest

import notifsim
from notifsim import ConfigError, Policy
from notifsim.policy import SWITCHES


def test_presets_listed():
    """The two certctl profiles first, then the industry presets of issue 4 (tests/test_policies.py)."""
    assert Policy.presets()[:2] == ["certctl-asbuilt", "certctl-i005"]
    assert Policy.presets()[2:] == ["sidekiq", "sqs", "pubsub", "celery", "grpc", "aws-sdk-standard", "svix", "k8s-crashloop"]


@pytest.mark.parametrize("module", ["notifsim.presets", "notifsim.policy"])
def test_the_presets_import_whichever_module_comes_first(module):
    code = f"import {module}; from {module} import PRESETS, CERTCTL_I005; print(len(PRESETS), CERTCTL_I005.name)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["10", "certctl-i005"]


def test_asbuilt_preset_matches_design():
    p = Policy.preset("certctl-asbuilt")
    assert (p.process_interval, p.retry_interval, p.process_deadline, p.retry_deadline) == (60, 120, 60, 120)
    assert (p.pending_batch, p.sweep_limit, p.max_attempts) == (50, 1000, 5)
    assert (p.backoff_base, p.backoff_multiplier, p.backoff_cap) == (60, 2, 3600)
    assert p.switches() == {
        "arm_first_failure": False,
        "pending_batch": 50,
        "webhook_notifier": False,
        "dedup_statuses": ("pending", "sent", "failed", "dead", "read"),
        "email_quit_defect": True,
        "requeue_any_status": True,
        "success_clears_retry_fields": False,
    }


def test_i005_differs_from_asbuilt_only_in_the_switches():
    a, b = Policy.preset("certctl-asbuilt"), Policy.preset("certctl-i005")
    differing = {k for k, v in a.to_dict().items() if b.to_dict()[k] != v} - {"name"}
    assert differing == set(SWITCHES)
    assert b.switches() == {
        "arm_first_failure": True,
        "pending_batch": 1000,
        "webhook_notifier": True,
        "dedup_statuses": ("pending", "sent", "dead", "read"),
        "email_quit_defect": False,
        "requeue_any_status": False,
        "success_clears_retry_fields": True,
    }


def test_backoff_is_pre_increment_doubling_capped_at_one_hour():
    p = Policy.preset("certctl-asbuilt")
    assert [p.backoff(rc) for rc in range(8)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert p.backoff(10_000) == 3600


def test_exhaustion_at_max_attempts_minus_one():
    p = Policy.preset("certctl-asbuilt")
    assert [p.exhausted(rc) for rc in range(6)] == [False, False, False, False, True, True]
    assert p.replace(max_attempts=1).exhausted(0)


def test_replace_changes_one_field_and_renames():
    p = Policy.preset("certctl-asbuilt").replace(arm_first_failure=True)
    assert p.arm_first_failure is True
    assert p.name == "certctl-asbuilt+arm_first_failure=True"
    assert Policy.preset("certctl-asbuilt").arm_first_failure is False


def test_durations_accept_strings():
    p = Policy(retry_interval="5m", backoff_cap="2h")
    assert (p.retry_interval, p.backoff_cap) == (300, 7200)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"process_interval": 0.5}, "policy.process_interval"),
        ({"retry_interval": "soon"}, "policy.retry_interval"),
        ({"max_attempts": 0}, "policy.max_attempts"),
        ({"pending_batch": 2.5}, "policy.pending_batch"),
        ({"backoff_multiplier": 0.5}, "policy.backoff_multiplier"),
        ({"backoff_cap": 10}, "policy.backoff_cap"),
        ({"arm_first_failure": "yes"}, "policy.arm_first_failure"),
    ],
)
def test_invalid_values_name_the_field(changes, field):
    with pytest.raises(ConfigError) as info:
        Policy.preset("certctl-asbuilt").replace(**changes)
    assert info.value.field == field


def test_unknown_field_suggests_closest():
    with pytest.raises(ConfigError, match="did you mean 'max_attempts'"):
        Policy.preset("certctl-i005").replace(max_attempt=3)


def test_unknown_preset_lists_allowed():
    with pytest.raises(ConfigError, match="certctl-asbuilt, certctl-i005"):
        Policy.preset("sidekiq-ish")


def test_policy_from_dict_starts_from_preset():
    p = Policy.from_dict({"preset": "certctl-i005", "max_attempts": 8})
    assert p.max_attempts == 8 and p.arm_first_failure is True


def test_max_attempts_changes_dead_letter_budget():
    """With arm_first_failure and an always-failing channel, a row is dead after exactly max_attempts Sends."""
    scenario = notifsim.Scenario(
        channels={"Slack": notifsim.channels.Scripted([], then="boom")},
        initial_rows=[{"id": "n1", "channel": "Slack", "status": "pending"}],
    )
    for max_attempts in (1, 3, 5):
        policy = Policy.preset("certctl-i005").replace(max_attempts=max_attempts)
        result = notifsim.simulate(scenario, policy, horizon="6h")
        row = result.row("n1")
        assert row["status"] == "dead"
        assert row["attempts"] == max_attempts
        assert row["retry_count"] == max_attempts - 1 if max_attempts > 1 else row["retry_count"] == 0
