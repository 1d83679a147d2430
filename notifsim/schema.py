"""The result tables, declared once: every column's name, kind and meaning.

The pandas dtypes of :class:`~notifsim.result.Result`'s DataFrames, the
Arrow schema a run is written from and the DuckDB DDL of a results file are
all derived from :data:`TABLES`; ``docs/results.md`` lists the same columns
(a test checks that it does).  Times are UTC timestamps with microseconds;
durations are float seconds.  Standard library only: the conversions import
pandas, pyarrow or DuckDB inside the functions that need them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .certctl import STATUSES

#: Column kinds and what each becomes in pandas, Arrow and DuckDB.
KINDS = {
    "text": ("string[pyarrow]", "large_string", "VARCHAR"),
    "int": ("int64", "int64", "BIGINT"),
    "int?": ("Int64", "int64", "BIGINT"),  # integers that may be NULL
    "float": ("float64", "float64", "DOUBLE"),
    "bool": ("bool", "bool_", "BOOLEAN"),
    "time": ("datetime64[us, UTC]", "timestamp_us_utc", "TIMESTAMPTZ"),
    "json": ("string[pyarrow]", "large_string", "JSON"),
}


@dataclass(frozen=True)
class Column:
    """One column: its name, its kind (a key of :data:`KINDS`) and what it holds, with units."""

    name: str
    kind: str
    doc: str


@dataclass(frozen=True)
class Table:
    """One result table: the :class:`~notifsim.result.Result` attribute, the DuckDB table name, one row per what."""

    attribute: str
    sql_name: str
    row: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name: str, kind: str, doc: str) -> Column:
    return Column(name, kind, doc)


NOTIFICATIONS = Table(
    "notifications",
    "notification_events",
    "notification, in its final state at the horizon",
    (
        _c("id", "text", "certctl's id: `notif-<UnixNano>-<counter>` for created rows, as given for initial rows"),
        _c("type", "text", "ExpirationWarning, RenewalSuccess, RenewalFailure, DeploymentSuccess, DeploymentFailure, PolicyViolation or Revocation"),
        _c("certificate_id", "text", "the certificate it is about (NULL for none)"),
        _c("channel", "text", "Email, Webhook, Slack, Teams, PagerDuty or OpsGenie"),
        _c("recipient", "text", "the owner's address"),
        _c("message", "text", "the body certctl would send"),
        _c("status", "text", "pending, sent, failed, dead or read"),
        _c("retry_count", "int", "certctl's retry_count"),
        _c("next_retry_at", "time", "when the retry sweep may send it again (NULL: not armed)"),
        _c("last_error", "text", "the last error the retry path recorded"),
        _c("error", "text", "certctl's error column, never written by certctl (kept from initial rows)"),
        _c("created_at", "time", "when it was created"),
        _c("sent_at", "time", "certctl's sent_at: the last status write's time; 0001-01-01 (Go's zero time) after a failed send"),
        _c("attempts", "int", "Send calls made for it"),
        _c("deliveries", "int", "times it really reached the recipient"),
        _c("first_delivered_at", "time", "when it first reached the recipient (NULL: never)"),
        _c("requeues", "int", "operator requeues it went through"),
        _c("origin", "text", "created (during the run) or initial (from the starting rows)"),
    ),
)

ATTEMPTS = Table(
    "attempts",
    "attempts",
    "notifier Send call",
    (
        _c("notification_id", "text", "the notification sent"),
        _c("at", "time", "when the Send began"),
        _c("loop", "text", "who sent it: create (the creator's immediate send), process or retry"),
        _c("retry_count_before", "int", "the row's retry_count when the caller listed it (0 for creators)"),
        _c("outcome", "text", "ok when the Send returned no error, else error"),
        _c("error", "text", "the error the Send returned (NULL when ok)"),
        _c("latency_s", "float", "seconds the Send took"),
        _c("delivered", "bool", "whether it reached the recipient (an Email can be delivered and still return an error)"),
        _c("channel", "text", "the notification's channel"),
        _c("retry_after_s", "float", "the Retry-After a throttled Send carried, seconds (NULL when none)"),
        _c("replica", "int", "the replica whose loop or creator made the Send (0 with one replica)"),
    ),
)

TICKS = Table(
    "ticks",
    "ticks",
    "scheduler tick",
    (
        _c("loop", "text", "process (ProcessPendingNotifications) or retry (RetryFailedNotifications)"),
        _c("at", "time", "when the tick started"),
        _c("rows", "int", "rows it listed"),
        _c("sends", "int", "Send calls it made"),
        _c("duration_s", "float", "seconds it ran (NULL: still running at the horizon; 0 when skipped)"),
        _c("skipped", "bool", "skipped because the previous tick of the same loop was still running"),
        _c("deadline_hit", "bool", "its context ended (deadline, or a restart's cancel) before it was done"),
        _c("error", "text", "the error it returned (a failed List), else NULL"),
        _c("replica", "int", "the replica whose loop ticked (0 with one replica)"),
    ),
)

REQUEUES = Table(
    "requeues",
    "requeues",
    "operator action (requeue or mark-read)",
    (
        _c("notification_id", "text", "the notification acted on"),
        _c("at", "time", "when"),
        _c("action", "text", "requeue or read"),
        _c("from_status", "text", "the row's status before (NULL when no row had the id)"),
        _c("retry_count_before", "int?", "the row's retry_count before (NULL when no row had the id)"),
        _c("outcome", "text", "requeued, read, refused (requeue_any_status off), error (database down) or not_found"),
    ),
)

SAMPLES = Table(
    "samples",
    "status_samples",
    "sample of the table's status counts (every sample_interval, 15 min by default)",
    (
        _c("at", "time", "when"),
        *(_c(status, "int", f"rows with status {status}") for status in STATUSES),
        _c("stranded", "int", "failed rows with next_retry_at NULL (never retried)"),
    ),
)

RUNS = Table(
    "runs",
    "runs",
    "run",
    (
        _c("run_id", "text", "the run's id (its run_name, or a fresh unique id)"),
        _c("experiment", "text", "the experiment it belongs to ('' for none)"),
        _c("label", "text", "its configuration's label within the experiment ('' for none)"),
        _c("scenario", "text", "the scenario's name"),
        _c("policy", "text", "the policy's name"),
        _c("replication", "int", "replication number within its experiment"),
        _c("seed", "int", "the root seed"),
        _c("horizon_s", "float", "simulated seconds"),
        _c("start", "time", "the scenario's start instant"),
        _c("config", "json", "the scenario and policy as plain values"),
        _c("notifsim_version", "text", "the notifsim version that ran it"),
        _c("wall_s", "float", "wall-clock seconds the simulation took"),
        _c("created_at", "time", "when the run was made"),
        _c("lost_creations", "int", "Create calls that failed while the database was down (no row, no send)"),
        _c("counters", "json", "what the workload and operator counted (renewal ticks, alerts deduped, ...)"),
    ),
)

#: The per-run tables of a :class:`~notifsim.result.Result`, by attribute name.
TABLES: dict[str, Table] = {t.attribute: t for t in (NOTIFICATIONS, ATTEMPTS, TICKS, REQUEUES, SAMPLES)}

#: Every table of a results file, ``runs`` first.
ALL_TABLES: tuple[Table, ...] = (RUNS, *TABLES.values())

#: Column names that are SQL keywords and need quoting in DuckDB.
_QUOTED = {"at", "read", "rows", "loop", "start", "outcome", "action", "error", "type", "message", "status", "channel"}


def pandas_dtypes(table: Table) -> dict[str, Any]:
    """Column → pandas dtype of ``table`` (strings are Arrow-backed)."""
    import pandas as pd

    out: dict[str, Any] = {}
    for column in table.columns:
        dtype = KINDS[column.kind][0]
        out[column.name] = pd.StringDtype("pyarrow") if dtype == "string[pyarrow]" else dtype
    return out


def arrow_schema(table: Table, *, run_id: bool = True) -> Any:
    """The Arrow schema ``table`` is written from (with a leading ``run_id`` for per-run tables)."""
    import pyarrow as pa

    types = {
        "large_string": pa.large_string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool_": pa.bool_(),
        "timestamp_us_utc": pa.timestamp("us", tz="UTC"),
    }
    fields = [pa.field("run_id", pa.large_string())] if run_id and table is not RUNS else []
    fields += [pa.field(c.name, types[KINDS[c.kind][1]]) for c in table.columns]
    return pa.schema(fields)


def quote(name: str) -> str:
    """A column name as DuckDB needs it."""
    return f'"{name}"' if name in _QUOTED else name


def ddl(table: Table) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for ``table`` (per-run tables get a leading ``run_id``)."""
    columns = [] if table is RUNS else ["run_id VARCHAR"]
    for column in table.columns:
        sql_type = KINDS[column.kind][2]
        suffix = " PRIMARY KEY" if table is RUNS and column.name == "run_id" else ""
        columns.append(f"{quote(column.name)} {sql_type}{suffix}")
    return f"CREATE TABLE IF NOT EXISTS {table.sql_name} ({', '.join(columns)});"


def all_ddl() -> str:
    """The DDL of a whole results file."""
    return "\n".join(ddl(table) for table in ALL_TABLES)
