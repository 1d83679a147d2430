"""The policy presets: certctl as built and as designed, and industry retry/dead-letter systems as data.

Each industry preset is ``certctl-i005`` (certctl's defects fixed) with
only the retry policy replaced, so comparisons are between retry policies;
its ``description`` names the system's documents and the approximations.
``docs/policies.md`` has the table.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .policy import DEDUP_READINGS, PERMANENT_ERRORS, Policy

CERTCTL_ASBUILT = Policy(
    name="certctl-asbuilt",
    description=(
        "certctl at HEAD: a first-send failure strands the row (failed, next_retry_at NULL); "
        "pending batch 50; no Webhook notifier; an alert row of any status suppresses a new alert; requeue from any status; "
        "success keeps stale retry fields; Email delivered but reported failed."
    ),
)

CERTCTL_I005 = dataclasses.replace(
    CERTCTL_ASBUILT,
    name="certctl-i005",
    pending_batch=1000,
    arm_first_failure=True,
    webhook_notifier=True,
    dedup_statuses=DEDUP_READINGS["not-failed"],
    email_quit_defect=False,
    requeue_any_status=False,
    success_clears_retry_fields=True,
    description=(
        "certctl as I-005 designed it: a first failure arms the retry path (rc 1, next try after 1 min); "
        "5 sends then dead; pending batch 1000; working Webhook notifier; a failed alert row does not suppress a new alert; "
        "no Email quit defect; requeue refused for sent/read; success clears retry fields."
    ),
)

#: Attempts that stand in for "forever" (gRPC, Kubernetes): ≈ 13.9 days of retries at gRPC's 120 s cap and
#: ≈ 34.7 days at CrashLoopBackOff's 300 s cap — longer than any horizon notifsim is run for.
FOREVER_ATTEMPTS = 10_000

#: The industry presets as data: the fields each sets on top of ``certctl-i005`` (the certctl defects fixed, so
#: only the retry policy differs), and what the README's presets table says about it.  ``retry_interval`` is the
#: poll period of the retry loop: attempts are quantised to it, so presets with short waits poll more often.
INDUSTRY_PRESETS: tuple[dict[str, Any], ...] = (
    dict(
        name="sidekiq",
        fields=dict(backoff_schedule="sidekiq", jitter="sidekiq", max_attempts=26, retry_interval=5.0, requeue_mode="one_more"),
        schedule="c⁴ + 15 s, c = retry count before the failure (15 s, 16 s, 31 s, 96 s, 271 s, …, 3.84 d)",
        budget="26 attempts (1 + 25 retries, ≈ 20.4 days)",
        jitter="+ rand(10·(c+1)) whole seconds",
        dlq="dead set; Requeue ('Retry') buys exactly one more attempt",
        source="sidekiq/sidekiq v8.1.7 lib/sidekiq/job_retry.rb, api.rb, config.rb (average_scheduled_poll_interval 5 s)",
        approximation="retry set polled every 5 s (retry_interval); the dead set's 10,000-job / 6-month trimming is not modelled",
    ),
    dict(
        name="sqs",
        fields=dict(backoff_schedule="fixed", backoff_base=30.0, max_attempts=5, retry_interval=5.0),
        schedule="fixed 30 s (the default visibility timeout)",
        budget="maxReceiveCount 5 (AWS's advised minimum; SQS has no default)",
        jitter="none",
        dlq="moved to the DLQ; StartMessageMoveTask redrives it as a fresh message (retry_count reset)",
        source="SQS RedrivePolicy / VisibilityTimeout / StartMessageMoveTask docs",
        approximation="the visibility timeout runs from the receive, here from the failed send's return; retries polled every 5 s",
    ),
    dict(
        name="pubsub",
        fields=dict(backoff_base=10.0, backoff_multiplier=2.0, backoff_cap=600.0, max_attempts=5, retry_interval=5.0),
        schedule="10 s × 2ⁿ capped at 600 s (RetryPolicy minimum/maximum_backoff defaults)",
        budget="max_delivery_attempts 5 (the default)",
        jitter="none (Google: 'best effort', unspecified)",
        dlq="dead-letter topic; requeue = republish (retry_count reset)",
        source="google.pubsub.v1 DeadLetterPolicy and RetryPolicy reference",
        approximation="Google does not publish the curve between the bounds: doubling assumed; duplicate dead-lettering not modelled",
    ),
    dict(
        name="celery",
        fields=dict(backoff_base=1.0, backoff_multiplier=2.0, backoff_cap=600.0, jitter="full", max_attempts=4, retry_interval=1.0),
        schedule="min(600 s, 1 s × 2ⁿ) (autoretry_for with retry_backoff=True)",
        budget="4 attempts (max_retries 3)",
        jitter="full: U(0, wait) (retry_jitter, on by default)",
        dlq="none built in: exhaustion = dead here (a broker DLX in practice)",
        source="celery/celery app/task.py, app/autoretry.py, utils/time.py get_exponential_backoff_interval",
        approximation="Celery draws whole seconds, randrange(wait + 1); notifsim draws U(0, wait); with retry_backoff off Celery waits a fixed 180 s instead",
    ),
    dict(
        name="grpc",
        fields=dict(
            backoff_base=1.0,
            backoff_multiplier=1.6,
            backoff_cap=120.0,
            jitter="proportional",
            jitter_fraction=0.2,
            max_attempts=FOREVER_ATTEMPTS,
            retry_interval=1.0,
        ),
        schedule="1 s × 1.6ⁿ capped at 120 s (1, 1.6, 2.56, 4.1, …, 110, 120 s)",
        budget=f"unlimited; bounded at {FOREVER_ATTEMPTS:,} attempts (≈ 13.9 days at the cap)",
        jitter="proportional ±20 %",
        dlq="none (retries forever)",
        source="grpc/grpc doc/connection-backoff.md; grpc-go internal/backoff (DefaultBackoffConfig)",
        approximation="jitter on every wait, after the cap (as grpc-go); MIN_CONNECT_TIMEOUT 20 s not modelled; retries polled every 1 s",
    ),
    dict(
        name="aws-sdk-standard",
        fields=dict(
            backoff_base=1.0,
            backoff_multiplier=2.0,
            backoff_cap=20.0,
            jitter="full",
            max_attempts=3,
            retry_interval=1.0,
            retry_quota=500,
            retry_quota_cost=5,
            retry_quota_timeout_cost=10,
            retry_quota_refund=1,
            permanent_errors=PERMANENT_ERRORS,
        ),
        schedule="U(0, 1) × min(2ⁿ, 20) s",
        budget=(
            "3 attempts; retry quota 500 tokens per channel, −5 per retry (−10 after a timeout), "
            "+1 per first-try success, the cost back on a success after retries"
        ),
        jitter="full",
        dlq="none (the error returns to the caller): exhaustion, a non-retryable error or an empty quota = dead here",
        source="boto/botocore botocore/retries/standard.py, quota.py (retry mode standard v2.0)",
        approximation=(
            "one quota per channel (one SDK client per notifier); non-retryable = PERMANENT_ERRORS "
            "(4xx but 408/429, SMTP 5yz); 2026 v2.1 scales not modelled; retries polled every 1 s"
        ),
    ),
    dict(
        name="svix",
        fields=dict(
            backoff_schedule="table",
            backoff_table=(5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0),
            max_attempts=8,
            retry_interval=5.0,
            requeue_mode="one_more",
        ),
        schedule="immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (≈ 27.6 h)",
        budget="8 attempts",
        jitter="none (unspecified)",
        dlq="endpoint message marked failed; manual replay = one more attempt (assumed, as GitHub's redelivery)",
        source="Resend / Anduin / 360learning webhook retry docs (Svix schedule)",
        approximation=(
            "the immediate first attempt is the creator's send; retries polled every 5 s; a replay restarting the schedule would be requeue_mode='reset'"
        ),
    ),
    dict(
        name="k8s-crashloop",
        fields=dict(backoff_base=10.0, backoff_multiplier=2.0, backoff_cap=300.0, max_attempts=FOREVER_ATTEMPTS, retry_interval=5.0),
        schedule="10 s × 2ⁿ capped at 300 s",
        budget=f"unlimited; bounded at {FOREVER_ATTEMPTS:,} attempts (≈ 34.7 days at the cap)",
        jitter="none",
        dlq="none (restarts forever)",
        source="Kubernetes pod lifecycle docs / CrashLoopBackOff",
        approximation="the reset after 10 min of health has no counterpart (each notification is its own container); retries polled every 5 s",
    ),
)


def _industry(spec: dict[str, Any]) -> Policy:
    description = (
        f"{spec['name']}: {spec['schedule']}; {spec['budget']}; jitter {spec['jitter']}; {spec['dlq']}. "
        f"Source: {spec['source']}. Approximations: {spec['approximation']}. "
        "Built on certctl-i005 (certctl's defects fixed): only the retry policy differs."
    )
    return dataclasses.replace(CERTCTL_I005, name=spec["name"], description=description, arm_first_failure=True, **spec["fields"])


PRESETS: dict[str, Policy] = {p.name: p for p in (CERTCTL_ASBUILT, CERTCTL_I005, *map(_industry, INDUSTRY_PRESETS))}
