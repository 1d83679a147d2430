"""The command line (docs/architecture.md): `notifsim run` / `notifsim demo`, and one-line errors with exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import notifsim
from notifsim.cli import main


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run in an empty directory so relative paths (and any default db path) land in tmp."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _cli(capsys, *argv: str):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else b"<dir>") for p in sorted(root.rglob("*"))}


# -- happy paths ------------------------------------------------------------------------


def test_demo_writes_two_runs_and_prints_side_by_side(in_tmp, capsys):
    code, out, err = _cli(capsys, "demo", "--db", "tmp/x.duckdb", "--horizon", "1d")
    assert code == 0, err
    assert err == ""
    header = next(line for line in out.splitlines() if line.startswith("metric"))
    assert "certctl-asbuilt" in header and "certctl-i005" in header
    assert header.index("certctl-asbuilt") < header.index("certctl-i005")
    for label in ("delivery rate", "stranded rate", "dead-letter rate"):
        row = next(line for line in out.splitlines() if line.startswith(label))
        assert row.count("%") == 2, row  # one value per profile
    db = in_tmp / "tmp" / "x.duckdb"
    assert db.is_file()
    with notifsim.open_results(db) as f:
        runs = f.runs
        assert len(runs) == 2
        assert sorted(runs["policy"]) == ["certctl-asbuilt", "certctl-i005"]
        assert set(runs["seed"]) == {1} and set(runs["horizon_s"]) == {86400.0}
        assert set(runs["experiment"]) == {"demo"}
        for run_id in runs["run_id"]:
            assert run_id in out
        # the table printed is the stored runs' summary
        asbuilt = f.run(runs.loc[runs["policy"] == "certctl-asbuilt", "run_id"].iloc[0]).summary()
    created = next(line for line in out.splitlines() if line.startswith("created"))
    assert f"{int(asbuilt['created']):,}" in created


def test_demo_appends_to_an_existing_file(in_tmp, capsys):
    assert _cli(capsys, "demo", "--db", "d.duckdb", "--horizon", "2h")[0] == 0
    assert _cli(capsys, "demo", "--db", "d.duckdb", "--horizon", "2h", "--seed", "2")[0] == 0
    with notifsim.open_results(in_tmp / "d.duckdb") as f:
        assert len(f) == 4
        assert sorted(f.runs["seed"]) == [1, 1, 2, 2]


def test_run_writes_one_run(in_tmp, capsys):
    code, out, err = _cli(capsys, "run", "--scenario", "default", "--policy", "certctl-i005", "--seed", "3", "--horizon", "2h", "--db", "runs/r.duckdb")
    assert code == 0, err
    assert err == ""
    assert "certctl-i005" in out and "seed 3" in out
    with notifsim.open_results(in_tmp / "runs" / "r.duckdb") as f:
        runs = f.runs
        assert len(runs) == 1
        run = runs.iloc[0]
        assert (run["scenario"], run["policy"], run["seed"], run["horizon_s"]) == ("default", "certctl-i005", 3, 7200.0)
        stored = f.run(run["run_id"])
    assert run["run_id"] in out
    direct = notifsim.simulate("default", "certctl-i005", seed=3, horizon="2h")
    assert stored.summary().equals(direct.summary())


def test_run_with_toml_scenario_and_run_name(in_tmp, capsys):
    (in_tmp / "s.toml").write_text(
        '[channels.Slack]\nmodel = "Bernoulli"\np_fail = 0.5\n\n[workload]\nmodel = "Poisson"\nrate_per_hour = 60\nchannels = "Slack"\n'
    )
    code, out, err = _cli(capsys, "run", "--scenario", "s.toml", "--horizon", "1h", "--db", "x.duckdb", "--run-name", "mine")
    assert code == 0, err
    with notifsim.open_results(in_tmp / "x.duckdb") as f:
        assert f.runs["run_id"].tolist() == ["mine"]
        assert f.runs["scenario"].tolist() == ["s"]


def test_run_without_db_writes_nothing(in_tmp, capsys):
    code, out, err = _cli(capsys, "run", "--horizon", "30m")
    assert code == 0, err
    assert _tree(in_tmp) == {}


def test_demo_as_a_real_process(tmp_path):
    db = tmp_path / "sub" / "x.duckdb"
    proc = subprocess.run(
        [sys.executable, "-m", "notifsim", "demo", "--db", str(db), "--horizon", "1d"], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "certctl-asbuilt" in proc.stdout and "certctl-i005" in proc.stdout
    with notifsim.open_results(db) as f:
        assert len(f) == 2


def test_bad_input_as_a_real_process(tmp_path):
    db = tmp_path / "x.duckdb"
    proc = subprocess.run(
        [sys.executable, "-m", "notifsim", "run", "--policy", "nope", "--db", str(db)], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("notifsim: error:"), proc.stderr
    assert not db.exists()


# -- bad inputs: exit 2, one line on stderr, nothing written -------------------------------------


def _setup_files(root: Path) -> None:
    (root / "plain.txt").write_text("I am not a database\n")
    (root / "notduck.duckdb").write_text("I am not a database either\n")
    (root / "typo_top.toml").write_text('name = "t"\n[chanels.Slack]\nmodel = "Bernoulli"\np_fail = 0.1\n')
    (root / "typo_nested.toml").write_text('name = "t"\n[channels.Slack]\nmodel = "Bernoulli"\np_fial = 0.1\n')
    (root / "typo_policy.toml").write_text('preset = "certctl-i005"\nmax_atempts = 3\n')
    con = duckdb.connect(str(root / "foreign.duckdb"))  # someone else's DuckDB database
    con.execute("CREATE TABLE runs (a INTEGER); INSERT INTO runs VALUES (1)")
    con.close()
    (root / "bad_value.toml").write_text('[channels.Slack]\nmodel = "Bernoulli"\np_fail = 1.5\n')
    (root / "bad_syntax.toml").write_text("[channels.Slack\nmodel = \n")


BAD = {
    "unknown scenario": (["run", "--scenario", "nope", "--db", "out/x.duckdb"], ["scenario", "default"]),
    "unknown scenario (demo)": (["demo", "--scenario", "defualt", "--db", "out/x.duckdb"], ["scenario", "'default'"]),
    "unknown policy": (["run", "--policy", "certctl-i05", "--db", "out/x.duckdb"], ["policy", "certctl-asbuilt", "certctl-i005"]),
    "bad horizon": (["run", "--horizon", "2 fortnights", "--db", "out/x.duckdb"], ["horizon"]),
    "zero horizon": (["demo", "--horizon", "0", "--db", "out/x.duckdb"], ["horizon"]),
    "negative horizon": (["run", "--horizon=-5m", "--db", "out/x.duckdb"], ["horizon"]),
    "negative seed": (["run", "--seed=-1", "--db", "out/x.duckdb"], ["seed"]),
    "negative seed (demo)": (["demo", "--seed", "-3", "--db", "out/x.duckdb"], ["seed"]),
    "non-integer seed": (["run", "--seed", "1.5", "--db", "out/x.duckdb"], ["seed"]),
    "db under a file": (["run", "--horizon", "10m", "--db", "plain.txt/x.duckdb"], ["db"]),
    "db under a file (demo)": (["demo", "--horizon", "10m", "--db", "plain.txt/x.duckdb"], ["db"]),
    "db is a directory": (["run", "--horizon", "10m", "--db", "."], ["db"]),
    "db not duckdb": (["run", "--horizon", "10m", "--db", "notduck.duckdb"], ["db"]),
    "db not duckdb (demo)": (["demo", "--horizon", "10m", "--db", "plain.txt"], ["db"]),
    "db is someone else's duckdb": (["run", "--horizon", "10m", "--db", "foreign.duckdb"], ["db"]),
    "db is someone else's duckdb (demo)": (["demo", "--horizon", "10m", "--db", "foreign.duckdb"], ["db"]),
    "toml unknown key": (["run", "--scenario", "typo_top.toml", "--db", "out/x.duckdb"], ["chanels", "did you mean 'channels'"]),
    "toml unknown nested key": (["run", "--scenario", "typo_nested.toml", "--db", "out/x.duckdb"], ["p_fial", "did you mean 'p_fail'"]),
    "policy toml unknown key": (["run", "--policy", "typo_policy.toml", "--db", "out/x.duckdb"], ["max_atempts", "'max_attempts'"]),
    "toml bad value": (["run", "--scenario", "bad_value.toml", "--db", "out/x.duckdb"], ["p_fail", "1.5"]),
    "toml bad syntax": (["demo", "--scenario", "bad_syntax.toml", "--db", "out/x.duckdb"], ["bad_syntax.toml"]),
    "missing scenario file": (["run", "--scenario", "nowhere.toml", "--db", "out/x.duckdb"], ["scenario", "nowhere.toml"]),
    "unknown argument": (["run", "--bogus", "--db", "out/x.duckdb"], ["--bogus"]),
    "unknown command": (["frobnicate"], ["frobnicate"]),
    "no command": ([], ["command"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_exits_2_with_one_line_and_writes_nothing(in_tmp, capsys, case):
    argv, expected = BAD[case]
    _setup_files(in_tmp)
    before = _tree(in_tmp)
    try:
        code, out, err = _cli(capsys, *argv)
    except Exception as exc:  # a traceback instead of a one-line error
        pytest.fail(f"CLI raised {type(exc).__name__}: {exc}; files now {sorted(_tree(in_tmp))}")
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("notifsim: error:"), err
    for text in expected:
        assert text in lines[0], (text, lines[0])
    assert out == ""
    assert _tree(in_tmp) == before  # no db, no directory, existing files byte-identical


def test_duplicate_run_name_exits_2_and_keeps_file(in_tmp, capsys):
    assert _cli(capsys, "run", "--horizon", "10m", "--db", "x.duckdb", "--run-name", "r1")[0] == 0
    before = _tree(in_tmp)
    try:
        code, out, err = _cli(capsys, "run", "--horizon", "10m", "--db", "x.duckdb", "--run-name", "r1", "--seed", "4")
    except Exception as exc:  # a traceback instead of a one-line error
        pytest.fail(f"CLI raised {type(exc).__name__}: {exc}")
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("notifsim: error:") and "r1" in lines[0], err
    assert _tree(in_tmp) == before


# -- what the CLI shows: backlog rows and requeue outcomes -------------------------------------------------


def _backlog(path: Path, n: int) -> Path:
    import json

    rows = [{"id": f"b{i}", "channel": "Slack", "recipient": f"o{i}@example.com", "status": "failed", "sent_at": "0001-01-01T00:00:00Z"} for i in range(n)]
    path.write_text(json.dumps(rows))
    return path


def _line(out: str, start: str) -> list[str]:
    return next(line for line in out.splitlines() if line.startswith(start)).split()


def test_run_from_a_backlog_prints_the_backlog_rows(in_tmp, capsys):
    """50 stranded rows and no workload: the summary has a column for them instead of 'created 0, delivery rate —'."""
    _backlog(in_tmp / "backlog.json", 50)
    code, out, err = _cli(capsys, "run", "--horizon", "1h", "--initial-rows", "backlog.json")
    assert code == 0, err
    assert "started from 50 backlog rows" in out
    assert _line(out, "metric")[-2:] == ["backlog", "rows"]
    assert _line(out, "rows")[-1] == "50"
    assert _line(out, "stranded (failed, never retried)")[-1] == "50"  # as built nothing picks them up
    assert _line(out, "undelivered rate (any reason)")[-2:] == ["100.00", "%"]


def test_run_with_an_operator_prints_what_the_requeues_achieved(in_tmp, capsys):
    """Two stranded rows on a Slack that never fails, requeued at 60 s (a process tick): both delivered."""
    (in_tmp / "ops.toml").write_text(
        """
name = "ops"
[channels.Slack]
model = "Bernoulli"
p_fail = 0.0
[[initial_rows]]
id = "s1"
channel = "Slack"
status = "failed"
[[initial_rows]]
id = "s2"
channel = "Slack"
status = "failed"
[operator]
model = "Scripted"
actions = [[60, "requeue", "s1"], [60, "requeue", "s2"], [90, "requeue", "nope"]]
"""
    )
    code, out, err = _cli(capsys, "run", "--scenario", "ops.toml", "--policy", "certctl-i005", "--horizon", "10m")
    assert code == 0, err
    assert "Operator: 3 actions: 2 requeued, 1 requeues of unknown ids." in out
    assert "What the requeued notifications became by the horizon:" in out
    outcomes = out.split("What the requeued notifications became by the horizon:")[1]
    assert _line(outcomes.strip(), "delivered")[:3] == ["delivered", "2", "100.00"]
    assert _line(out, "rows")[-1] == "2" and _line(out, "delivered")[-1] == "2"


def test_run_without_backlog_or_operator_prints_neither(in_tmp, capsys):
    code, out, err = _cli(capsys, "run", "--horizon", "30m")
    assert code == 0, err
    assert "backlog" not in out and "Operator" not in out
