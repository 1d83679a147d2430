"""certctl's own names, constants, adapter facts and texts, in one place.

Everything here is a fact about certctl (github.com/shankar0123/certctl at
HEAD ``aad95d3``) that notifsim reproduces; each value names the certctl file
it was read from, so a reader can check this module against certctl's
source line by line.  Nothing here decides behaviour: the state machine
(:mod:`notifsim.machine`), the engine and the workloads import these values.
See ``docs/certctl.md`` for what each rule does and what is not modelled.
"""

from __future__ import annotations

import re

# -- the notification_events table (internal/domain/notification.go, migrations 000001/000016/000017) ---------

#: Status constants (``internal/domain/notification.go``), lowercase as certctl writes them.
STATUSES = ("pending", "sent", "failed", "dead", "read")

#: ``IsValidNotificationChannel``'s closed set (``internal/domain/certificate.go``).
CHANNELS = ("Email", "Webhook", "Slack", "Teams", "PagerDuty", "OpsGenie")

#: Notification types (``internal/domain/notification.go``); ``PolicyViolation`` has no producer in certctl.
TYPES = (
    "ExpirationWarning",
    "RenewalSuccess",
    "RenewalFailure",
    "DeploymentSuccess",
    "DeploymentFailure",
    "PolicyViolation",
    "Revocation",
)

#: Columns of ``notification_events`` in certctl's order (``migrations/000001_initial_schema.up.sql``,
#: ``000016_notification_retry.up.sql``, ``000017``).
COLUMNS = (
    "id",
    "type",
    "certificate_id",
    "channel",
    "recipient",
    "message",
    "status",
    "retry_count",
    "next_retry_at",
    "last_error",
    "error",
    "created_at",
    "sent_at",
)

#: ``generateID("notif")`` makes ``notif-<UnixNano>-<counter>`` (``internal/service/renewal.go``).
GENERATED_ID_PREFIX = "notif-"

#: The dedup tag in every expiry-alert body, matched with ``LIKE '%[threshold:N]%'``
#: (``internal/service/notification.go``, ``HasThresholdNotificationOnChannel``).
THRESHOLD_TAG = re.compile(r"\[threshold:(-?\d+)\]")

# -- scheduler and service defaults (internal/scheduler/scheduler.go, internal/service/notification.go) --------

#: ``notificationProcessLoop`` interval (``CERTCTL_SCHEDULER_NOTIFICATION_PROCESS_INTERVAL``), seconds.
PROCESS_INTERVAL_S = 60.0
#: ``notificationRetryLoop`` interval (``CERTCTL_NOTIFICATION_RETRY_INTERVAL``), seconds.
RETRY_INTERVAL_S = 120.0
#: Per-tick context of the process loop (hard-coded in ``scheduler.go``), seconds.
PROCESS_DEADLINE_S = 60.0
#: Per-tick context of the retry loop (hard-coded in ``scheduler.go``), seconds.
RETRY_DEADLINE_S = 120.0
#: ``List`` rewrites ``PerPage`` 1000 to 50 (``internal/repository/postgres/notification.go``).
PENDING_BATCH = 50
#: ``notifRetrySweepLimit``; ``ListRetryEligible`` also defaults a limit <= 0 to it.
SWEEP_LIMIT = 1000
#: ``notifRetryMaxAttempts``: a failure at ``retry_count >= 4`` goes ``dead``.
MAX_ATTEMPTS = 5
#: Backoff base (``time.Minute``) and ``notifRetryBackoffCap``, seconds.
BACKOFF_BASE_S = 60.0
BACKOFF_CAP_S = 3600.0
#: certctl refuses scheduler intervals below one second (``internal/config/config.go``).
MIN_INTERVAL_S = 1.0
#: Shutdown waits this long for running ticks (``WaitForCompletion`` in ``cmd/server/main.go``), seconds.
SHUTDOWN_DRAIN_S = 30.0

# -- notifier adapters (internal/connector/notifier/*) -------------------------------------------------------

#: Adapters that honour the tick's context (``http.NewRequestWithContext``); Email ignores it (``email.go``).
HTTP_CHANNELS = frozenset({"Slack", "Teams", "PagerDuty", "OpsGenie", "Webhook"})

#: How long each adapter waits for the provider's answer, seconds: the ``http.Client`` timeout of the four
#: notifiers; for the Webhook connector its transport's 10 s response-header timeout, which cuts a slow answer
#: well before its 30 s client timeout (``webhook.go``); the SMTP client has none (``email.go``).
CLIENT_TIMEOUT_S: dict[str, float | None] = {
    "Slack": 10.0,
    "Teams": 10.0,
    "PagerDuty": 10.0,
    "OpsGenie": 10.0,
    "Webhook": 10.0,
    "Email": None,
}

#: What the Email adapter returns after the server accepted the message: ``Quit`` is issued while the DATA
#: writer is still open and reads the ``250`` meant for the body (``email.go``, ``sendEmail``).
EMAIL_QUIT_ERROR = "failed to quit SMTP: 250 2.0.0 Ok: queued"

#: Error text of a Send or a database call made on an expired context.
DEADLINE_ERROR = "context deadline exceeded"
#: Error text of a Send or a database call made on a context cancelled by shutdown (``cmd/server/main.go``).
CANCELED_ERROR = "context canceled"

#: HTTP statuses each adapter takes for success: Slack and Teams exactly 200 (``slack.go``, ``teams.go``),
#: PagerDuty and OpsGenie 200 or 202 (``pagerduty.go``, ``opsgenie.go``), the webhook connector any 2xx
#: (``webhook.go``).  Microsoft's Workflows webhooks answer 202 on acceptance.
ACCEPTED_STATUSES: dict[str, frozenset[int]] = {
    "Slack": frozenset({200}),
    "Teams": frozenset({200}),
    "PagerDuty": frozenset({200, 202}),
    "OpsGenie": frozenset({200, 202}),
    "Webhook": frozenset(range(200, 300)),
}

#: How each HTTP adapter words a non-success status (``slack.go``, ``teams.go``, ``pagerduty.go``,
#: ``opsgenie.go``, ``webhook.go``).
HTTP_ERROR_PREFIX = {
    "Slack": "slack: webhook returned HTTP",
    "Teams": "teams: webhook returned HTTP",
    "PagerDuty": "pagerduty: API returned HTTP",
    "OpsGenie": "opsgenie: API returned HTTP",
    "Webhook": "webhook: HTTP",
}

#: Prefix of each adapter's transport errors (a client timeout, a refused connection).
ADAPTER_NAME = {"Slack": "slack", "Teams": "teams", "PagerDuty": "pagerduty", "OpsGenie": "opsgenie", "Webhook": "webhook", "Email": "email"}


def http_error(channel: str, code: int, body: str) -> str:
    """The error text an HTTP adapter returns for a non-success status."""
    return f"{HTTP_ERROR_PREFIX[channel]} {code}: {body}"


def rejected_acceptance(channel: str, status: int) -> str | None:
    """The error an HTTP adapter returns when the provider accepted the message with ``status``
    (None when the adapter takes that status for success).  The body of such an answer is empty."""
    if status in ACCEPTED_STATUSES[channel]:
        return None
    return http_error(channel, status, "")


def timeout_error(channel: str, timeout_s: float) -> str:
    """The error of a Send that exceeded its adapter's client timeout of ``timeout_s`` seconds."""
    prefix = ADAPTER_NAME.get(channel, channel.lower())
    if channel == "Webhook":  # its transport's response-header timeout, not the client's
        return f"{prefix}: request failed: net/http: timeout awaiting response headers ({timeout_s:g}s)"
    return f"{prefix}: request failed: Client.Timeout exceeded while awaiting headers ({timeout_s:g}s)"


#: A typical transient failure per channel, in each adapter's wording.
DEFAULT_ERROR = {
    "Slack": http_error("Slack", 503, "service unavailable"),
    "Teams": http_error("Teams", 503, "service unavailable"),
    "PagerDuty": http_error("PagerDuty", 503, "service unavailable"),
    "OpsGenie": http_error("OpsGenie", 503, "service unavailable"),
    "Webhook": http_error("Webhook", 503, "service unavailable"),
    "Email": "failed to connect via TLS: dial tcp: connection refused",
}

#: Over a provider's rate limit: HTTP 429 with the provider's body; an SMTP server answers 4xx at RCPT.
RATE_LIMIT_ERROR = {
    "Slack": http_error("Slack", 429, "rate_limited"),
    "Teams": http_error("Teams", 429, "Microsoft Teams endpoint returned HTTP error 429"),
    "PagerDuty": http_error("PagerDuty", 429, "Too Many Requests"),
    "OpsGenie": http_error("OpsGenie", 429, "Too Many Requests"),
    "Webhook": http_error("Webhook", 429, "Too Many Requests"),
    "Email": "failed to set recipient: 451 4.7.1 <{recipient}>: rate limit exceeded, try again later",
}

#: A recipient that can never succeed (a raw owner id used as an SMTP address, a deleted webhook).
PERMANENT_ERROR = {
    "Slack": http_error("Slack", 404, "no_service"),
    "Teams": http_error("Teams", 404, "Not Found"),
    "PagerDuty": http_error("PagerDuty", 400, "Invalid routing key"),
    "OpsGenie": http_error("OpsGenie", 422, "Request body is not processable"),
    "Webhook": http_error("Webhook", 410, "Gone"),
    "Email": "failed to set recipient: 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown",
}

#: A greylisting server's temporary refusal of a first contact (SMTP 451 at RCPT).
GREYLIST_ERROR = "failed to set recipient: 451 4.7.1 <{recipient}>: Recipient address rejected: Greylisted, try again later"

# -- expiry alerts (internal/service/renewal.go, internal/domain/certificate.go) -------------------------------

DAY_S = 86400.0
#: ``CheckExpiringCertificates`` lists certificates with ``expires_at < now + 31 days``
#: (``internal/repository/postgres/certificate.go``).
LISTING_WINDOW_S = 31 * DAY_S
#: ``DefaultAlertThresholds``, days before expiry.
DEFAULT_THRESHOLDS = (30, 14, 7, 0)
#: Severity tiers (``AlertSeverityInformational`` / ``Warning`` / ``Critical``).
TIERS = ("informational", "warning", "critical")
#: ``DefaultAlertSeverityMap``: threshold → tier; a threshold missing from the map is informational.
DEFAULT_SEVERITY = {30: "informational", 14: "warning", 7: "warning", 0: "critical"}
#: ``DefaultAlertChannels``: Email for every tier.
DEFAULT_MATRIX = {tier: ["Email"] for tier in TIERS}
#: Renewal and deployment notifications always go to Email (``SendRenewalNotification``,
#: ``SendDeploymentNotification`` in ``internal/service/notification.go``).
JOB_NOTIFICATION_CHANNEL = "Email"
#: The notification types of renewal and deployment jobs (sent on :data:`JOB_NOTIFICATION_CHANNEL`).
JOB_NOTIFICATION_TYPES = ("RenewalSuccess", "RenewalFailure", "DeploymentSuccess", "DeploymentFailure")
#: A revocation creates a Webhook row, then an Email row, and sends them in that order
#: (``internal/service/notification.go``, the revocation fan-out), on the HTTP request's context: no deadline.
REVOCATION_CHANNELS = ("Webhook", "Email")
#: Renewal check interval (``CERTCTL_SCHEDULER_RENEWAL_CHECK_INTERVAL``) and its context, seconds.
RENEWAL_CHECK_INTERVAL_S = 3600.0
RENEWAL_CHECK_DEADLINE_S = 300.0
#: Job processor interval (``CERTCTL_SCHEDULER_JOB_PROCESSOR_INTERVAL``), seconds.
JOB_PROCESSOR_INTERVAL_S = 30.0
#: The context each job runs on, from the job's start, seconds (``internal/service/job.go``).
JOB_PROCESSOR_DEADLINE_S = 120.0
#: Jobs the job processor runs at once, a semaphore (``internal/service/job.go``; ``internal/config/config.go``).
JOB_CONCURRENCY = 25

#: The GUI's notifications page asks for ``per_page=100``, page 1 (``web/src/pages/NotificationsPage.tsx``).
GUI_PAGE_SIZE = 100


def alert_message(common_name: str, days_until: int, threshold: int, expiry_date: str) -> str:
    """An expiry-alert body as ``SendThresholdAlertOnChannel`` writes it, ending with the dedup tag."""
    if threshold <= 0:
        return f"[EXPIRED] The certificate for {common_name} has expired ({expiry_date}).\n\nImmediate action required.\n\n[threshold:{threshold}]"
    return f"The certificate for {common_name} will expire in {days_until} days ({expiry_date}).\n\nPlease schedule renewal.\n\n[threshold:{threshold}]"


def renewal_message(common_name: str, success: bool, new_expiry: str = "", error: str = "issuer renewal failed: upstream CA error") -> str:
    """A renewal notification body (``SendRenewalNotification``)."""
    if success:
        return f"The certificate for {common_name} has been successfully renewed.\n\nNew expiry: {new_expiry}"
    return f"The certificate for {common_name} failed to renew.\n\nError: {error}\n\nPlease investigate."


def deployment_message(common_name: str, target: str, success: bool, error: str = "deployment failed: connection refused") -> str:
    """A deployment notification body (``SendDeploymentNotification``)."""
    if success:
        return f"The certificate for {common_name} has been successfully deployed to {target}."
    return f"The certificate for {common_name} failed to deploy to {target}.\n\nError: {error}\n\nPlease investigate."


def revocation_message(common_name: str, reason: str = "unspecified") -> str:
    """A revocation notification body (the revocation fan-out)."""
    return f"The certificate for {common_name} has been revoked.\n\nReason: {reason}"
