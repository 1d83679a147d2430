"""Runs that could not be written: saved beside the results file as Parquet, loaded later.

When the results file stays held by another process past the lock timeout
(or the write fails for another reason), a finished run is not thrown
away: :func:`store_runs` saves each run's tables as Parquet files in
``<db>.unwritten/<run_id>/`` (written to a temporary folder, then renamed,
so a folder there is always whole) and raises :class:`RunNotWrittenError`
naming the command that loads them: ``notifsim load <db> <folder>``
(:func:`load_parquet` in Python), which inserts them in one transaction and
then deletes the folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from . import schema
from .dbfile import LOCK_TIMEOUT_S, InterruptedAfterWrite, interrupts_deferred
from .errors import ConfigError
from .result import Result
from .store import RunTables, check_not_saved, prepare_run, unwritten_dir, write_prepared

#: The file of a saved run that holds its ``runs`` row.
_RUN_ROW = "runs.parquet"


class RunNotWrittenError(RuntimeError):
    """Finished runs could not be written to ``db``; they are saved as Parquet in ``saved`` (a folder), and
    ``notifsim load <db> <saved>`` (or :func:`load_parquet`) adds them.  ``results`` holds the runs."""

    def __init__(self, db: Path, saved: Path, run_ids: list[str], reason: str, results: Sequence[Result] = ()):
        self.db = db
        self.saved = saved
        self.run_ids = run_ids
        self.results = list(results)
        runs = f"run {run_ids[0]}" if len(run_ids) == 1 else f"{len(run_ids)} runs"
        super().__init__(f"{runs} not written to {str(db)!r} ({reason}); saved in {str(saved)!r}; add it with: notifsim load {_quote(db)} {_quote(saved)}")


class InterruptedRunsSaved(KeyboardInterrupt):
    """Ctrl-C while waiting for the database: the finished runs were saved as Parquet in ``saved``."""

    def __init__(self, db: Path, saved: Path):
        self.db = db
        self.saved = saved
        super().__init__(
            f"interrupted while waiting for {str(db)!r}; the run was saved in {str(saved)!r}; add it with: notifsim load {_quote(db)} {_quote(saved)}"
        )


def _quote(path: Path) -> str:
    text = str(path)
    return f"'{text}'" if any(c.isspace() or c in "'\"$`\\" for c in text) else text


def store_runs(db: str | os.PathLike, results: list[Result], *, lock_timeout: float | None = LOCK_TIMEOUT_S) -> None:
    """Write ``results`` to ``db`` in one transaction; if that fails, save them as Parquet and raise
    :class:`RunNotWrittenError` (a finished run is never lost).  Ctrl-C waits until the write is over."""
    prepared = [prepare_run(result) for result in results]
    try:
        write_prepared(db, prepared, lock_timeout=lock_timeout, guard=interrupts_deferred)
    except InterruptedAfterWrite:
        raise
    except KeyboardInterrupt as exc:  # Ctrl-C while waiting for the file: keep the runs, then stop
        folder = save_parquet(db, prepared)
        raise InterruptedRunsSaved(Path(db), folder) from exc
    except Exception as exc:  # whatever stopped the write, the finished runs are kept
        raise saved_instead(db, prepared, exc, results) from exc


def saved_instead(db: str | os.PathLike, prepared: list[RunTables], error: Exception, results: Sequence[Result] = ()) -> RunNotWrittenError:
    """Save runs whose write to ``db`` failed with ``error`` as Parquet; the error that says where they are."""
    folder = save_parquet(db, prepared)
    reason = error.problem if isinstance(error, ConfigError) else f"{type(error).__name__}: {error}"
    return RunNotWrittenError(Path(db), folder, [p.run_id for p in prepared], reason, results)


def save_parquet(db: str | os.PathLike, runs: list[RunTables]) -> Path:
    """Save runs as ``<db>.unwritten/<run_id>/*.parquet``; return the run's folder (one run) or ``<db>.unwritten``."""
    root = unwritten_dir(db)
    root.mkdir(parents=True, exist_ok=True)
    for run in runs:
        target = check_not_saved(db, run.run_id, "db")
        staging = Path(tempfile.mkdtemp(prefix=f".{run.run_id}-", dir=root))
        try:
            pq.write_table(run.row, staging / _RUN_ROW)
            for attr, table in run.tables.items():
                pq.write_table(table, staging / f"{attr}.parquet")
            os.replace(staging, target)  # the folder appears whole, or not at all
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return root / runs[0].run_id if len(runs) == 1 else root


def _saved_runs(folder: Path) -> list[Path]:
    """The run folders in ``folder``: itself if it holds one run, else its subfolders that do."""
    if not folder.is_dir():
        raise ConfigError("folder", f"{str(folder)!r} is not a folder of saved runs")
    if (folder / _RUN_ROW).is_file():
        return [folder]
    runs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / _RUN_ROW).is_file())
    if not runs:
        raise ConfigError("folder", f"{str(folder)!r} holds no saved runs (folders with {_RUN_ROW})")
    return runs


def _read_run(folder: Path) -> RunTables:
    try:
        row = pq.read_table(folder / _RUN_ROW)
        tables = {attr: pq.read_table(folder / f"{attr}.parquet") for attr in schema.TABLES}
    except (OSError, pa.ArrowInvalid) as exc:
        raise ConfigError("folder", f"cannot read the saved run in {str(folder)!r}: {exc}") from None
    if row.num_rows != 1:
        raise ConfigError("folder", f"{str(folder / _RUN_ROW)!r} must hold one run; it holds {row.num_rows}")
    return RunTables(str(row.column("run_id")[0].as_py()), row, tables)


def load_parquet(db: str | os.PathLike, folder: str | os.PathLike, *, lock_timeout: float | None = LOCK_TIMEOUT_S) -> list[str]:
    """Add the runs saved in ``folder`` (one run's folder, or ``<db>.unwritten``) to ``db`` in one transaction,
    then delete their folders; return their run ids.  Nothing is deleted unless the write committed."""
    folders = _saved_runs(Path(folder))
    runs = [_read_run(f) for f in folders]
    try:
        write_prepared(db, runs, lock_timeout=lock_timeout, guard=interrupts_deferred)
    except duckdb.Error as exc:  # tables that are not what notifsim saved (edited or from another version): nothing written
        raise ConfigError("folder", f"cannot add the runs saved in {str(folder)!r}: {str(exc).splitlines()[0]}") from None
    for f in folders:
        shutil.rmtree(f, ignore_errors=True)
    parent = unwritten_dir(db)
    if parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
    return [r.run_id for r in runs]
