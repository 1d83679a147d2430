"""`notifsim sweep` (docs/experiments.md): the table at the end, one-line errors with exit 2, and a sweep killed with
SIGKILL mid-way that a second run completes with every run exactly once."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import notifsim
from notifsim.cli import main
from notifsim.experiments import configuration_means, load_experiment, run_metrics

ROOT = Path(__file__).resolve().parents[1]

EXPERIMENT = """\
name = "kill-me"
replications = {replications}
seed = 12
horizon = "{horizon}"
scenarios = ["default"]
policies = ["certctl-asbuilt", "certctl-i005"]

[vary]
channels__Slack__p_fail = [0.1, 0.4]
"""


def _experiment(folder: Path, replications: int = 2, horizon: str = "2h") -> Path:
    path = folder / "kill-me.toml"
    path.write_text(EXPERIMENT.format(replications=replications, horizon=horizon))
    return path


def _all_rows(db: Path) -> dict[str, pd.DataFrame]:
    """Every table and view of a results file, rows sorted, without the machine's measurements."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1").fetchall()]
        return {n: con.execute(f"SELECT *{' EXCLUDE (wall_s, created_at)' if n == 'runs' else ''} FROM {n} ORDER BY ALL").df() for n in names}
    finally:
        con.close()


def _values(frame: pd.DataFrame) -> pd.DataFrame:
    """Values only (NULL as None), whatever dtype an all-NULL column was read with."""
    return frame.astype(object).where(frame.notna(), None).reset_index(drop=True)


def test_sweep_prints_means_per_configuration_and_a_second_run_adds_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _experiment(tmp_path)
    assert main(["sweep", str(path), "--workers", "1", "--no-progress"]) == 0
    out, err = capsys.readouterr()
    db = tmp_path / "data" / "kill-me.duckdb"  # the default file
    assert err == ""
    assert "4 configurations × 2 replications = 8 runs, root seed 12, 2 h each" in out
    assert "wrote 8 runs in" in out and "(0 were already in data/kill-me.duckdb)" in out
    means = configuration_means(run_metrics(db, "kill-me"))
    for label in ["certctl-asbuilt · p_fail=0.1", "certctl-i005 · p_fail=0.4"]:
        line = next(line for line in out.splitlines() if line.startswith(label))
        m = means.loc[label]
        cells = re.split(r"\s{2,}", line)
        assert cells == [
            label,
            "2",
            f"{100 * m['delivery_rate']:.2f} %",
            f"{100 * m['undelivered_rate']:.2f} %",
            f"{100 * m['dead_letter_rate']:.2f} %",
            f"{m['attempts_per_notification']:.2f}",
        ]
    assert main(["sweep", str(path), "--db", str(db), "--no-progress"]) == 0
    again, _ = capsys.readouterr()
    assert "wrote 0 runs in" in again and "(8 were already in" in again
    with notifsim.open_results(db) as stored:
        assert len(stored) == 8


def test_sweep_report_writes_one_html_file_of_the_experiment(tmp_path, capsys):
    path = _experiment(tmp_path, replications=2, horizon="1h")
    db, out = tmp_path / "x.duckdb", tmp_path / "sweep.html"
    assert main(["sweep", str(path), "--db", str(db), "--workers", "1", "--no-progress", "--report", str(out)]) == 0
    printed, _ = capsys.readouterr()
    assert printed.rstrip().endswith(f"wrote the report to {out} (open it in a browser)")
    page = out.read_text()
    assert "notifsim sweep: experiment kill-me" in page
    for label in ["certctl-asbuilt · p_fail=0.1", "certctl-i005 · p_fail=0.4"]:
        assert label in page


def test_sweep_report_path_is_checked_before_any_run(tmp_path, capsys):
    path = _experiment(tmp_path)
    db = tmp_path / "x.duckdb"
    assert main(["sweep", str(path), "--db", str(db), "--no-progress", "--report", str(tmp_path / "r.txt")]) == 2
    assert "notifsim: error: report: must be an .html file" in capsys.readouterr().err
    assert not db.exists()


HEAD = "replications = 2\nseed = 1\nhorizon = '1h'\nscenarios = ['default']\npolicies = ['sqs']\n"


def _bad_experiment(folder: Path, text: str) -> str:
    path = folder / "bad.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["sweep", "missing.toml"], "notifsim: error: experiment: cannot read 'missing.toml'"),
        (["sweep", "{bad}", "--workers", "0"], "notifsim: error: workers: must be an integer >= 1; got '0'"),
        (["sweep", "{bad}", "--workers", "two"], "notifsim: error: workers: must be an integer >= 1; got 'two'"),
        (["sweep", "{bad}", "--workers", "2", "--dask", "tcp://127.0.0.1:8786"], "notifsim: error: arguments: give --workers or --dask, not both"),
        (["sweep", "{bad}", "--db", "."], "notifsim: error: db: '.' is a directory"),
        (["sweep"], "notifsim: error: arguments: the following arguments are required: experiment"),
    ],
)
def test_sweep_argument_errors_exit_2_with_one_line(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    good = _experiment(tmp_path)
    code = main([str(good) if a == "{bad}" else a for a in argv])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith(message) and err.count("\n") == 1
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    "text,message",
    [
        ("replications = 2\nseed = 1\nhorizon = '1h'\nscenarios = ['default']\npolicies = ['sqs'\n", "experiment: "),
        ("replications = 2\nseed = 1\nhorizon = '1h'\nscenarios = ['default']\npolicies = ['sqs']\nrepetitions = 3\n", "experiment key: unknown value"),
        (HEAD + "[vary]\nmax_atempts = [3]\n", "grid key: unknown value 'max_atempts'"),
        (HEAD + "[vary]\nchannels__Slack__pfail = [0.3]\n", "channels__Slack__pfail"),
        ("replications = 0\nseed = 1\nhorizon = '1h'\nscenarios = ['default']\npolicies = ['sqs']\n", "replications: must be an integer >= 1"),
        ("seed = 1\nhorizon = '1h'\nscenarios = ['default']\npolicies = ['sqs']\n", "replications: is required"),
    ],
)
def test_sweep_file_errors_exit_2_with_one_line_and_write_nothing(tmp_path, capsys, monkeypatch, text, message):
    monkeypatch.chdir(tmp_path)
    code = main(["sweep", _bad_experiment(tmp_path, text)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith(f"notifsim: error: {message}") and err.count("\n") == 1
    assert not (tmp_path / "data").exists()


class _Stderr:
    """Collects a process's stderr in a thread; ``landed()`` is the count the progress bar shows last."""

    def __init__(self, stream):
        self.text = ""
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for chunk in iter(lambda: stream.read1(256), b""):
            self.text += chunk.decode(errors="replace")

    def landed(self) -> int:
        counts = re.findall(r"(\d+)/\d+ \[", self.text)
        return int(counts[-1]) if counts else 0


def test_a_sweep_killed_mid_way_leaves_whole_runs_and_a_rerun_completes_each_run_once(tmp_path):
    path = _experiment(tmp_path, replications=5, horizon="4h")
    total = 4 * 5
    db = tmp_path / "killed.duckdb"
    command = [sys.executable, "-m", "notifsim", "sweep", str(path), "--db", str(db), "--workers", "2"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, cwd=tmp_path)
    progress = _Stderr(process.stderr)
    try:
        deadline = time.monotonic() + 120
        while progress.landed() < 3 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert process.poll() is None, f"the sweep ended before it could be killed: {progress.text[-500:]}"
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        with contextlib.suppress(ProcessLookupError):  # the workers and the fork server were started in the sweep's own session
            os.killpg(process.pid, signal.SIGKILL)
    landed = _all_rows(db)
    assert 3 <= len(landed["runs"]) < total

    finished = subprocess.run([*command[:-2], "--workers", "2", "--no-progress"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert f"wrote {total - len(landed['runs'])} runs in" in finished.stdout
    assert f"({len(landed['runs'])} were already in" in finished.stdout

    reference = tmp_path / "reference.duckdb"  # the same sweep, never interrupted, in one process
    experiment = load_experiment(path)
    assert not experiment.run(reference, executor=1, progress=False).failures
    expected = _all_rows(reference)
    after = _all_rows(db)
    assert after["runs"]["run_id"].is_unique and len(after["runs"]) == total
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(after[name], frame, obj=name)
    # every run that had landed before the kill was whole: its rows are the reference's, table by table
    kept = set(landed["runs"]["run_id"])
    for name, frame in expected.items():
        if "run_id" in frame and name != "runs":
            mine = frame[frame["run_id"].isin(kept)]
            pd.testing.assert_frame_equal(_values(landed[name]), _values(mine), obj=f"killed: {name}")


def test_failed_runs_are_listed_after_the_table_and_exit_1(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.toml").write_text(
        'name = "broken"\ninitial_rows = "rows-deleted-after-loading.json"\n[channels.Slack]\nmodel = "Bernoulli"\np_fail = 0.1\n'
    )
    path = _bad_experiment(tmp_path, "replications = 2\nseed = 1\nhorizon = '1h'\nscenarios = ['default', 'broken.toml']\npolicies = ['sqs']\n")
    code = main(["sweep", path, "--workers", "1", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 1 and err == ""
    table, failures = out.split("\n\n2 runs failed")
    assert "wrote 2 runs in" in table and "4 runs, root seed 1, 1 h each" in table
    assert re.split(r"\s{2,}", table.splitlines()[-1])[:2] == ["default · sqs", "2"] and "broken · sqs" not in table
    lines = failures.splitlines()
    assert lines[0] == " (every other run was written; run the same command again to retry them):"
    assert lines[1].startswith("  2 runs: ConfigError: initial_rows: ") and "rows-deleted-after-loading.json" in lines[1]
    assert lines[2].startswith("    'broken · sqs' replication 0 (seed ") and lines[3].startswith("    'broken · sqs' replication 1 (seed ")
    with notifsim.open_results(tmp_path / "data" / "bad.duckdb") as stored:
        assert stored.runs["label"].tolist() == ["default · sqs", "default · sqs"]
