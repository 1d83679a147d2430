"""The report's methodology: how the numbers were made, and what the model leaves out."""

from __future__ import annotations

from .._version import __version__
from . import html
from .study import Study

#: What notifsim does not model, in a sentence each (docs/certctl.md, "Not modelled", gives every item with its reason).
NOT_MODELLED = (
    "Agents, issuers and the agent-side renewal path: the model creates the same notification rows the server-side path creates.",
    "Crashes, restarts, the shutdown drain and several replicas sharing the table: one scheduler runs for the whole horizon; "
    "Sends still in flight at the horizon are not recorded.",
    "Configuration mistakes (SMTP port or TLS, unparsable durations): model a channel that always fails instead.",
    "What providers do with a request notifsim counts as failed: a timed-out request the provider processed anyway counts as not delivered, "
    "and an incident opened per duplicate page is not counted (duplicates are).",
    "Which exact HTTP statuses each adapter accepts: a channel model answers with success or an error.",
    "The order Postgres gives rows that tie in sent_at or next_retry_at: ties are broken by insertion order.",
    "The read side and the user interface beyond the Dead letter tab's first page of 100 rows, and observability (metrics, audit log).",
    "Job processor concurrency and jobs cut off by its deadline; certificate statuses nothing in the model produces.",
    "Digest emails, health-check notifications and policy-violation alerts, which create no notification rows or are never created.",
)

#: The metrics as the report defines them.
DEFINITIONS = (
    (
        "undelivered rate",
        "share of created notifications not delivered by the horizon, whatever the reason: stranded, dead, ghost-sent, still pending or retrying.",
    ),
    ("delivered within 15 min", "share of created notifications whose first delivery came at most 15 minutes after creation."),
    ("dead-letter rate", "share of created notifications in status dead at the horizon."),
    ("stranded rate", "share in status failed with no retry scheduled (next_retry_at NULL): never to be sent again without an operator."),
    ("duplicate rate", "share delivered more than once."),
    (
        "Send calls per notification",
        "notifier Send calls made for the created notifications, divided by their number: the load a policy puts on the notifiers.",
    ),
    ("p95 time to delivery", "95th percentile of the time from creation to first delivery, over the delivered notifications."),
)


def methodology(study: Study) -> str:
    """The methodology section's HTML."""
    parts = []
    per_config = study.configurations["runs"]
    reps = f"{per_config.min()}" if per_config.min() == per_config.max() else f"{per_config.min()} to {per_config.max()}"
    parts.append(
        html.paragraph(
            f"Each configuration (experiment, scenario, policy and label{', and ' + study.knob_label if study.knob else ''}) ran {reps} time(s), "
            "each run a replication on its own seed. A figure with an interval is the mean over replications with its "
            f"{study.level:.0%} Student t interval, mean ± t·s/√n with s the standard deviation between replications; with one "
            "replication there is no interval. Intervals of rates, times and counts are shown clipped to the metric's range "
            "(a rate cannot go below 0); paired differences are not clipped."
        )
    )
    crn = study.common_random_numbers()
    if crn is True:
        parts.append(
            html.paragraph(
                "Common random numbers: replication r of every configuration ran on the same seed, so configurations saw the same arrivals, "
                "the same outage periods and, Send for Send, the same notifier outcomes. Differences between them come from the configuration, "
                "not from luck, and paired differences (each run minus the baseline's run of the same replication) are narrower than "
                "the difference of two independent means."
            )
        )
    elif crn is False:
        parts.append(
            html.paragraph(
                "Seeds differ between configurations within a replication: configurations did not see the same world, so their differences "
                "include chance, and paired differences are only computed for runs that share a seed."
            )
        )
    parts.append(
        html.paragraph(
            "Metrics count the notifications created during each run; rows a run started from (a backlog) are left out of the rates "
            "and appear in the requeue funnel. Definitions:"
        )
    )
    parts.append(html.table(["metric", "definition"], DEFINITIONS))
    parts.append(
        html.paragraph("What is not modelled (the notifsim repository's docs/certctl.md lists each item of certctl's behaviour left out, with its reason):")
    )
    parts.append(html.items(NOT_MODELLED))
    versions = ", ".join(study.versions)
    parts.append(html.paragraph(f"Runs made by notifsim {versions}; figures and tables computed by notifsim {__version__}."))
    return "".join(parts)
