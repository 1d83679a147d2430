"""Runs in DuckDB: atomic run writes and reading back.

Each run is written in one transaction from Arrow tables (never row by
row): all of its rows land, or none do.  A file holds many runs; every
table carries ``run_id``.  The tables and their columns are declared in
:mod:`notifsim.schema`.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from . import layout, schema
from ._version import __version__
from .errors import ConfigError, unknown_name
from .record import typed
from .result import Result

#: Result attribute → DuckDB table.
TABLES = {name: table.sql_name for name, table in schema.TABLES.items()}


def check_writable(path: str | os.PathLike) -> Path:
    """Raise :class:`ConfigError` unless a DuckDB file can be created or opened at ``path``."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError("db", f"{str(path)!r} is a directory; give a file path such as data/notifsim.duckdb")
    parent = path.parent if str(path.parent) else Path(".")
    ancestor = parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK):
        raise ConfigError("db", f"cannot write {str(path)!r}: {str(ancestor)!r} is not a writable directory")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise ConfigError("db", f"cannot write {str(path)!r}: permission denied")
        _check_results_file(path)
        return path
    try:  # prove the directory takes a new file, leaving nothing behind
        with tempfile.TemporaryFile(dir=ancestor):
            pass
    except OSError as exc:
        raise ConfigError("db", f"cannot write {str(path)!r}: {exc.strerror or exc}") from exc
    return path


def _connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except (duckdb.IOException, duckdb.Error) as exc:
        raise ConfigError("db", f"cannot open {str(path)!r} as a DuckDB file: {str(exc).splitlines()[0]}") from exc
    con.execute("SET TimeZone = 'UTC'")  # TIMESTAMPTZ comes back in the session zone: make it UTC
    return con


def _check_results_file(path: Path) -> None:
    """An existing file must be empty or hold notifsim's tables and views with their columns; never touch anyone else's."""
    con = _connect(path, read_only=True)
    try:
        names = [row[0] for row in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()]
        found = {name: [c[0] for c in con.execute(f'DESCRIBE "{name}"').fetchall()] for name in names}
    finally:
        con.close()
    if not found:
        return
    expected = _expected_columns()
    foreign = sorted(set(found) - set(expected))
    mismatched = sorted(name for name in set(found) & set(expected) if found[name] != expected[name])
    if foreign or mismatched or "runs" not in found:
        what = ", ".join(foreign + mismatched) or "no runs table"
        raise ConfigError("db", f"{str(path)!r} is a DuckDB file but not a notifsim results file of this version ({what}); give a new path")


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


def write_runs(path: str | os.PathLike, results: list[Result]) -> None:
    """Append runs to the DuckDB file at ``path`` in one transaction (all rows or none)."""
    path = check_writable(path)
    created = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    prepared = [(result, layout.physical(result)) for result in results]  # before opening: a bad table writes nothing
    con = _connect(path)
    try:
        con.execute("BEGIN TRANSACTION")
        _create(con)
        ids = [r.run_id for r in results]
        taken = con.execute("SELECT run_id FROM runs WHERE run_id IN (SELECT unnest(?))", [ids]).fetchall()
        if taken or len(set(ids)) != len(ids):
            dup = taken[0][0] if taken else next(i for i in ids if ids.count(i) > 1)
            raise ConfigError("run_name", f"run {dup!r} already exists in {str(path)!r}; choose another run name")
        for result, tables in prepared:
            _insert(con, "runs", _run_row(result))
            for attr, table in schema.TABLES.items():
                _insert(con, layout.physical_name(table), tables[attr])
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        con.close()
        if created:
            for leftover in (path, Path(str(path) + ".wal")):
                leftover.unlink(missing_ok=True)
        raise
    con.close()


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> None:
    """Append Arrow rows to a table, by column name."""
    con.register("_batch", rows)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _batch")
    finally:
        con.unregister("_batch")


def _run_row(result: Result) -> pa.Table:
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

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError("db", f"no results file at {str(self.path)!r}")
        self._con = _connect(self.path, read_only=True)

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

    def table(self, name: str, run_id: str | None = None) -> pd.DataFrame:
        """One of ``notifications``, ``attempts``, ``ticks``, ``requeues``, ``samples``: all runs (with ``run_id``),
        or one run (without), in the run's row order and with the dtypes of a :class:`Result`."""
        if name not in TABLES:
            raise unknown_name("table", name, TABLES)
        if run_id is None:
            return self.sql(f"SELECT * FROM {TABLES[name]}")
        tables, _ = self._logical(run_id)
        return typed(tables[name].to_pandas(types_mapper=_types), name)

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


def _types(arrow_type: pa.DataType) -> Any:
    """Arrow strings become pandas' Arrow-backed strings."""
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pd.StringDtype("pyarrow")
    return None


def open_results(path: str | os.PathLike) -> ResultsFile:
    """Open a results file written by :func:`notifsim.simulate` or the CLI (read-only)."""
    return ResultsFile(path)
