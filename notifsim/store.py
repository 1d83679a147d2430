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

import duckdb
import pandas as pd
import pyarrow as pa

from . import schema
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
    """An existing file must be empty or hold notifsim's tables with their columns; never touch anyone else's."""
    con = _connect(path, read_only=True)
    try:
        found = {name: [c[0] for c in con.execute(f'DESCRIBE "{name}"').fetchall()] for (name,) in con.execute("SHOW TABLES").fetchall()}
    finally:
        con.close()
    if not found:
        return
    expected = _expected_columns()
    foreign = sorted(set(found) - set(expected))
    mismatched = sorted(name for name in set(found) & set(expected) if found[name] != expected[name])
    if foreign or mismatched or "runs" not in found:
        what = ", ".join(foreign + mismatched) or "no runs table"
        raise ConfigError("db", f"{str(path)!r} is a DuckDB file but not a notifsim results file ({what}); give a new path")


def _expected_columns() -> dict[str, list[str]]:
    """Table → column names of a notifsim results file."""
    out = {}
    for table in schema.ALL_TABLES:
        out[table.sql_name] = ([] if table is schema.RUNS else ["run_id"]) + table.names
    return out


def _arrow(frame: pd.DataFrame, run_id: str, table: schema.Table) -> pa.Table:
    """One run's table as Arrow, typed by :mod:`notifsim.schema`, with ``run_id`` first."""
    if list(frame.columns) != table.names:
        raise ValueError(f"{table.attribute}: columns {list(frame.columns)} are not the schema's {table.names}")
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    arrow = arrow.add_column(0, "run_id", pa.array([run_id] * len(frame), pa.large_string()))
    return arrow.cast(schema.arrow_schema(table))


def write_runs(path: str | os.PathLike, results: list[Result]) -> None:
    """Append runs to the DuckDB file at ``path`` in one transaction (all rows or none)."""
    path = check_writable(path)
    created = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _connect(path)
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(schema.all_ddl())
        ids = [r.run_id for r in results]
        taken = con.execute("SELECT run_id FROM runs WHERE run_id IN (SELECT unnest(?))", [ids]).fetchall()
        if taken or len(set(ids)) != len(ids):
            dup = taken[0][0] if taken else next(i for i in ids if ids.count(i) > 1)
            raise ConfigError("run_name", f"run {dup!r} already exists in {str(path)!r}; choose another run name")
        for result in results:
            runs = pd.DataFrame(
                {
                    "run_id": [result.run_id],
                    "experiment": [result.experiment],
                    "scenario": [result.scenario],
                    "policy": [result.policy],
                    "replication": [result.replication],
                    "seed": [result.seed],
                    "horizon_s": [result.horizon_s],
                    "start": [pd.Timestamp(result.start)],
                    "config": [json.dumps(result.config, sort_keys=True, default=str)],
                    "notifsim_version": [__version__],
                    "wall_s": [result.wall_s],
                    "created_at": [pd.Timestamp(result.created_at)],
                    "lost_creations": [result.lost_creations],
                    "counters": [json.dumps(result.counters, sort_keys=True)],
                }
            )
            con.register("_run", runs)
            con.execute("INSERT INTO runs BY NAME SELECT * FROM _run")
            con.unregister("_run")
            for attr, table in schema.TABLES.items():
                arrow = _arrow(getattr(result, attr), result.run_id, table)
                con.register("_batch", arrow)
                con.execute(f"INSERT INTO {table.sql_name} BY NAME SELECT * FROM _batch")
                con.unregister("_batch")
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
        """One of ``notifications``, ``attempts``, ``ticks``, ``requeues``, ``samples`` (all runs, or one)."""
        if name not in TABLES:
            raise unknown_name("table", name, TABLES)
        sql = f"SELECT * FROM {TABLES[name]}"
        if run_id is None:
            return self.sql(sql)
        frame = self.sql(sql + " WHERE run_id = ?", [run_id])
        return frame.drop(columns="run_id")

    def run(self, run_id: str) -> Result:
        """The stored run as a :class:`Result` (same tables and summary as when it ran)."""
        meta = self.sql("SELECT * FROM runs WHERE run_id = ?", [run_id])
        if meta.empty:
            raise unknown_name("run_id", run_id, self.runs["run_id"].tolist())
        m = meta.iloc[0]
        tables = {attr: typed(self.table(attr, run_id), attr) for attr in TABLES}
        return Result(
            run_id=run_id,
            scenario=m["scenario"],
            policy=m["policy"],
            seed=int(m["seed"]),
            horizon_s=float(m["horizon_s"]),
            start=m["start"].to_pydatetime(),
            config=json.loads(m["config"]),
            experiment=m["experiment"],
            replication=int(m["replication"]),
            wall_s=float(m["wall_s"]),
            lost_creations=int(m["lost_creations"]),
            counters=json.loads(m["counters"]) if isinstance(m["counters"], str) else {},
            created_at=m["created_at"].to_pydatetime(),
            **tables,
        )

    def __iter__(self):
        for run_id in self.runs["run_id"]:
            yield self.run(run_id)

    def __len__(self) -> int:
        return int(self.sql("SELECT count(*) AS n FROM runs")["n"].iloc[0])


def open_results(path: str | os.PathLike) -> ResultsFile:
    """Open a results file written by :func:`notifsim.simulate` or the CLI (read-only)."""
    return ResultsFile(path)
