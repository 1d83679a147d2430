"""DuckDB results files (docs/results.md): round trip, many runs per file, atomic writes, bad paths."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import notifsim
from notifsim import ConfigError
from notifsim.channels import Bernoulli
from notifsim.operators import Scripted as ScriptedOperator
from notifsim.store import write_runs
from notifsim.workloads import Poisson

TABLES = ("notifications", "attempts", "ticks", "requeues", "samples")
DB_TABLES = ("runs", "notification_events", "attempts", "ticks", "requeues", "status_samples")
GO_ZERO = pd.Timestamp("0001-01-01T00:00:00Z")


def _scenario() -> notifsim.Scenario:
    """Stranded rows (Go zero time in sent_at), NULL next_retry_at/last_error, requeues, ghost Webhook rows."""
    return notifsim.Scenario(
        "store",
        channels={"Slack": Bernoulli(0.3, latency=0.2), "Email": Bernoulli(0.1, latency=1.0), "Webhook": Bernoulli(0.1)},
        workload=Poisson(240, channels={"Slack": 2, "Email": 1, "Webhook": 1}, types={"ExpirationWarning": 3, "RenewalFailure": 1}),
        initial_rows=[
            {"id": "dead-1", "channel": "Slack", "status": "dead", "retry_count": 4, "last_error": "x", "sent_at": "0001-01-01T00:00:00Z", "created_at": -3600},
            {
                "id": "armed-1",
                "channel": "Email",
                "status": "failed",
                "retry_count": 2,
                "next_retry_at": 100,
                "last_error": "y",
                "sent_at": "0001-01-01T00:00:00Z",
                "created_at": -300,
            },
        ],
        operator=ScriptedOperator([("5m", "requeue", "dead-1"), ("7m", "read", "armed-1"), ("8m", "requeue", "missing")]),
    )


def _simulate(policy="certctl-asbuilt", seed=2, horizon="3h", **kw) -> notifsim.Result:
    return notifsim.simulate(_scenario(), policy, seed=seed, horizon=horizon, **kw)


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Values only: nullable strings/objects → object with None, integers → int64."""
    out = {}
    for name, col in frame.items():
        if isinstance(col.dtype, pd.DatetimeTZDtype) or col.dtype == bool or pd.api.types.is_float_dtype(col.dtype):
            out[name] = col
        elif pd.api.types.is_integer_dtype(col.dtype):
            out[name] = col.astype("Int64")
        else:
            out[name] = col.astype(object).where(col.notna(), None)
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def assert_tables_equal(mem: notifsim.Result, disk: notifsim.Result) -> None:
    for name in TABLES:
        a, b = getattr(mem, name), getattr(disk, name)
        assert list(a.columns) == list(b.columns), name
        pd.testing.assert_frame_equal(_comparable(a), _comparable(b), check_exact=True, obj=name)


def _counts(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in DB_TABLES}
    finally:
        con.close()


def _rows_of(path: Path, run_id: str) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t} WHERE run_id = ?", [run_id]).fetchone()[0] for t in DB_TABLES}
    finally:
        con.close()


# -- round trip ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    path = tmp_path_factory.mktemp("store") / "r.duckdb"
    result = _simulate(db=path, experiment="exp-1", replication=3)
    return path, result


def test_runs_table_has_the_run_and_its_config(stored):
    path, result = stored
    with notifsim.open_results(path) as f:
        runs = f.runs
        assert len(f) == 1
    assert runs["run_id"].tolist() == [result.run_id]
    row = runs.iloc[0]
    assert row["scenario"] == "store" and row["policy"] == "certctl-asbuilt"
    assert row["seed"] == 2 and row["horizon_s"] == 3 * 3600
    assert row["experiment"] == "exp-1" and row["replication"] == 3
    assert row["notifsim_version"] == notifsim.__version__
    for column in ("run_id", "experiment", "scenario", "policy", "replication", "seed", "horizon_s", "config", "notifsim_version", "wall_s", "created_at"):
        assert column in runs.columns, column
    config = json.loads(row["config"])
    assert config == json.loads(json.dumps(result.config, default=str))
    assert config["policy"]["name"] == "certctl-asbuilt"
    assert config["policy"]["arm_first_failure"] is False
    assert config["scenario"]["channels"]["Slack"] == {"model": "Bernoulli", "p_fail": 0.3, "latency": 0.2, "error": None, "accept_status": 200}


def test_run_round_trips_tables(stored):
    path, result = stored
    with notifsim.open_results(path) as f:
        back = f.run(result.run_id)
    assert back.run_id == result.run_id
    assert (back.scenario, back.policy, back.seed, back.horizon_s) == (result.scenario, result.policy, result.seed, result.horizon_s)
    assert (back.experiment, back.replication) == ("exp-1", 3)
    assert back.start == result.start
    assert back.config == json.loads(json.dumps(result.config, default=str))
    assert_tables_equal(result, back)
    pd.testing.assert_series_equal(back.summary(), result.summary())
    pd.testing.assert_frame_equal(back.summary_by_channel(), result.summary_by_channel())


def test_round_trip_keeps_go_zero_time_nulls_and_utc(stored):
    path, result = stored
    with notifsim.open_results(path) as f:
        back = f.run(result.run_id)
    n = back.notifications
    failed = n[n["status"] == "failed"]
    # the scenario really produced the values this test is about
    assert len(failed) > 10
    assert (failed["sent_at"] == GO_ZERO).all()
    assert failed["next_retry_at"].isna().any() and failed["last_error"].isna().any()
    assert n["first_delivered_at"].isna().any() and n["first_delivered_at"].notna().any()
    for name in TABLES:
        frame = getattr(back, name)
        for column in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[column]):
                assert str(frame[column].dt.tz) == "UTC", (name, column)
    assert len(back.requeues) == 3 and back.requeues["retry_count_before"].isna().sum() == 1


def test_round_trip_keeps_dtypes(stored):
    """`run()` promises the same tables as when the run ran: same columns and dtypes, not just values."""
    path, result = stored
    with notifsim.open_results(path) as f:
        back = f.run(result.run_id)
    for name in TABLES:
        pd.testing.assert_series_equal(getattr(result, name).dtypes, getattr(back, name).dtypes, obj=name)


_TZ_SCRIPT = textwrap.dedent(
    """
    import sys, datetime as dt
    import pandas as pd
    import notifsim
    with notifsim.open_results(sys.argv[1]) as f:
        r = f.run(f.runs["run_id"].iloc[0])
        runs = f.runs
    bad = []
    for name in ("notifications", "attempts", "ticks", "requeues", "samples"):
        frame = getattr(r, name)
        for c in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[c]) and str(frame[c].dt.tz) != "UTC":
                bad.append(f"{name}.{c}")
    for c in ("start", "created_at"):
        if str(runs[c].dt.tz) != "UTC":
            bad.append(f"runs.{c}")
    for attr in ("start", "created_at"):
        if getattr(r, attr).utcoffset() != dt.timedelta(0):
            bad.append(f"Result.{attr} is {getattr(r, attr).isoformat()}")
    if r.notifications["sent_at"].min() != pd.Timestamp("0001-01-01T00:00:00Z"):
        bad.append("zero time became " + str(r.notifications["sent_at"].min()))
    print("; ".join(bad))
    """
)


def test_timestamps_are_utc_whatever_the_local_time_zone(stored):
    """DuckDB hands TIMESTAMPTZ back in the session time zone; notifsim promises UTC (docs/architecture.md)."""
    path, _ = stored
    env = dict(os.environ, TZ="Asia/Kolkata")
    out = subprocess.run([sys.executable, "-c", _TZ_SCRIPT, str(path)], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_table_accessor_and_unknown_run(stored):
    path, result = stored
    with notifsim.open_results(path) as f:
        attempts = f.table("attempts", result.run_id)
        assert len(attempts) == len(result.attempts)
        assert "run_id" in f.table("attempts").columns
        with pytest.raises(ConfigError) as err:
            f.run("no-such-run")
        assert err.value.field == "run_id" and result.run_id in str(err.value)
        with pytest.raises(ConfigError):
            f.table("nope")


def test_many_runs_per_file(tmp_path):
    path = tmp_path / "many.duckdb"
    results = [
        _simulate("certctl-asbuilt", seed=1, horizon="1h", db=path),
        _simulate("certctl-i005", seed=1, horizon="1h", db=path),
        _simulate("certctl-i005", seed=2, horizon="2h", db=path, run_name="named-run"),
    ]
    assert results[2].run_id == "named-run"
    with notifsim.open_results(path) as f:
        assert len(f) == 3
        assert sorted(f.runs["run_id"]) == sorted(r.run_id for r in results)
        for result in results:
            assert_tables_equal(result, f.run(result.run_id))
        assert [r.run_id for r in f] == f.runs["run_id"].tolist()
    counts = _counts(path)
    assert counts["notification_events"] == sum(len(r.notifications) for r in results)
    assert counts["attempts"] == sum(len(r.attempts) for r in results)


def test_duplicate_run_name_is_a_config_error_and_file_unchanged(tmp_path):
    """A run_id already in the file is a user mistake (docs/architecture.md): ConfigError, nothing written."""
    path = tmp_path / "dup.duckdb"
    _simulate(seed=1, horizon="1h", db=path, run_name="same")
    before = _counts(path)
    with pytest.raises(Exception) as err:
        _simulate(seed=2, horizon="1h", db=path, run_name="same")
    assert _counts(path) == before
    assert isinstance(err.value, ConfigError), f"{type(err.value).__name__}: {err.value}"
    assert "same" in str(err.value)


# -- atomicity ------------------------------------------------------------------------


def _broken(result: notifsim.Result, run_id: str) -> notifsim.Result:
    """A copy of ``result`` whose last table cannot be inserted (a column DuckDB does not know)."""
    samples = result.samples.copy()
    samples["not_a_column"] = 1
    return notifsim.Result(**{**result.__dict__, "run_id": run_id, "samples": samples})


def test_failed_write_leaves_existing_file_unchanged(tmp_path):
    path = tmp_path / "atomic.duckdb"
    good = _simulate(seed=1, horizon="1h", db=path)
    before = _counts(path)
    assert before["notification_events"] > 0
    bad = _broken(_simulate(seed=2, horizon="1h"), "broken-run")
    with pytest.raises(ValueError, match="not the schema"):
        write_runs(path, [bad])
    assert _counts(path) == before
    assert _rows_of(path, "broken-run") == dict.fromkeys(DB_TABLES, 0)
    with notifsim.open_results(path) as f:
        assert f.runs["run_id"].tolist() == [good.run_id]


def test_failed_batch_write_lands_no_run_of_the_batch(tmp_path):
    path = tmp_path / "batch.duckdb"
    _simulate(seed=1, horizon="1h", db=path)
    before = _counts(path)
    ok = _simulate(seed=3, horizon="1h", run_name="ok-in-batch")
    with pytest.raises(ValueError, match="not the schema"):
        write_runs(path, [ok, _broken(ok, "broken-in-batch")])
    assert _counts(path) == before
    assert _rows_of(path, "ok-in-batch") == dict.fromkeys(DB_TABLES, 0)


def test_failed_write_to_new_file_leaves_nothing_behind(tmp_path):
    path = tmp_path / "sub" / "new.duckdb"
    bad = _broken(_simulate(seed=2, horizon="1h"), "broken-run")
    with pytest.raises(ValueError, match="not the schema"):
        write_runs(path, [bad])
    assert not path.exists()
    assert not Path(str(path) + ".wal").exists()


def test_simulate_write_failure_midway_leaves_nothing(tmp_path, monkeypatch):
    """Inject a failure inside simulate()'s transaction (after some tables were inserted)."""
    import notifsim.store as store

    existing = tmp_path / "existing.duckdb"
    _simulate(seed=1, horizon="1h", db=existing)
    before = _counts(existing)

    real = store._insert
    calls = {"n": 0}

    def failing_insert(con, table, rows):
        calls["n"] += 1
        if calls["n"] == 3:  # the run's row and its notifications are already inserted
            raise RuntimeError("injected failure")
        return real(con, table, rows)

    monkeypatch.setattr(store, "_insert", failing_insert)
    with pytest.raises(RuntimeError, match="injected"):
        _simulate(seed=2, horizon="1h", db=existing, run_name="midway")
    assert calls["n"] == 3
    assert _counts(existing) == before

    calls["n"] = 0
    fresh = tmp_path / "fresh.duckdb"
    with pytest.raises(RuntimeError, match="injected"):
        _simulate(seed=2, horizon="1h", db=fresh)
    assert not fresh.exists() and not Path(str(fresh) + ".wal").exists()


# -- bad paths ------------------------------------------------------------------------


def _bad_paths(tmp_path: Path) -> dict[str, Path]:
    a_file = tmp_path / "plain.txt"
    a_file.write_text("not a database\n")
    return {
        "directory": tmp_path,
        "parent is a file": a_file / "r.duckdb",
        "not a duckdb file": a_file,
    }


@pytest.mark.parametrize("case", ["directory", "parent is a file", "not a duckdb file"])
def test_bad_db_paths_raise_config_error_naming_db(tmp_path, case):
    path = _bad_paths(tmp_path)[case]
    listing = sorted(p.name for p in tmp_path.iterdir())
    content = (tmp_path / "plain.txt").read_bytes()
    with pytest.raises(ConfigError) as err:
        _simulate(seed=1, horizon="10m", db=path)
    assert err.value.field == "db"
    assert str(err.value).startswith("db: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == listing
    assert (tmp_path / "plain.txt").read_bytes() == content


@pytest.mark.parametrize(
    "field, kwargs",
    [
        ("seed", {"seed": -1}),
        ("horizon", {"horizon": "0"}),
        ("horizon", {"horizon": "soon"}),
        ("policy", {"policy": "certctl-i05"}),
        ("run_name", {"run_name": ""}),
    ],
)
def test_bad_arguments_with_db_write_nothing(tmp_path, field, kwargs):
    path = tmp_path / "sub" / "r.duckdb"
    args = {"policy": "certctl-asbuilt", "seed": 1, "horizon": "10m", **kwargs}
    with pytest.raises(ConfigError) as err:
        notifsim.simulate(_scenario(), args.pop("policy"), db=path, **args)
    assert err.value.field == field
    assert list(tmp_path.iterdir()) == []


def test_path_below_a_file_raises_config_error(tmp_path):
    """A parent that is a file cannot hold the database (unwritable for root too); nothing is written."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(ConfigError) as err:
        _simulate(seed=1, horizon="10m", db=blocker / "r.duckdb")
    assert err.value.field == "db"
    assert blocker.read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["not-a-dir"]


def test_someone_elses_duckdb_file_is_rejected_untouched(tmp_path):
    """A DuckDB file with an unrelated ``runs`` table: ConfigError naming db, and the file keeps its tables."""
    path = tmp_path / "theirs.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE runs (a INTEGER); INSERT INTO runs VALUES (42); CREATE TABLE notes (t VARCHAR)")
    con.close()

    def tables():
        c = duckdb.connect(str(path), read_only=True)
        try:
            return sorted(r[0] for r in c.execute("SHOW TABLES").fetchall()), c.execute("SELECT * FROM runs").fetchall()
        finally:
            c.close()

    before = tables()
    with pytest.raises(Exception) as err:
        _simulate(seed=1, horizon="10m", db=path)
    assert tables() == before, "the failed write left notifsim tables in someone else's database"
    assert isinstance(err.value, ConfigError) and err.value.field == "db", f"{type(err.value).__name__}: {err.value}"


def test_open_results_on_missing_or_foreign_file(tmp_path):
    with pytest.raises(ConfigError) as err:
        notifsim.open_results(tmp_path / "missing.duckdb")
    assert err.value.field == "db"
    assert not (tmp_path / "missing.duckdb").exists()
    foreign = tmp_path / "foreign.duckdb"
    foreign.write_text("hello")
    with pytest.raises(ConfigError) as err:
        notifsim.open_results(foreign)
    assert err.value.field == "db"
    assert foreign.read_text() == "hello"


def test_stored_run_equals_the_run(tmp_path):
    path = tmp_path / "eq.duckdb"
    result = _simulate(seed=2, horizon="2h", db=path)
    with notifsim.open_results(path) as stored:
        assert stored.run(result.run_id) == result


def test_ids_are_stored_alike_whether_known_from_the_run_or_parsed(tmp_path):
    """The write takes generated ids' parts from the run when the id column is the one the run built; a copy
    without them (parsed from the texts) and a copy whose ids were edited afterwards read back as they are."""
    path = tmp_path / "ids.duckdb"
    result = _simulate(seed=4, horizon="2h", run_name="known")
    assert result.id_parts is not None
    parsed = dataclasses.replace(result, run_id="parsed", id_parts=None)
    edited = dataclasses.replace(result, run_id="edited", notifications=result.notifications.copy())
    ids = edited.notifications["id"].tolist()
    ids[0], ids[-1] = "renamed-by-hand", "notif-7-1"
    edited.notifications["id"] = pd.array(ids, dtype=result.notifications["id"].dtype)
    write_runs(path, [result, parsed, edited])
    with notifsim.open_results(path) as f:
        for name in ("known", "parsed"):
            assert_tables_equal(result, f.run(name))
        back = f.run("edited")
    assert back.notifications["id"].tolist() == ids
    assert back.attempts["notification_id"].tolist() == [ids[r] for r in result.attempt_rows]


def test_texts_nearly_all_distinct_are_stored_with_zstd(tmp_path):
    """Messages, certificate ids, ids given as text and the ids requeues name are declared zstd-compressed (faster
    to write and smaller than DuckDB's default dictionary for such columns); other texts keep the default."""
    path = tmp_path / "zstd.duckdb"
    result = _simulate(seed=2, horizon="2h", db=path)
    assert len(result.requeues) and result.notifications["id"].str.startswith("notif-").any()
    con = duckdb.connect(str(path), read_only=True)
    try:
        info = con.execute(
            "SELECT table_name, column_name, list(DISTINCT compression) FROM ("
            "  SELECT 'notification_events_rows' AS table_name, * FROM pragma_storage_info('notification_events_rows')"
            "  UNION ALL SELECT 'requeues_rows', * FROM pragma_storage_info('requeues_rows'))"
            " WHERE segment_type = 'VARCHAR' GROUP BY ALL"
        ).fetchall()
    finally:
        con.close()
    methods = {(table, column): set(found) for table, column, found in info}
    for column in ("message", "certificate_id", "id"):
        assert methods[("notification_events_rows", column)] == {"ZSTD"}, column
    assert methods[("requeues_rows", "notification_id")] == {"ZSTD"}
    assert "ZSTD" not in methods[("notification_events_rows", "recipient")]
