"""Runs in DuckDB: the schema of DESIGN §4, atomic run writes, and reading back.

Each run is written in one transaction from Arrow tables (never row by
row): all of its rows land, or none do.  A file holds many runs; every
table carries ``run_id``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from .errors import ConfigError
from .record import typed
from .result import Result

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, experiment VARCHAR, scenario VARCHAR, policy VARCHAR,
    replication INTEGER, seed BIGINT, horizon_s DOUBLE, start TIMESTAMPTZ, config JSON,
    notifsim_version VARCHAR, wall_s DOUBLE, created_at TIMESTAMPTZ, lost_creations BIGINT
);
CREATE TABLE IF NOT EXISTS notification_events (
    run_id VARCHAR, id VARCHAR, type VARCHAR, certificate_id VARCHAR, channel VARCHAR, recipient VARCHAR,
    message VARCHAR, status VARCHAR, retry_count INTEGER, next_retry_at TIMESTAMPTZ, last_error VARCHAR,
    error VARCHAR, created_at TIMESTAMPTZ, sent_at TIMESTAMPTZ, attempts INTEGER, deliveries INTEGER,
    first_delivered_at TIMESTAMPTZ, requeues INTEGER, origin VARCHAR
);
CREATE TABLE IF NOT EXISTS attempts (
    run_id VARCHAR, notification_id VARCHAR, "at" TIMESTAMPTZ, loop VARCHAR, retry_count_before INTEGER,
    outcome VARCHAR, error VARCHAR, latency_s DOUBLE, delivered BOOLEAN, channel VARCHAR, retry_after_s DOUBLE
);
CREATE TABLE IF NOT EXISTS ticks (
    run_id VARCHAR, loop VARCHAR, "at" TIMESTAMPTZ, rows INTEGER, sends INTEGER, duration_s DOUBLE,
    skipped BOOLEAN, deadline_hit BOOLEAN, error VARCHAR
);
CREATE TABLE IF NOT EXISTS requeues (
    run_id VARCHAR, notification_id VARCHAR, "at" TIMESTAMPTZ, action VARCHAR, from_status VARCHAR,
    retry_count_before INTEGER, outcome VARCHAR
);
CREATE TABLE IF NOT EXISTS status_samples (
    run_id VARCHAR, "at" TIMESTAMPTZ, pending BIGINT, sent BIGINT, failed BIGINT, dead BIGINT, "read" BIGINT,
    stranded BIGINT
);
"""

#: Result attribute → DuckDB table.
TABLES = {
    "notifications": "notification_events",
    "attempts": "attempts",
    "ticks": "ticks",
    "requeues": "requeues",
    "samples": "status_samples",
}


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
    expected = {name: cols for name, cols in _expected_columns().items()}
    foreign = sorted(set(found) - set(expected))
    mismatched = sorted(name for name in set(found) & set(expected) if found[name] != expected[name])
    if foreign or mismatched or "runs" not in found:
        what = ", ".join(foreign + mismatched) or "no runs table"
        raise ConfigError("db", f"{str(path)!r} is a DuckDB file but not a notifsim results file ({what}); give a new path")


def _expected_columns() -> dict[str, list[str]]:
    con = duckdb.connect()
    try:
        con.execute(SCHEMA)
        return {name: [c[0] for c in con.execute(f'DESCRIBE "{name}"').fetchall()] for (name,) in con.execute("SHOW TABLES").fetchall()}
    finally:
        con.close()


def _arrow(frame: pd.DataFrame, run_id: str) -> pa.Table:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return table.add_column(0, "run_id", pa.array([run_id] * len(frame), pa.string()))


def write_runs(path: str | os.PathLike, results: list[Result]) -> None:
    """Append runs to the DuckDB file at ``path`` in one transaction (all rows or none)."""
    from . import __version__

    path = check_writable(path)
    created = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _connect(path)
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(SCHEMA)
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
                }
            )
            con.register("_run", runs)
            con.execute("INSERT INTO runs BY NAME SELECT * FROM _run")
            con.unregister("_run")
            for attr, table in TABLES.items():
                arrow = _arrow(getattr(result, attr), result.run_id)
                con.register("_batch", arrow)
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _batch")
                con.unregister("_batch")
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
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

    def __enter__(self) -> "ResultsFile":
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
            from .errors import unknown_name

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
            from .errors import unknown_name

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
