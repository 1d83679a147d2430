"""Hostile input through the CLI (docs/robustness.md): each case exits 2 with one line naming the field, no
traceback, nothing printed on stdout, and every file — the results database above all — byte-identical."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import notifsim
import notifsim.cli
from notifsim.cli import main
from notifsim.errors import ConfigError
from notifsim.store import prepare_run
from notifsim.tuning.objective import parse_constraints
from notifsim.unwritten import save_parquet


@pytest.fixture(scope="module")
def results_db(tmp_path_factory) -> Path:
    """A results file holding one run named 'kept'."""
    path = tmp_path_factory.mktemp("db") / "base.duckdb"
    notifsim.simulate("default", "certctl-i005", horizon="10m", db=path, run_name="kept")
    return path


@pytest.fixture(scope="module")
def tampered_run(tmp_path_factory) -> Path:
    """A run saved as Parquet (as when its file was busy) whose attempts table was then replaced."""
    root = tmp_path_factory.mktemp("saved")
    result = notifsim.simulate("default", "certctl-i005", horizon="10m", run_name="tampered")
    saved = save_parquet(root / "elsewhere.duckdb", [prepare_run(result)])
    pq.write_table(pa.table({"anything": [1, 2]}), saved / "attempts.parquet")  # not what notifsim saved
    return root / "elsewhere.duckdb.unwritten"


@pytest.fixture
def world(tmp_path, monkeypatch, results_db, tampered_run) -> Path:
    """An empty folder holding a copy of the results file and every hostile file of :data:`CASES`."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(results_db, tmp_path / "runs.duckdb")
    for name, content in FILES.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    (tmp_path / "folder.toml").mkdir()
    duckdb.connect(str(tmp_path / "empty-duckdb.duckdb")).close()
    (tmp_path / "runs.duckdb.unwritten" / "waiting").mkdir(parents=True)  # a run saved because the file was busy
    cut = (tmp_path / "runs.duckdb").read_bytes()
    (tmp_path / "cut.duckdb").write_bytes(cut[: len(cut) // 2])  # a copy cut short
    shutil.copytree(tampered_run, tmp_path / "elsewhere.duckdb.unwritten")
    return tmp_path


def _rows(*rows: dict) -> str:
    return json.dumps(list(rows))


_POISSON = '[workload]\nmodel = "Poisson"\nchannels = "Slack"\n'
FILES: dict[str, str | bytes] = {
    "latin1.toml": 'name = "caf\xe9"\n'.encode("latin-1"),
    "nul.toml": 'name = "a"\n\x00\n',
    "not-toml.toml": "this is [not toml\n",
    "channels-string.toml": 'channels = "Slack"\n',
    "workload-string.toml": 'workload = "Poisson"\n',
    "channel-string.toml": '[channels]\nSlack = "flaky"\n',
    "deep.toml": "a = " + "[" * 40 + "]" * 40 + "\n",
    "name-integer.toml": "name = 7\n",
    "preset-unknown.toml": 'preset = "defualt"\n',
    "rows-table.toml": '[initial_rows]\nid = "x"\n',
    "rate-huge.toml": _POISSON + "rate_per_hour = 1e15\n",
    "rate-nan.toml": _POISSON + "rate_per_hour = nan\n",
    "latency-huge.toml": '[channels.Slack]\nmodel = "Bernoulli"\np_fail = 0.1\nlatency = 1e300\n',
    "rate-impossible.toml": _POISSON + "rate_per_hour = 1e7\n",
    "policy-latin1.toml": 'preset = "certctl-i005"\nname = "\xe9"\n'.encode("latin-1"),
    "policy-multiplier.toml": 'preset = "certctl-i005"\nbackoff_multiplier = 1e300\n',
    "policy-attempts.toml": 'preset = "certctl-i005"\nmax_attempts = 1099511627776\n',
    "policy-preset-int.toml": "preset = 5\n",
    "policy-batch-string.toml": 'pending_batch = "many"\n',
    "policy-base-huge.toml": 'preset = "certctl-i005"\nbackoff_base = 1e300\nbackoff_cap = 1e301\n',
    "rows-status.json": _rows({"id": "a", "status": "stuck"}),
    "rows-channel.json": _rows({"id": "a", "channel": "Pigeon"}),
    "rows-type.json": _rows({"id": "a", "type": "Expiry"}),
    "rows-columns.json": _rows({"id": "a", "colour": "red", "size": 3}),
    "rows-latin1.json": '[{"id": "caf\xe9"}]'.encode("latin-1"),
    "rows-deep.json": "[" * 100_000 + "]" * 100_000,
    "rows-retry.json": _rows({"id": "a", "status": "failed", "retry_count": 2**40}),
    "rows-time.json": _rows({"id": "a", "created_at": 1e300}),
    "rows-infinity.json": '[{"id": "a", "next_retry_at": Infinity}]',
    "exp-latin1.toml": 'name = "\xe9"\n'.encode("latin-1"),
    "exp-seed.toml": 'replications = 1\nseed = 9223372036854775808\nhorizon = "1h"\nscenarios = ["default"]\npolicies = ["certctl-i005"]\n',
    "exp-reps.toml": 'replications = 1000000000\nseed = 1\nhorizon = "1h"\nscenarios = ["default"]\npolicies = ["certctl-i005"]\n',
    "exp-vary.toml": 'replications = 1\nseed = 1\nhorizon = "1h"\nscenarios = ["default"]\npolicies = ["certctl-i005"]\nvary = 3\n',
    "exp-horizon.toml": 'replications = 1\nseed = 1\nhorizon = "4000d"\nscenarios = ["default"]\npolicies = ["certctl-i005"]\n',
    "exp-ok.toml": 'name = "ok"\nreplications = 1\nseed = 1\nhorizon = "10m"\nscenarios = ["default"]\npolicies = ["certctl-i005"]\n',
    "tune-ok.toml": 'name = "ok"\nhorizon = "10m"\nbudget = 1\nworlds = ["default"]\n\n[space]\nbackoff_base = { choices = ["10m", "20m"] }\n',
    "start-year-1.toml": 'start = "0001-01-01T00:00:00Z"\n',
    "hours-huge.toml": '[workload]\nmodel = "Diurnal"\nrate_per_hour = 60\nhours = [' + ", ".join(["1e308"] * 24) + "]\n",
    "weights-huge.toml": _POISSON.replace('channels = "Slack"', "channels = { Slack = 1e308, Email = 1e308 }") + "rate_per_hour = 60\n",
    "recipients-huge.toml": _POISSON + "rate_per_hour = 60\nrecipients = 1000000000000\n",
    "flapping.toml": '[channels.Slack]\nmodel = "GilbertElliott"\nmean_up = 1e-300\nmean_down = 1e-300\n',
    "frantic-operator.toml": '[operator]\nmodel = "Cadence"\nevery = 1e-9\n',
    "name-control.toml": 'name = "a\\u001bb"\n',
    "tune-path.toml": 'name = "../outside"\nhorizon = "10m"\nbudget = 1\nworlds = ["default"]\n\n[space]\nbackoff_base = { choices = ["10m", "20m"] }\n',
    "owners-huge.toml": '[workload]\nmodel = "Fleet"\ncertificates = 10\nowners = 1000000000000\n',
    "exp-path.toml": 'name = "../outside"\nreplications = 1\nseed = 1\nhorizon = "10m"\nscenarios = ["default"]\npolicies = ["certctl-i005"]\n',
    "empty.duckdb": b"",
    "text.duckdb": "not a database, just text long enough to have a header\n",
}

DB = ["--db", "runs.duckdb"]
RUN = ["run", "--horizon", "10m", *DB]

#: case → (argv, texts the one line must contain)
CASES: dict[str, tuple[list[str], list[str]]] = {
    "scenario not UTF-8": ([*RUN, "--scenario", "latin1.toml"], ["scenario", "not UTF-8", "byte 11 is 0xe9"]),
    "scenario with a NUL byte": ([*RUN, "--scenario", "nul.toml"], ["scenario", "NUL"]),
    "scenario not TOML": ([*RUN, "--scenario", "not-toml.toml"], ["scenario", "not valid TOML", "line 1"]),
    "channels is a string": ([*RUN, "--scenario", "channels-string.toml"], ["channels", "must be a table", "a string"]),
    "workload is a string": ([*RUN, "--scenario", "workload-string.toml"], ["workload", "table"]),
    "a channel is a string": ([*RUN, "--scenario", "channel-string.toml"], ["channels.Slack", "model"]),
    "absurd nesting": ([*RUN, "--scenario", "deep.toml"], ["scenario", "deep"]),
    "name is a number": ([*RUN, "--scenario", "name-integer.toml"], ["name", "must be a string"]),
    "scenario preset unknown": ([*RUN, "--scenario", "preset-unknown.toml"], ["scenario preset", "did you mean 'default'"]),
    "initial_rows a single table": ([*RUN, "--scenario", "rows-table.toml"], ["initial_rows", "list of rows"]),
    "scenario file is a folder": ([*RUN, "--scenario", "folder.toml"], ["scenario", "directory"]),
    "rate overflows": ([*RUN, "--scenario", "rate-huge.toml"], ["rate_per_hour", "1e+07"]),
    "rate is NaN": ([*RUN, "--scenario", "rate-nan.toml"], ["rate_per_hour"]),
    "latency overflows": ([*RUN, "--scenario", "latency-huge.toml"], ["latency", "one hundred years"]),
    "run cannot fit in memory": (["run", "--horizon", "3650d", *DB, "--scenario", "rate-impossible.toml"], ["horizon", "GiB", "--force"]),
    "policy not UTF-8": ([*RUN, "--policy", "policy-latin1.toml"], ["policy", "not UTF-8"]),
    "multiplier overflows": ([*RUN, "--policy", "policy-multiplier.toml"], ["backoff_multiplier", "1000"]),
    "retry budget overflows": ([*RUN, "--policy", "policy-attempts.toml"], ["max_attempts", "2147483647"]),
    "policy preset a number": ([*RUN, "--policy", "policy-preset-int.toml"], ["policy", "certctl-i005"]),
    "batch is a string": ([*RUN, "--policy", "policy-batch-string.toml"], ["pending_batch"]),
    "backoff overflows": ([*RUN, "--policy", "policy-base-huge.toml"], ["backoff_base", "one hundred years"]),
    "horizon overflows": (["run", "--horizon", "99999999999d", *DB], ["horizon", "one hundred years"]),
    "horizon negative": (["run", "--horizon=-1h", *DB], ["horizon", "> 0", "'-1h'"]),
    "horizon beyond ten years": (["run", "--horizon", "4000d", *DB], ["horizon", "ten years"]),
    "seed beyond BIGINT": (["run", "--seed", str(2**63), *RUN[1:]], ["seed", "2**63 - 1"]),
    "seed of 30 digits": (["run", "--seed", "9" * 30, *RUN[1:]], ["seed"]),
    "negative lock timeout": ([*RUN, "--lock-timeout=-1"], ["lock_timeout"]),
    "lock timeout not a number": ([*RUN, "--lock-timeout", "soon"], ["lock_timeout"]),
    "run name too long": ([*RUN, "--run-name", "r" * 300], ["run_name", "200"]),
    "run name taken": ([*RUN, "--run-name", "kept"], ["run_name", "kept", "already exists"]),
    "backlog status": ([*RUN, "--initial-rows", "rows-status.json"], ["initial_rows[0].status", "pending"]),
    "backlog channel": ([*RUN, "--initial-rows", "rows-channel.json"], ["initial_rows[0].channel", "Slack"]),
    "backlog type": ([*RUN, "--initial-rows", "rows-type.json"], ["initial_rows[0].type", "ExpirationWarning"]),
    "backlog unknown columns": ([*RUN, "--initial-rows", "rows-columns.json"], ["'colour'", "'size'"]),
    "backlog not UTF-8": ([*RUN, "--initial-rows", "rows-latin1.json"], ["initial_rows", "not UTF-8"]),
    "backlog absurd nesting": ([*RUN, "--initial-rows", "rows-deep.json"], ["initial_rows", "deeply"]),
    "backlog retry count overflows": ([*RUN, "--initial-rows", "rows-retry.json"], ["retry_count", "2147483647"]),
    "backlog time overflows": ([*RUN, "--initial-rows", "rows-time.json"], ["created_at", "days"]),
    "backlog time infinite": ([*RUN, "--initial-rows", "rows-infinity.json"], ["next_retry_at"]),
    "db an empty file": (["run", "--horizon", "10m", "--db", "empty.duckdb"], ["db", "empty file"]),
    "db a text file": (["demo", "--horizon", "10m", "--db", "text.duckdb"], ["db", "not a DuckDB database"]),
    "db a device": (["run", "--horizon", "10m", "--db", "/dev/null"], ["db", "not a regular file"]),
    "experiment not UTF-8": (["sweep", "exp-latin1.toml", *DB], ["experiment", "not UTF-8"]),
    "experiment seed beyond BIGINT": (["sweep", "exp-seed.toml", *DB], ["seed", "2**63 - 1"]),
    "experiment replications absurd": (["sweep", "exp-reps.toml", *DB], ["replications", "1,000,000"]),
    "experiment vary not a table": (["sweep", "exp-vary.toml", *DB], ["vary"]),
    "experiment horizon beyond ten years": (["sweep", "exp-horizon.toml", *DB], ["horizon", "ten years"]),
    "report of a DuckDB file without runs": (["report", "empty-duckdb.duckdb"], ["db", "no notifsim runs"]),
    # an output that cannot be written is refused before anything runs (/proc takes no new file, even for root)
    "demo report unwritable": (["demo", "--horizon", "10m", *DB, "--report", "/proc/notifsim.html"], ["report", "cannot write '/proc/notifsim.html'"]),
    "sweep report unwritable": (["sweep", "exp-ok.toml", *DB, "--report", "/proc/notifsim.html"], ["report", "cannot write"]),
    "tune report unwritable": (["tune", "tune-ok.toml", *DB, "--report", "/proc/notifsim.html"], ["report", "cannot write"]),
    "report out unwritable": (["report", "runs.duckdb", "-o", "/proc/notifsim.html"], ["out", "cannot write '/proc/notifsim.html'"]),
    "report out not html": (["report", "runs.duckdb", "-o", "report.txt"], ["out", ".html"]),
    "run db unwritable": (["run", "--horizon", "10m", "--db", "/proc/notifsim.duckdb"], ["db", "cannot write"]),
    "start before 1970": ([*RUN, "--scenario", "start-year-1.toml"], ["scenario.start", "1970"]),
    "hourly profile overflows": ([*RUN, "--scenario", "hours-huge.toml"], ["hours[0]", "1e+06"]),
    "channel weights overflow": ([*RUN, "--scenario", "weights-huge.toml"], ["channels", "finite"]),
    "recipients absurd": ([*RUN, "--scenario", "recipients-huge.toml"], ["recipients", "1000000"]),
    "a channel flapping every femtosecond": ([*RUN, "--scenario", "flapping.toml"], ["channels.Slack.mean_up", "1s"]),
    "an operator every nanosecond": ([*RUN, "--scenario", "frantic-operator.toml"], ["operator.every", "1m"]),
    "name with a control character": ([*RUN, "--scenario", "name-control.toml"], ["name", "printable"]),
    "run name a path": ([*RUN, "--run-name", "a/b"], ["run_name", "'/'"]),
    "run name dot dot": ([*RUN, "--run-name", ".."], ["run_name", "'.'"]),
    "run name with a control character": ([*RUN, "--run-name", "a\x1bb"], ["run_name", "printable"]),
    "run name of a run saved unwritten": ([*RUN, "--run-name", "waiting"], ["run_name", "not yet written", "notifsim load"]),
    "db path not UTF-8": (["run", "--horizon", "10m", "--db", "p\udcff.duckdb"], ["db", "UTF-8"]),
    "db cut short": (["run", "--horizon", "10m", "--db", "cut.duckdb"], ["db", "cut short"]),
    "report of a file cut short": (["report", "cut.duckdb"], ["db", "cut short"]),
    "report title with a control character": (["report", "runs.duckdb", "-o", "r.html", "--title", "a\x1bb"], ["title", "printable"]),
    "report name too long": (["report", "runs.duckdb", "-o", "r" * 250 + ".html"], ["out", "too long"]),
    "demo report name too long": (["demo", "--horizon", "10m", *DB, "--report", "r" * 250 + ".html"], ["report", "too long"]),
    "experiment name a path, no db": (["sweep", "exp-path.toml"], ["name", "--db"]),
    "search name a path, no db": (["tune", "tune-path.toml"], ["name", "--db"]),
    "fleet owners absurd": ([*RUN, "--scenario", "owners-huge.toml"], ["owners", "1000000"]),
    "load a run whose tables were edited": (["load", "runs.duckdb", "elsewhere.duckdb.unwritten"], ["folder", "cannot add"]),
    "load from a missing folder": (["load", "runs.duckdb", "nowhere"], ["folder", "nowhere"]),
    "load from a folder without runs": (["load", "runs.duckdb", "folder.toml"], ["folder", "no saved runs"]),
}


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else b"<dir>") for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_input_exits_2_with_one_line_and_changes_nothing(world, capsys, case):
    argv, expected = CASES[case]
    before = _tree(world)
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    lines = err.splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("notifsim: error: "), err
    for text in expected:
        assert text in lines[0], (text, lines[0])
    assert out == ""
    assert _tree(world) == before


def test_the_table_is_large(world):
    assert len(CASES) >= 45


def test_a_lowercase_channel_is_a_warning_and_the_row_runs_without_a_notifier(world, capsys):
    (world / "lower.json").write_text(_rows({"id": "a", "channel": "slack", "status": "pending"}))
    code = main(["run", "--horizon", "10m", "--initial-rows", "lower.json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err.splitlines() == [line for line in err.splitlines() if line.startswith("notifsim: warning: ")]
    assert "'slack' is not 'Slack'" in err and len(err.splitlines()) == 1


def test_a_timestamp_without_a_zone_is_a_warning(world, capsys):
    (world / "naive.json").write_text(_rows({"id": "a", "created_at": "2025-12-31T23:00:00"}, {"id": "b", "created_at": "2025-12-31T22:00:00"}))
    code = main(["run", "--horizon", "10m", "--initial-rows", "naive.json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err.splitlines() == [
        "notifsim: warning: initial_rows[0].created_at and 1 more: timestamps without a time zone are read as UTC; write them with 'Z' or an offset"
    ]


def test_a_policy_file_without_a_preset_says_what_it_starts_from(world, capsys):
    (world / "mine.toml").write_text("max_attempts = 3\n")
    code = main(["run", "--horizon", "10m", "--policy", "mine.toml"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err.splitlines() == ["notifsim: note: policy file 'mine.toml' has no 'preset =': it starts from certctl-asbuilt (certctl as built)"]


def test_a_scenario_file_may_start_from_a_preset(world):
    (world / "outage.toml").write_text('preset = "default"\nname = "mine"\n[channels.Slack]\nmodel = "Bernoulli"\np_fail = 0.9\n')
    mine = notifsim.Scenario.from_toml(world / "outage.toml")
    default = notifsim.Scenario.preset("default")
    assert mine.name == "mine"
    assert mine.channels["Slack"].p_fail == 0.9
    assert sorted(mine.channels) == sorted(default.channels)  # the other channels come from the preset
    assert mine.workload.describe() == default.workload.describe()


def test_run_without_db_says_nothing_was_stored(world, capsys):
    code = main(["run", "--horizon", "10m"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert out.splitlines()[-1].startswith("nothing was stored")


def test_version_and_help_teach(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"notifsim {notifsim.__version__}"
    for command in ("run", "demo", "sweep", "tune", "report", "load"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        assert "examples:" in text and f"notifsim {command}" in text, command
        if command in ("run", "demo", "sweep"):
            assert "(default: 60.0)" in text and "--force" in text, command
        # a default is shown once, and only when it says something
        flat = " ".join(text.split())
        assert "(default: None)" not in flat and "(default: False)" not in flat, command
        options = re.split(r"\n  (?=-)", text)  # one block per option
        assert all(block.count("(default:") <= 1 for block in options), command


def test_open_results_on_a_foreign_file_raises_config_error(tmp_path):
    foreign = tmp_path / "foreign.duckdb"
    con = duckdb.connect(str(foreign))
    con.execute("CREATE TABLE accounts (id INTEGER)")
    con.close()
    (tmp_path / "text.duckdb").write_text("hello")
    for path in (foreign, tmp_path / "text.duckdb", tmp_path / "missing.duckdb", tmp_path):
        with pytest.raises(ConfigError) as error:
            notifsim.open_results(path)
        assert error.value.field == "db"


def test_simulate_refuses_a_run_that_cannot_fit_unless_forced():
    huge = notifsim.Scenario(workload=notifsim.workloads.Poisson(1e7))
    with pytest.raises(ConfigError, match="--force"):
        notifsim.simulate(huge, "certctl-i005", horizon="3650d")


def test_a_sweep_counts_every_run_its_local_workers_hold_at_once(tmp_path):
    """A run sized to three quarters of what the machine can spare fits alone, but not two at once."""
    from notifsim import budget

    policy = notifsim.Policy.preset("certctl-i005")
    spare = budget.available_memory() * budget.MEMORY_SHARE

    def world(rate: float) -> notifsim.Scenario:
        return notifsim.Scenario(name="big", workload=notifsim.workloads.Poisson(rate))

    low, high = 1.0, 1e7
    for _ in range(60):  # the rate whose one-day run is estimated at 3/4 of the spare memory
        mid = (low + high) / 2
        low, high = (mid, high) if budget.estimate(world(mid), policy, 86400).bytes < 0.75 * spare else (low, mid)
    big = world(low)
    budget.check_memory(big, policy, 86400)  # alone: fits
    configs = notifsim.grid(scenarios=[big], policies=[policy])
    db = tmp_path / "big.duckdb"
    with pytest.raises(ConfigError, match="per run, 2 runs at once") as error:
        notifsim.sweep(configs, replications=2, seed=1, horizon="1d", db=db, executor=2, progress=False)
    assert error.value.field == "horizon" and "--force" in str(error.value)
    assert not db.exists()


def test_an_internal_error_says_it_is_a_bug_and_keeps_the_traceback(monkeypatch, capsys):
    """No real input reaches this path (that is the point), so a command is replaced by one that fails."""

    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(notifsim.cli, "cmd_report", broken)
    code = main(["report", "anything.duckdb"])
    err = capsys.readouterr().err
    assert code == 70
    assert err.splitlines()[0] == "notifsim: internal error — this is a bug; please report it with the traceback below"
    assert "Traceback (most recent call last)" in err and err.splitlines()[-1] == "ZeroDivisionError: a bug"


def test_output_that_cannot_be_printed_after_the_run_was_stored_says_so(world):
    """``notifsim run --db F > /dev/full``: the run is stored, then printing its summary fails: exit 2, one line
    naming the error and the run that was stored (which is in the file)."""
    import subprocess
    import sys

    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "notifsim", "run", "--horizon", "10m", *DB], stdout=full, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 2
    line = done.stderr.strip()
    assert line.startswith("notifsim: error: system: No space left on device (the runs ") and line.endswith("were stored in runs.duckdb before this)")
    run_id = line.split("(the runs ")[1].split()[0]
    with notifsim.open_results("runs.duckdb") as stored:
        assert run_id in set(stored.runs["run_id"])


def test_a_database_path_that_is_a_dangling_link_is_refused_before_running(world, capsys):
    (world / "link.duckdb").symlink_to("/nonexistent/folder/x.duckdb")
    assert main(["run", "--horizon", "10m", "--db", "link.duckdb"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "notifsim: error: db: 'link.duckdb' is a symbolic link to '/nonexistent/folder/x.duckdb', which does not exist"
    assert not (world / "link.duckdb.unwritten").exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"run_name": "a/b"}, "run_name"),
        ({"run_name": "\ud800"}, "run_name"),
        ({"run_name": "é" * 101}, "run_name"),  # 202 bytes in UTF-8
        ({"experiment": 5}, "experiment"),
        ({"label": ["a"]}, "label"),
        ({"label": "\ud800"}, "label"),
        ({"replication": "x"}, "replication"),
        ({"replication": 2**70}, "replication"),
        ({"replication": True}, "replication"),
    ],
)
def test_what_simulate_stores_with_a_run_is_checked_before_it_runs(tmp_path, kwargs, field):
    """Values stored with the run (or naming the folder a run is saved in when its file is busy) are refused before
    the run, naming the field: a run that failed to store because of them would be lost."""
    db = tmp_path / "runs.duckdb"
    with pytest.raises(ConfigError) as raised:
        notifsim.simulate("default", "certctl-i005", horizon="1h", db=db, **kwargs)
    assert raised.value.field == field
    assert not db.exists()


def test_numpy_numbers_are_durations():
    assert len(notifsim.simulate("default", "certctl-i005", horizon=np.int64(600)).attempts) > 0


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: notifsim.channels.Scripted(outcomes=None), "Scripted.outcomes"),
        (lambda: notifsim.channels.Scripted(outcomes="abc"), "Scripted.outcomes"),  # not three error strings
        (lambda: notifsim.operators.Cadence(every="1h", rule=[]), "Cadence.rule"),
        (lambda: notifsim.database.Database(outages=None), "database.outages"),
        (lambda: parse_constraints({"attempts_per_notification": {"min": 5, "max": 3}}), "constraints.attempts_per_notification"),
    ],
)
def test_wrong_kinds_of_value_name_their_field(build, field):
    with pytest.raises(ConfigError) as raised:
        build()
    assert raised.value.field == field
