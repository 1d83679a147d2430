"""Faults outside the input (docs/robustness.md): another process holding the database, Ctrl-C, a closed
output pipe, and HTML that must stay text.  Each runs the real ``notifsim`` in a subprocess."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import notifsim
from notifsim.unwritten import RunNotWrittenError, load_parquet, unwritten_dir

NOTIFSIM = [sys.executable, "-m", "notifsim"]


def _ctrl_c_reaches_it() -> None:
    """Run in the child before it starts: Ctrl-C does what it does in a terminal, even when this suite was started
    where SIGINT is ignored (a background job of a shell without job control), which a child would inherit."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


#: A process that opens the DuckDB file read-write (taking its lock), says so, and holds it until its stdin closes.
HOLDER = "import duckdb, sys\ncon = duckdb.connect(sys.argv[1])\nprint('held', flush=True)\nsys.stdin.read()\ncon.close()\n"


@pytest.fixture
def results_db(tmp_path) -> Path:
    path = tmp_path / "runs.duckdb"
    notifsim.simulate("default", "certctl-i005", horizon="10m", db=path, run_name="first")
    return path


@contextlib.contextmanager
def _held(db: Path) -> Iterator[subprocess.Popen]:
    """Another process holds ``db`` open (DuckDB's write lock) until the block ends."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)


def _run_ids(db: Path) -> list[str]:
    with notifsim.open_results(db) as f:
        return sorted(f.runs["run_id"])


def test_a_run_waits_for_the_database_and_lands(results_db):
    with _held(results_db) as holder:
        proc = subprocess.Popen(
            [*NOTIFSIM, "run", "--horizon", "10m", "--db", str(results_db), "--run-name", "late"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert proc.stderr is not None
        waiting = proc.stderr.readline()  # the run has finished and waits for the file
        time.sleep(1.5)  # it keeps waiting while the file stays held
        assert proc.poll() is None
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert waiting.startswith(f"notifsim: waiting for '{results_db}': held by another process (PID {holder.pid}); giving up after 60 s"), waiting
    assert err == ""  # the waiting line is the only one
    assert "wrote run late" in out
    assert _run_ids(results_db) == ["first", "late"]


def test_a_run_that_cannot_get_the_database_is_saved_as_parquet_and_loads_later(results_db):
    with _held(results_db) as holder:
        proc = subprocess.run(
            [*NOTIFSIM, "run", "--horizon", "10m", "--db", str(results_db), "--run-name", "saved", "--lock-timeout", "1"],
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("notifsim: waiting for"), proc.stderr
    folder = unwritten_dir(results_db) / "saved"
    assert lines[1] == (
        f"notifsim: error: run saved not written to '{results_db}' ('{results_db}' is held by another process (PID {holder.pid}) "
        f"and was not released within 1 s); saved in '{folder}'; add it with: notifsim load {results_db} {folder}"
    )
    assert _run_ids(results_db) == ["first"]
    loaded = subprocess.run([*NOTIFSIM, "load", str(results_db), str(folder)], capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr
    assert _run_ids(results_db) == ["first", "saved"]
    assert not unwritten_dir(results_db).exists()
    with notifsim.open_results(results_db) as f:
        stored = f.run("saved")
    direct = notifsim.simulate("default", "certctl-asbuilt", horizon="10m")
    assert stored.summary().equals(direct.summary())
    assert stored.notifications.drop(columns="id").equals(direct.notifications.drop(columns="id"))


def test_simulate_saves_the_run_when_the_database_stays_busy(results_db):
    with _held(results_db), pytest.raises(RunNotWrittenError) as error:
        notifsim.simulate("default", "certctl-i005", horizon="10m", db=results_db, run_name="api", lock_timeout=0.5)
    assert error.value.results[0].run_id == "api"
    assert load_parquet(results_db, error.value.saved) == ["api"]
    assert _run_ids(results_db) == ["api", "first"]


def test_a_sweep_waits_for_the_database_or_runs_nothing(results_db, tmp_path):
    experiment = tmp_path / "e.toml"
    experiment.write_text('replications = 1\nseed = 1\nhorizon = "10m"\nscenarios = ["default"]\npolicies = ["certctl-i005"]\n')
    with _held(results_db):
        proc = subprocess.run(
            [*NOTIFSIM, "sweep", str(experiment), "--db", str(results_db), "--workers", "1", "--no-progress", "--lock-timeout", "1"],
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines()[-1].startswith("notifsim: error: db: ") and "not released within 1 s" in proc.stderr
    assert _run_ids(results_db) == ["first"]  # the writer is taken before any run starts: nothing finished, nothing lost


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to see the run has started")
def test_ctrl_c_says_nothing_was_written_and_leaves_the_database_unchanged(results_db):
    before = results_db.read_bytes()
    command = [*NOTIFSIM, "run", "--horizon", "365d", "--db", str(results_db)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_ctrl_c_reaches_it)
    deadline = time.monotonic() + 120
    while _cpu_seconds(proc.pid) < 4 and time.monotonic() < deadline:  # imports done, simulating
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.splitlines() == [f"notifsim: interrupted; no run was written ({results_db} is unchanged)"]
    assert results_db.read_bytes() == before
    assert not unwritten_dir(results_db).exists()


def test_a_closed_output_pipe_ends_quietly():
    proc = subprocess.Popen([*NOTIFSIM, "run", "--horizon", "10m"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader went away before the first line, as `| head -0` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert err == ""


def test_head_of_a_pipe_gets_its_line_and_nothing_complains(tmp_path):
    shell = shutil.which("sh")
    if shell is None:
        pytest.skip("needs sh")
    command = f"{' '.join(NOTIFSIM)} run --horizon 10m 2>{tmp_path / 'err'} | head -1"
    proc = subprocess.run([shell, "-c", command], capture_output=True, text=True, timeout=120)
    assert proc.stdout.startswith("default under certctl-asbuilt")
    assert (tmp_path / "err").read_text() == ""


def test_html_escapes_user_text(tmp_path):
    name = "<script>alert(1)</script>"
    scenario = notifsim.Scenario(name=name, description=name, workload=notifsim.workloads.Poisson(60, channels="Email"))
    policy = notifsim.Policy.preset("certctl-i005").replace(name=f"<b>{name}</b>")
    result = notifsim.simulate(scenario, policy, horizon="1h", db=tmp_path / "x.duckdb", run_name="<i>run&amp")
    with notifsim.open_results(tmp_path / "x.duckdb") as f:
        pages = [result._repr_html_(), f._repr_html_(), f.run("<i>run&amp")._repr_html_()]
    for page in pages:
        assert "<script>" not in page and "<i>" not in page and "<b><b>" not in page
        assert "&lt;script&gt;" in page


def test_ctrl_c_while_waiting_for_the_database_saves_the_finished_run(results_db):
    with _held(results_db):
        proc = subprocess.Popen(
            [*NOTIFSIM, "run", "--horizon", "10m", "--db", str(results_db), "--run-name", "patient"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_ctrl_c_reaches_it,
        )
        assert proc.stderr is not None
        assert proc.stderr.readline().startswith("notifsim: waiting for")  # the run is finished and waiting
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    folder = unwritten_dir(results_db) / "patient"
    assert proc.returncode == 130
    assert err.splitlines() == [
        f"notifsim: interrupted while waiting for '{results_db}'; the run was saved in '{folder}'; add it with: notifsim load {results_db} {folder}"
    ]
    assert load_parquet(results_db, folder) == ["patient"]
    assert _run_ids(results_db) == ["first", "patient"]
