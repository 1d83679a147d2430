"""Runs in DuckDB: atomic run writes and reading back.

Each run is written in one transaction from Arrow tables (never row by
row): all of its rows land, or none do.  A file holds many runs; every
table carries ``run_id``.  The tables and their columns are declared in
:mod:`notifsim.schema`.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from . import analysis, layout, schema
from ._version import __version__
from .dbfile import LOCK_TIMEOUT_S, DatabaseBusy, check_kind, connect
from .errors import ConfigError, unknown_name
from .paths import check_creatable
from .record import typed
from .result import Result

#: Result attribute → DuckDB table.
TABLES = {name: table.sql_name for name, table in schema.TABLES.items()}

#: The columns of ``runs`` that identify a run in :meth:`ResultsFile.metrics` and the other across-run readers, in order.
RUN_COLUMNS = analysis.RUN_COLUMNS


def check_writable(path: str | os.PathLike, run_ids: Sequence[str] = ()) -> Path:
    """Raise :class:`ConfigError` unless a DuckDB file can be created or opened at ``path`` and none of
    ``run_ids`` is taken in it.  A file another process holds is checked by its header only (its tables
    are checked again when the run is written)."""
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise ConfigError("db", f"must be a file path such as data/notifsim.duckdb; got {path!r}")
    if not str(path).isprintable():  # DuckDB opens UTF-8 paths only (a lone surrogate stands for a byte that is not)
        raise ConfigError("db", f"must be a path of printable UTF-8 text; got {str(path)!r}")
    path = Path(path)
    check_creatable(path, "db", "data/notifsim.duckdb")
    if path.exists():
        check_kind(path)
        _check_results_file(path, run_ids)
    for run_id in run_ids:
        if run_id:
            check_not_saved(path, run_id, "run_name")
    return path


def unwritten_dir(db: str | os.PathLike) -> Path:
    """The folder where the runs that could not be written to ``db`` are saved."""
    return Path(str(db) + ".unwritten")


def check_not_saved(db: str | os.PathLike, run_id: str, field: str) -> Path:
    """The folder run ``run_id`` would be saved in beside ``db``; :class:`ConfigError` on ``field`` when a run of that
    id already waits there, saved and not yet written."""
    target = unwritten_dir(db) / run_id
    if target.exists():
        raise ConfigError(field, f"run {run_id!r} is already saved, not yet written, in {str(target)!r}; load it with notifsim load or choose another name")
    return target


@contextlib.contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction: committed when the block ends, rolled back if it raises (Ctrl-C included)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise


def _check_results_file(path: Path, run_ids: Sequence[str] = ()) -> None:
    """An existing file must be empty or hold notifsim's tables and views with their columns, without
    ``run_ids``; never touch anyone else's.  A file another process holds now is left for the write to check."""
    try:
        con = connect(path, read_only=True, lock_timeout=0)
    except DatabaseBusy:
        return
    try:
        _check_tables(con, path, run_ids)
    finally:
        con.close()


def _check_tables(con: duckdb.DuckDBPyConnection, path: Path, run_ids: Sequence[str] = ()) -> bool:
    """Whether the open file holds notifsim's tables (False: none at all); :class:`ConfigError` for anyone
    else's tables, another version's columns, or a run id of ``run_ids`` already taken."""
    names = [row[0] for row in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()]
    found = {name: _columns(con, name) for name in names}
    if not found:
        return False
    expected = _expected_columns()
    foreign = sorted(set(found) - set(expected))
    mismatched = sorted(name for name in set(found) & set(expected) if found[name] != expected[name])
    if foreign or mismatched or "runs" not in found:
        what = ", ".join(foreign + mismatched) or "no runs table"
        raise ConfigError("db", f"{str(path)!r} is a DuckDB file but not a notifsim results file of this version ({what}); give a new path")
    ids = [str(r) for r in run_ids if r is not None]
    taken = con.execute("SELECT run_id FROM runs WHERE run_id IN (SELECT unnest(?))", [ids]).fetchall() if ids else []
    if taken:
        raise ConfigError("run_name", f"run {taken[0][0]!r} already exists in {str(path)!r}; choose another run name")
    return True


def _columns(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    """The columns of table or view ``name`` (none when it cannot be described: a view over a column that is gone)."""
    try:
        return [c[0] for c in con.execute(f'DESCRIBE "{name}"').fetchall()]
    except duckdb.Error:
        return []


def _expected_columns() -> dict[str, list[str]]:
    """Table or view → column names of a notifsim results file."""
    out = {schema.RUNS.sql_name: schema.RUNS.names}
    for table in schema.TABLES.values():
        out[table.sql_name] = ["run_id", *table.names]
        out[layout.physical_name(table)] = [name for name, _ in layout.physical_columns(table)]
    return out


def _create(con: duckdb.DuckDBPyConnection) -> None:
    for statement in layout.ddl():
        con.execute(statement)


class RunTables(NamedTuple):
    """One run ready to be written: its ``runs`` row and its physical tables (Arrow; both pickle, so a
    worker process can prepare a run and a single writer elsewhere can insert it)."""

    run_id: str
    row: pa.Table
    tables: dict[str, pa.Table]


def prepare_run(result: Result) -> RunTables:
    """The tables :func:`write_runs` inserts for ``result`` (raises if a table does not match the schema)."""
    return RunTables(result.run_id, run_row(result), layout.physical(result))


def _insert_runs(con: duckdb.DuckDBPyConnection, path: Path, prepared: list[RunTables]) -> None:
    """Insert whole runs inside the caller's open transaction, refusing run ids already taken."""
    ids = [run.run_id for run in prepared]
    taken = con.execute("SELECT run_id FROM runs WHERE run_id IN (SELECT unnest(?))", [ids]).fetchall()
    if taken or len(set(ids)) != len(ids):
        dup = taken[0][0] if taken else next(i for i in ids if ids.count(i) > 1)
        raise ConfigError("run_name", f"run {dup!r} already exists in {str(path)!r}; choose another run name")
    for run in prepared:
        _insert(con, "runs", run.row)
        for attr, table in schema.TABLES.items():
            _insert(con, layout.physical_name(table), run.tables[attr])


def write_runs(path: str | os.PathLike, results: list[Result], *, lock_timeout: float | None = LOCK_TIMEOUT_S) -> None:
    """Append runs to the DuckDB file at ``path`` in one transaction (all rows or none), waiting up to
    ``lock_timeout`` seconds while another process holds the file (then :class:`~notifsim.dbfile.DatabaseBusy`)."""
    write_prepared(path, [prepare_run(result) for result in results], lock_timeout=lock_timeout)  # a bad table writes nothing


def write_prepared(
    path: str | os.PathLike,
    prepared: list[RunTables],
    *,
    lock_timeout: float | None = LOCK_TIMEOUT_S,
    guard: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext,
) -> None:
    """:func:`write_runs` for runs already prepared (:func:`prepare_run`); the transaction runs inside ``guard()``
    (such as :func:`~notifsim.dbfile.interrupts_deferred`), the wait for the file outside it."""
    path = check_writable(path)
    created = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    con = connect(path, lock_timeout=lock_timeout)
    with guard():
        try:
            _check_tables(con, path)  # again: the file may have changed while the run ran
            with _transaction(con):
                _create(con)
                _insert_runs(con, path, prepared)
        except BaseException:
            con.close()
            if created:
                for leftover in (path, Path(str(path) + ".wal")):
                    leftover.unlink(missing_ok=True)
            raise
        con.close()


class RunWriter:
    """A results file held open by one writer that appends many runs: each :meth:`write` is one transaction
    of whole runs, so a process killed at any instant leaves only runs that landed whole.

    Opening creates the file and its tables if needed (after the checks of :func:`check_writable`).
    The file stays locked for other processes until :meth:`close`.
    """

    def __init__(self, path: str | os.PathLike, *, lock_timeout: float | None = LOCK_TIMEOUT_S):
        self.path = check_writable(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = connect(self.path, lock_timeout=lock_timeout)
        try:
            _check_tables(self._con, self.path)
            with _transaction(self._con):
                _create(self._con)
        except BaseException:
            self._con.close()
            raise

    def sql(self, query: str, params: list | None = None) -> pd.DataFrame:
        """A query on the file as it stands (values bound through ``params``)."""
        return self._con.execute(query, params or []).df()

    def write(self, runs: list[RunTables]) -> None:
        """Append whole runs in one transaction: all of them land, or none does."""
        if not runs:
            return
        with _transaction(self._con):
            _insert_runs(self._con, self.path, runs)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


#: Rows in one of DuckDB's row groups: a table handed over in batches of this size is written on every core.
_ROW_GROUP = 122_880


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> None:
    """Append Arrow rows to a table, by column name (in batches of a row group, which DuckDB writes in parallel:
    about 15 % faster than one large batch on two cores)."""
    if rows.num_rows > _ROW_GROUP:
        rows = pa.Table.from_batches(rows.to_batches(max_chunksize=_ROW_GROUP), rows.schema)
    con.register("_batch", rows)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _batch")
    finally:
        con.unregister("_batch")


def run_row(result: Result) -> pa.Table:
    """The run's row of the ``runs`` table."""
    values = {
        "run_id": result.run_id,
        "experiment": result.experiment,
        "label": result.label,
        "scenario": result.scenario,
        "policy": result.policy,
        "replication": result.replication,
        "seed": result.seed,
        "horizon_s": result.horizon_s,
        "start": result.start,
        "config": json.dumps(result.config, sort_keys=True, default=str),
        "notifsim_version": __version__,
        "wall_s": result.wall_s,
        "created_at": result.created_at,
        "lost_creations": result.lost_creations,
        "counters": json.dumps(result.counters, sort_keys=True),
    }
    return pa.Table.from_pylist([values], schema=schema.arrow_schema(schema.RUNS, run_id=False))


class ResultsFile:
    """Runs stored in one DuckDB file: ``runs`` lists them, ``run(run_id)`` rebuilds a :class:`Result`."""

    def __init__(self, path: str | os.PathLike, *, lock_timeout: float | None = LOCK_TIMEOUT_S):
        if not isinstance(path, (str, os.PathLike)) or not str(path):
            raise ConfigError("db", f"must be a file path such as data/notifsim.duckdb; got {path!r}")
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError("db", f"no results file at {str(self.path)!r}")
        check_kind(self.path)
        self._con = connect(self.path, read_only=True, lock_timeout=lock_timeout)
        try:
            if not _check_tables(self._con, self.path):
                raise ConfigError("db", f"{str(self.path)!r} is a DuckDB file with no notifsim runs in it")
        except BaseException:
            self._con.close()
            raise

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> ResultsFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def sql(self, query: str, params: list | None = None) -> pd.DataFrame:
        """Run a read-only SQL query (values bound through ``params``) and return a DataFrame."""
        return self._con.execute(query, params or []).df()

    @property
    def runs(self) -> pd.DataFrame:
        """One row per run, oldest first."""
        return self.sql("SELECT * FROM runs ORDER BY created_at, run_id")

    def table(self, name: str, run_id: str | None = None, *, experiment: str | None = None, run_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """One of ``notifications``, ``attempts``, ``ticks``, ``requeues``, ``samples``: all runs (with ``run_id``;
        only those of ``experiment`` or ``run_ids`` if given), or one run (without ``run_id``), in the run's row
        order and with the dtypes of a :class:`Result`."""
        if name not in TABLES:
            raise unknown_name("table", name, TABLES)
        if run_id is None:
            if experiment is None and run_ids is None:
                return self.sql(f"SELECT * FROM {TABLES[name]}")
            chosen = self._select(experiment, run_ids)["run_id"].tolist()
            return self.sql(f"SELECT * FROM {TABLES[name]} WHERE run_id IN (SELECT unnest(?))", [chosen])
        tables, _ = self._logical(run_id)
        return typed(tables[name].to_pandas(types_mapper=_types), name)

    # -- across runs ---------------------------------------------------------------------------

    def _select(self, experiment: str | None, run_ids: Sequence[str] | None) -> pd.DataFrame:
        """The identifying columns of the chosen runs, oldest first; ``ConfigError`` for an unknown experiment or run id."""
        where: list[str] = []
        params: list[Any] = []
        if experiment is not None:
            known = self.sql("SELECT DISTINCT experiment FROM runs")["experiment"].tolist()
            if experiment not in known:
                raise unknown_name("experiment", experiment, [str(e) if e else "'' (none)" for e in known])
            where.append("experiment = ?")
            params.append(experiment)
        if run_ids is not None:
            ids = [str(r) for r in run_ids]
            found = set(self.sql("SELECT run_id FROM runs WHERE run_id IN (SELECT unnest(?))", [ids])["run_id"])
            for run_id in ids:
                if run_id not in found:
                    raise unknown_name("run_id", run_id, self.runs["run_id"].tolist())
            where.append("run_id IN (SELECT unnest(?))")
            params.append(ids)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        columns = ", ".join(schema.quote(c) for c in RUN_COLUMNS)
        return self.sql(f"SELECT {columns} FROM runs {clause} ORDER BY created_at, run_id", params)

    def metrics(
        self,
        experiment: str | None = None,
        *,
        run_ids: Sequence[str] | None = None,
        within: float = analysis.WITHIN_S,
        include_initial: bool = False,
    ) -> pd.DataFrame:
        """One row per run (of ``experiment``, or of ``run_ids``, or all), oldest first: ``run_id``, ``experiment``,
        ``label``, ``scenario``, ``policy``, ``replication``, ``seed``, ``horizon_s``, then every metric of
        :data:`~notifsim.analysis.METRICS` — counts int64, the rest float64 — equal to ``run(run_id).summary()``.

        Only the columns the metrics need are read, one run at a time.
        """
        runs = self._select(experiment, run_ids)
        values = np.empty((len(runs), len(analysis.METRICS)), dtype="float64")
        for i, run_id in enumerate(runs["run_id"]):
            notifications, attempts, attempt_rows = self._metric_tables(run_id)
            summary = analysis.summarize(notifications, attempts, include_initial=include_initial, within=within, attempt_rows=attempt_rows)
            values[i] = summary.to_numpy()
        frame = pd.DataFrame(values, columns=list(analysis.METRICS), index=runs.index)
        for name in analysis.COUNTS:
            frame[name] = frame[name].astype("int64")
        return pd.concat([runs, frame], axis=1)

    def _metric_tables(self, run_id: str) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
        """The notification and attempt columns the metrics read, and each attempt's notification row."""
        notes = layout.physical_name(schema.NOTIFICATIONS)
        tries = layout.physical_name(schema.ATTEMPTS)
        notifications = self._con.sql(
            f"""SELECT seq, status, next_retry_at, deliveries, first_delivered_at, created_at, channel, CAST(origin AS VARCHAR) AS origin
                FROM {notes} WHERE run_id = ? ORDER BY ord""",
            params=[run_id],
        ).to_arrow_table()
        attempts = self._con.sql(f'SELECT seq, "at" FROM {tries} WHERE run_id = ? ORDER BY ord', params=[run_id]).to_arrow_table()
        seq = notifications.column("seq").to_numpy()
        position = np.zeros(int(seq.max()) + 1 if len(seq) else 0, np.int64)
        position[seq] = np.arange(len(seq))
        rows = position[attempts.column("seq").to_numpy()] if attempts.num_rows else np.empty(0, np.int64)
        return notifications.to_pandas(types_mapper=_types), attempts.to_pandas(types_mapper=_types), rows

    def settings(self, experiment: str | None = None, *, run_ids: Sequence[str] | None = None, varying: bool = True) -> pd.DataFrame:
        """Each run's configuration as flat settings (:func:`notifsim.analysis.settings`): ``run_id``, then one column per
        setting path; with ``varying`` (the default) only the settings that differ between the chosen runs — the knobs."""
        runs = self._select(experiment, run_ids)
        configs = self.sql("SELECT run_id, config FROM runs WHERE run_id IN (SELECT unnest(?))", [runs["run_id"].tolist()]).set_index("run_id")["config"]
        flat = analysis.settings(configs.reindex(runs["run_id"]))
        if varying:
            flat = analysis.varying(flat)
        return flat.rename_axis("run_id").reset_index()

    def requeue_funnel(self, experiment: str | None = None, *, run_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per run: its identifying columns (as in :meth:`metrics`) and the requeue funnel of
        :func:`notifsim.analysis.requeue_funnel` (int64 counts per stage of :data:`~notifsim.analysis.FUNNEL`)."""
        runs = self._select(experiment, run_ids)
        ids = runs["run_id"].tolist()
        notes = layout.physical_name(schema.NOTIFICATIONS)
        stuck = self.sql(
            f"""SELECT run_id, count(*) FILTER (WHERE status = 'dead' OR (status = 'failed' AND next_retry_at IS NULL)) AS stuck
                FROM {notes} WHERE run_id IN (SELECT unnest(?)) GROUP BY run_id""",
            [ids],
        ).set_index("run_id")["stuck"]
        acted = set(
            self.sql(
                f"""SELECT DISTINCT run_id FROM {layout.physical_name(schema.REQUEUES)}
                    WHERE action = 'requeue' AND outcome = 'requeued' AND run_id IN (SELECT unnest(?))""",
                [ids],
            )["run_id"]
        )
        stages = list(analysis.FUNNEL)
        values = np.zeros((len(ids), len(stages)), dtype=np.int64)
        for i, run_id in enumerate(ids):
            if run_id in acted:
                values[i] = self._funnel_of(run_id).reindex(stages).to_numpy()
            else:
                values[i, stages.index("rescue_candidates")] = values[i, stages.index("left_behind")] = int(stuck.get(run_id, 0))
        return pd.concat([runs, pd.DataFrame(values, columns=stages, index=runs.index)], axis=1)

    def _funnel_of(self, run_id: str) -> pd.Series:
        notifications = self.sql(
            "SELECT id, type, channel, status, next_retry_at, deliveries, first_delivered_at FROM notification_events WHERE run_id = ?", [run_id]
        )
        requeues = self.sql('SELECT notification_id, "at", action, from_status, retry_count_before, outcome FROM requeues WHERE run_id = ?', [run_id])
        attempts = self.sql(
            """SELECT notification_id, "at", delivered, latency_s FROM attempts
               WHERE run_id = ? AND notification_id IN (SELECT notification_id FROM requeues WHERE run_id = ?)""",
            [run_id, run_id],
        )
        return analysis.requeue_funnel(notifications, requeues, attempts)

    def delivery_times(self, experiment: str | None = None, *, run_ids: Sequence[str] | None = None, include_initial: bool = False) -> pd.DataFrame:
        """One row per notification created in the chosen runs (all rows with ``include_initial``): ``run_id``,
        ``channel`` and ``seconds`` from creation to first delivery (float64; NaN: never delivered), as
        :func:`notifsim.analysis.delivery_times` computes them for one run."""
        runs = self._select(experiment, run_ids)
        scope = "" if include_initial else "AND origin = 'created'"
        notes = layout.physical_name(schema.NOTIFICATIONS)
        frame = self.sql(
            f"""SELECT run_id, channel, date_diff('microsecond', created_at, first_delivered_at) / 1e6 AS seconds
                FROM {notes} WHERE run_id IN (SELECT unnest(?)) {scope} ORDER BY run_id, ord""",
            [runs["run_id"].tolist()],
        )
        frame["seconds"] = frame["seconds"].astype("float64")
        return frame

    def _logical(self, run_id: str) -> tuple[dict[str, pa.Table], Any]:
        physical = {
            attr: self._con.sql(f"SELECT * FROM {layout.physical_name(table)} WHERE run_id = ?", params=[run_id]).to_arrow_table()
            for attr, table in schema.TABLES.items()
        }
        return layout.logical(physical)

    def run(self, run_id: str) -> Result:
        """The stored run as a :class:`Result` (the same tables and summary as when it ran)."""
        meta = self.sql("SELECT * FROM runs WHERE run_id = ?", [run_id])
        if meta.empty:
            raise unknown_name("run_id", run_id, self.runs["run_id"].tolist())
        m = meta.iloc[0]
        logical, attempt_rows = self._logical(run_id)
        tables = {attr: typed(logical[attr].to_pandas(types_mapper=_types), attr) for attr in TABLES}
        return Result(
            run_id=run_id,
            scenario=m["scenario"],
            policy=m["policy"],
            seed=int(m["seed"]),
            horizon_s=float(m["horizon_s"]),
            start=m["start"].to_pydatetime(),
            config=json.loads(m["config"]),
            experiment=m["experiment"],
            label=m["label"],
            replication=int(m["replication"]),
            wall_s=float(m["wall_s"]),
            lost_creations=int(m["lost_creations"]),
            counters=json.loads(m["counters"]) if isinstance(m["counters"], str) else {},
            created_at=m["created_at"].to_pydatetime(),
            attempt_rows=attempt_rows,
            **tables,
        )

    def __iter__(self):
        for run_id in self.runs["run_id"]:
            yield self.run(run_id)

    def __len__(self) -> int:
        return int(self.sql("SELECT count(*) AS n FROM runs")["n"].iloc[0])

    def __repr__(self) -> str:
        return f"ResultsFile({str(self.path)!r}, runs={len(self)})"

    def _repr_html_(self) -> str:
        """Jupyter: the file, its experiments and its latest runs, every value HTML-escaped."""
        esc = html.escape
        runs = self.sql(
            "SELECT run_id, experiment, label, scenario, policy, replication, seed, horizon_s / 86400 AS days, created_at FROM runs ORDER BY created_at, run_id"
        )
        head = f"<p><b>notifsim results</b> {esc(str(self.path))}: {len(runs):,} run{'s' if len(runs) != 1 else ''}</p>"
        if runs.empty:
            return head
        experiments = runs.groupby("experiment", sort=False).agg(
            runs=("run_id", "size"),
            configurations=("label", lambda s: s.nunique()),
            scenarios=("scenario", lambda s: ", ".join(dict.fromkeys(s.astype(str)))),
            policies=("policy", lambda s: ", ".join(dict.fromkeys(s.astype(str)))),
            replications=("replication", lambda s: s.nunique()),
        )
        shown = runs.tail(_HTML_RUNS)
        more = f"<p>the latest {_HTML_RUNS} of {len(runs):,} runs</p>" if len(runs) > _HTML_RUNS else ""
        return head + experiments.to_html(escape=True) + more + shown.to_html(escape=True, index=False)


#: Runs listed by ``ResultsFile._repr_html_``.
_HTML_RUNS = 20


def _types(arrow_type: pa.DataType) -> Any:
    """Arrow strings become pandas' Arrow-backed strings."""
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pd.StringDtype("pyarrow")
    return None


def open_results(path: str | os.PathLike, *, lock_timeout: float | None = LOCK_TIMEOUT_S) -> ResultsFile:
    """Open a results file written by :func:`notifsim.simulate` or the CLI (read-only); :class:`ConfigError`
    for a missing file or one that is not a notifsim results file, waiting up to ``lock_timeout`` seconds
    while another process writes to it."""
    return ResultsFile(path, lock_timeout=lock_timeout)
