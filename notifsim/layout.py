"""How a results file stores the tables of :mod:`notifsim.schema`: lean physical tables, readable views.

Each per-run table is stored as ``<table>_rows`` with an ``ord`` column (its
row order) and read through a view with the table's own name and columns,
so plain SQL sees ``notification_events``, ``attempts``, ``ticks``,
``requeues`` and ``status_samples`` exactly as :mod:`notifsim.schema`
declares them.  What the views rebuild instead of storing:

* a generated id ``notif-<ns>-<counter>`` is stored as its two integers
  (``id`` holds only ids given by a backlog);
* an attempt stores its notification's row number (``seq``); the view joins
  back its ``notification_id`` and ``channel``, and derives ``outcome``
  from ``error``;
* closed vocabularies (loops, origins, operator actions and outcomes) are
  DuckDB ENUMs;
* texts that are nearly all distinct (messages, certificate ids, ids given
  as text, the ids a requeue names) are compressed with zstd, chosen in the
  table's definition: DuckDB's default tries a dictionary first, which
  costs more time and space on such columns (``ZSTD_COLUMNS``).

:func:`physical` turns a :class:`~notifsim.result.Result` into these tables
(Arrow), :func:`logical` turns them back into the Result's DataFrames.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import schema
from .certctl import GENERATED_ID_PREFIX

#: ENUM types: name → values.
ENUMS = {
    "notifsim_loop": ("create", "process", "retry"),
    "notifsim_origin": ("created", "initial"),
    "notifsim_action": ("requeue", "read"),
    "notifsim_action_outcome": ("requeued", "read", "refused", "error", "not_found"),
}
#: Columns stored as ENUMs: (table attribute, column) → ENUM type.
ENUM_COLUMNS = {
    ("notifications", "origin"): "notifsim_origin",
    ("attempts", "loop"): "notifsim_loop",
    ("ticks", "loop"): "notifsim_loop",
    ("requeues", "action"): "notifsim_action",
    ("requeues", "outcome"): "notifsim_action_outcome",
}
#: Texts that are nearly all distinct, stored ``USING COMPRESSION zstd``: DuckDB's default analysis (dictionary,
#: then FSST) is wasted on them.  Measured on the bench world's 240,000 notifications: the table's insert 0.32 →
#: 0.25 s and 9.2 → 8.1 MB; on a 20,000-certificate fleet year, 0.44 → 0.39 s and 10.2 → 7.6 MB.
ZSTD_COLUMNS = {("notifications", "message"), ("notifications", "certificate_id"), ("notifications", "id"), ("requeues", "notification_id")}
#: Logical columns a physical table does not store (the view derives them).
DERIVED = {("notifications", "id"), ("attempts", "notification_id"), ("attempts", "outcome"), ("attempts", "channel")}
#: Columns a physical table stores beyond its logical ones.
EXTRA = {
    "notifications": (("seq", "BIGINT"), ("id", "VARCHAR"), ("id_ns", "BIGINT"), ("id_counter", "BIGINT")),
    "attempts": (("seq", "BIGINT"),),
}

_GENERATED = r"^notif-(?P<ns>0|[1-9][0-9]*)-(?P<counter>[1-9][0-9]*)$"


class IdParts(NamedTuple):
    """How a run's notification ids were made, kept by the recorder so the write need not parse them back:
    ``ids`` the id column as built, ``ns`` and ``counter`` each row's parts (``counter`` 0: an id given as text)."""

    ids: pa.Array
    ns: np.ndarray
    counter: np.ndarray

    def matches(self, ids: pa.ChunkedArray) -> bool:
        """Whether ``ids`` is this id column itself: the same Arrow buffers (immutable), so the same texts."""
        if ids.num_chunks != 1 or len(ids) != len(self.ids) or ids.type != self.ids.type:
            return False
        mine, theirs = self.ids.buffers(), ids.chunk(0).buffers()
        return ids.chunk(0).offset == self.ids.offset and all(
            (a is None and b is None) or (a is not None and b is not None and a.address == b.address and a.size == b.size) for a, b in zip(mine, theirs)
        )


def physical_name(table: schema.Table) -> str:
    return f"{table.sql_name}_rows"


def _sql_type(table: schema.Table, column: schema.Column) -> str:
    enum = ENUM_COLUMNS.get((table.attribute, column.name))
    return enum if enum else schema.KINDS[column.kind][2]


def physical_columns(table: schema.Table) -> list[tuple[str, str]]:
    """``(name, SQL type)`` of the physical table, in order: run_id, ord, extras, stored logical columns."""
    out = [("run_id", "VARCHAR"), ("ord", "BIGINT")]
    out += list(EXTRA.get(table.attribute, ()))
    out += [(c.name, _sql_type(table, c)) for c in table.columns if (table.attribute, c.name) not in DERIVED]
    return out


def ddl() -> list[str]:
    """Statements creating the ENUM types, the physical tables and the views (idempotent)."""
    out = []
    for name, values in ENUMS.items():
        quoted = ", ".join(f"'{v}'" for v in values)
        out.append(f"CREATE TYPE IF NOT EXISTS {name} AS ENUM ({quoted});")
    out.append(schema.ddl(schema.RUNS))
    for table in schema.TABLES.values():
        zstd = {name for attr, name in ZSTD_COLUMNS if attr == table.attribute}
        columns = ", ".join(f"{schema.quote(n)} {t}{' USING COMPRESSION zstd' if n in zstd else ''}" for n, t in physical_columns(table))
        out.append(f"CREATE TABLE IF NOT EXISTS {physical_name(table)} ({columns});")
        out.append(f"CREATE OR REPLACE VIEW {table.sql_name} AS {view_sql(table)};")
    return out


def _generated_id(alias: str) -> str:
    return f"COALESCE({alias}.id, '{GENERATED_ID_PREFIX}' || {alias}.id_ns || '-' || {alias}.id_counter)"


def view_sql(table: schema.Table) -> str:
    """The SELECT of the view that shows ``table`` with its declared columns."""
    rows = physical_name(table)
    q = schema.quote
    if table.attribute == "notifications":
        cols = []
        for c in table.columns:
            if c.name == "id":
                cols.append(f"{_generated_id('n')} AS id")
            elif (table.attribute, c.name) in ENUM_COLUMNS:
                cols.append(f"CAST(n.{q(c.name)} AS VARCHAR) AS {q(c.name)}")
            else:
                cols.append(f"n.{q(c.name)}")
        return f"SELECT n.run_id, {', '.join(cols)} FROM {rows} n ORDER BY n.run_id, n.ord"
    if table.attribute == "attempts":
        notes = physical_name(schema.NOTIFICATIONS)
        cols = []
        for c in table.columns:
            if c.name == "notification_id":
                cols.append(f"{_generated_id('n')} AS notification_id")
            elif c.name == "outcome":
                cols.append("CASE WHEN a.error IS NULL THEN 'ok' ELSE 'error' END AS outcome")
            elif c.name == "channel":
                cols.append("n.channel")
            elif (table.attribute, c.name) in ENUM_COLUMNS:
                cols.append(f"CAST(a.{q(c.name)} AS VARCHAR) AS {q(c.name)}")
            else:
                cols.append(f"a.{q(c.name)}")
        return f"SELECT a.run_id, {', '.join(cols)} FROM {rows} a JOIN {notes} n ON n.run_id = a.run_id AND n.seq = a.seq ORDER BY a.run_id, a.ord"
    cols = [f"CAST(t.{q(c.name)} AS VARCHAR) AS {q(c.name)}" if (table.attribute, c.name) in ENUM_COLUMNS else f"t.{q(c.name)}" for c in table.columns]
    return f"SELECT t.run_id, {', '.join(cols)} FROM {rows} t ORDER BY t.run_id, t.ord"


# -- Result <-> physical tables ----------------------------------------------------------------


def physical(result: Any) -> dict[str, pa.Table]:
    """The physical tables of one :class:`~notifsim.result.Result` (Arrow, with ``run_id`` and ``ord``)."""
    out = {}
    for name, table in schema.TABLES.items():
        frame = getattr(result, name)
        if list(frame.columns) != table.names:
            raise ValueError(f"{name}: columns {list(frame.columns)} are not the schema's {table.names}")
        arrow = pa.Table.from_pandas(frame, preserve_index=False).cast(schema.arrow_schema(table, run_id=False))
        n = arrow.num_rows
        columns: dict[str, Any] = {"run_id": pa.repeat(pa.scalar(result.run_id, pa.large_string()), n), "ord": pa.array(np.arange(n, dtype=np.int64))}
        if name == "notifications":
            columns["seq"] = columns["ord"]
            columns["id"], columns["id_ns"], columns["id_counter"] = _id_columns(frame["id"].array, getattr(result, "id_parts", None))
        elif name == "attempts":
            rows = getattr(result, "attempt_rows", None)
            if rows is None or len(rows) != n:
                index = pc.index_in(arrow.column("notification_id"), value_set=result.notifications["id"].array._pa_array)
                rows = pc.fill_null(index, -1).to_numpy(zero_copy_only=False)
            columns["seq"] = pa.array(np.asarray(rows, dtype=np.int64))
        for column in table.columns:
            if (name, column.name) not in DERIVED:
                columns[column.name] = arrow.column(column.name)
        out[name] = pa.table(columns)
    return out


def _id_columns(values: Any, parts: IdParts | None) -> tuple[pa.Array, pa.Array, pa.Array]:
    """The stored id columns of a notifications table: the text of ids given as text (else NULL), and the
    two numbers of generated ids (else NULL).  Parsed from the texts unless ``parts`` matches them."""
    ids = pa.chunked_array(values._pa_array if hasattr(values, "_pa_array") else pa.array(values, pa.large_string())).cast(pa.large_string())
    n = len(ids)
    if parts is not None and parts.matches(ids):
        generated = parts.counter > 0
        if generated.all():
            return pa.nulls(n, pa.large_string()), pa.array(parts.ns), pa.array(parts.counter)
        given = pa.array(~generated)
        return pc.if_else(given, parts.ids, pa.nulls(n, pa.large_string())), pa.array(parts.ns, mask=~generated), pa.array(parts.counter, mask=~generated)
    ids = ids.combine_chunks()
    found = pc.extract_regex(ids, _GENERATED)
    generated = pc.is_valid(found)
    return (
        pc.if_else(generated, pa.nulls(n, pa.large_string()), ids),
        pc.if_else(generated, pc.cast(pc.struct_field(found, [0]), pa.int64()), pa.nulls(n, pa.int64())),
        pc.if_else(generated, pc.cast(pc.struct_field(found, [1]), pa.int64()), pa.nulls(n, pa.int64())),
    )


def logical(tables: dict[str, pa.Table]) -> tuple[dict[str, pa.Table], np.ndarray]:
    """The logical tables of one run from its physical tables (ordered by ``ord``), and each attempt's row."""
    out = {}
    notes = tables["notifications"].sort_by("ord")
    text = pa.large_string()
    made = pc.binary_join_element_wise(
        pa.scalar(GENERATED_ID_PREFIX, text),
        pc.cast(notes.column("id_ns"), text),
        pa.scalar("-", text),
        pc.cast(notes.column("id_counter"), text),
        pa.scalar("", text),
    )
    ids = pc.coalesce(pc.cast(notes.column("id"), text), made)
    seq_of = notes.column("seq").to_numpy()
    position = np.empty(int(seq_of.max()) + 1 if len(seq_of) else 0, np.int64)
    position[seq_of] = np.arange(len(seq_of))
    channels = pc.cast(notes.column("channel"), text)
    attempt_rows = np.empty(0, np.int64)
    for name, table in schema.TABLES.items():
        rows = tables[name].sort_by("ord")
        columns: dict[str, Any] = {}
        if name == "attempts":
            attempt_rows = position[rows.column("seq").to_numpy()] if rows.num_rows else np.empty(0, np.int64)
            take = pa.array(attempt_rows)
        for column in table.columns:
            if name == "notifications" and column.name == "id":
                columns["id"] = ids
            elif name == "attempts" and column.name == "notification_id":
                columns["notification_id"] = ids.take(take)
            elif name == "attempts" and column.name == "channel":
                columns["channel"] = channels.take(take)
            elif name == "attempts" and column.name == "outcome":
                columns["outcome"] = pc.if_else(pc.is_null(rows.column("error")), "ok", "error").cast(text)
            else:
                values = rows.column(column.name)
                if (name, column.name) in ENUM_COLUMNS:
                    values = pc.cast(values, text)
                columns[column.name] = values
        out[name] = pa.table(columns).cast(schema.arrow_schema(table, run_id=False))
    return out, attempt_rows
