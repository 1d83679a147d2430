"""Policy search (notifsim.tune): the closed-form outage case, constraints, determinism, resume, bad input.

The worlds are small (one channel, a few hours, two replications) and the
budgets short, so each search takes a few seconds in this process.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import notifsim
from notifsim import ConfigError, Policy, open_results
from notifsim.tuning import load_tune, parse_objective, parse_space
from notifsim.tuning.toml import load_tune_file, tune_from_dict

#: Outage length D of the closed-form world, seconds (50 min, from 10 min into the run).
D = 50 * 60.0
OUTAGE_WORLD = {
    "name": "slack-outage-50m",
    "start": "2026-01-05T00:00:00Z",
    "channels": {"Slack": {"model": "Outages", "windows": [["10m", "50m"]]}},
    "workload": {"model": "Poisson", "rate_per_hour": 120, "channels": "Slack"},
}
BASES = ["1m", "2m", "5m", "10m", "20m"]
SPACE = {"max_attempts": {"low": 2, "high": 7}, "backoff_base": {"choices": BASES}}
#: certctl-i005 with a cap that never binds, so the waits are base × 2ⁿ exactly.
BASE = Policy.preset("certctl-i005").replace(backoff_cap="1d")


def _search(db, **overrides):
    arguments = dict(
        space=SPACE,
        objective="attempts_per_notification",
        constraints={"dead_letter_rate": {"max": 0}},
        budget=20,
        replications=2,
        seed=3,
        db=db,
        executor=1,
        base=BASE,
        horizon="2h",
        compare=False,
        progress=False,
    )
    arguments.update(overrides)
    return notifsim.tune([OUTAGE_WORLD], **arguments)


def closed_form_sends(base_s: float, outage_s: float) -> int:
    """Send calls of an alert created as the outage starts, under waits base·2ⁿ (no cap, no jitter): the first send
    fails, then one more send per wait until the waits add up to at least the outage."""
    retries = math.ceil(math.log2(outage_s / base_s + 1))  # smallest k with base·(2ᵏ − 1) >= outage
    return 1 + retries


@pytest.fixture(scope="module")
def outage_search(tmp_path_factory):
    return _search(tmp_path_factory.mktemp("tune") / "outage.duckdb")


def test_the_search_finds_the_fewest_send_policy_that_outlasts_the_outage(outage_search):
    best = outage_search.best
    assert best is not None
    # closed form: alerts created as the outage starts need waits adding up to D; 20 min × (1 + 2) = 60 min ≥ 50 min
    # in 3 Send calls, fewer than any smaller base (1 m: 7, 2 m: 6, 5 m: 5, 10 m: 4)
    sends = {b: closed_form_sends(notifsim.timeutil.parse_duration(b, "b"), D) for b in BASES}
    assert sends == {"1m": 7, "2m": 6, "5m": 5, "10m": 4, "20m": 3}
    assert best.backoff_base == 20 * 60.0
    assert best.max_attempts >= sends["20m"]
    assert sum(best.waits()) >= D
    row = outage_search.trials[outage_search.trials["policy"] == best.name].iloc[0]
    assert row["dead_letter_rate"] == 0.0
    # the alert that waited longest made exactly the closed-form number of Send calls
    with open_results(outage_search.db) as stored:
        most = stored.sql(
            "SELECT max(c) AS m FROM (SELECT count(*) AS c FROM attempts WHERE run_id IN "
            "(SELECT run_id FROM runs WHERE experiment = ? AND policy = ?) GROUP BY run_id, notification_id)",
            [outage_search.experiment, best.name],
        )["m"][0]
    assert most == sends["20m"]
    # and no feasible trial sends less per notification
    feasible = outage_search.trials[outage_search.trials["feasible"]]
    assert row["attempts_per_notification"] == feasible["attempts_per_notification"].min()


def test_feasibility_matches_the_closed_form_window_for_every_trial(outage_search):
    for row in outage_search.trials.itertuples(index=False):
        policy = BASE.replace(max_attempts=int(row.max_attempts), backoff_base=float(row.backoff_base))
        window = sum(policy.waits())
        assert row.feasible == (window >= D), (row.max_attempts, row.backoff_base, window)
        assert (row.dead_letter_rate == 0) == (window >= D)


def test_the_result_gives_a_policy_and_a_toml_snippet_of_the_changed_knobs(outage_search):
    snippet = outage_search.to_toml()
    assert 'preset = "certctl-i005"' in snippet
    assert 'backoff_base = "20m"' in snippet
    assert "arm_first_failure" not in snippet  # the certctl switches stay as the base sets them
    assert outage_search.best.switches() == BASE.switches()
    assert set(outage_search.changes()) <= {"name", "max_attempts", "backoff_base"}
    text = outage_search.text()
    assert "best: " in text and "Send calls per notification" in text
    assert "<script" not in outage_search._repr_html_()


def test_the_same_seed_gives_the_same_study(tmp_path, outage_search):
    again = _search(tmp_path / "again.duckdb")
    columns = ["trial", "max_attempts", "backoff_base", "attempts_per_notification", "dead_letter_rate"]
    assert again.trials[columns].equals(outage_search.trials[columns])
    assert again.best == outage_search.best


def test_constraints_are_respected_by_the_returned_policy(tmp_path):
    limit = 1.7
    result = _search(
        tmp_path / "limited.duckdb",
        objective="undelivered_rate",
        constraints={"attempts_per_notification": {"max": limit}},
        budget=12,
    )
    assert result.best is not None
    row = result.trials[result.trials["policy"] == result.best.name].iloc[0]
    assert row["attempts_per_notification"] <= limit and row["feasible"]
    assert (result.trials["feasible"] == (result.trials["attempts_per_notification"] <= limit)).all()


def test_several_objectives_give_a_pareto_front(tmp_path):
    result = _search(tmp_path / "front.duckdb", objective=["dead_letter_rate", "attempts_per_notification"], constraints=None, budget=12)
    assert result.best is None and result.front
    points = result.trials.drop_duplicates("policy")
    for policy in result.front:
        mine = points[points["policy"] == policy.name].iloc[0]
        beaten = points[
            (points["dead_letter_rate"] <= mine["dead_letter_rate"])
            & (points["attempts_per_notification"] <= mine["attempts_per_notification"])
            & ((points["dead_letter_rate"] < mine["dead_letter_rate"]) | (points["attempts_per_notification"] < mine["attempts_per_notification"]))
        ]
        assert beaten.empty


def test_a_stopped_search_continues_to_its_budget_and_reloads(tmp_path):
    db = tmp_path / "resume.duckdb"
    first = _search(db, budget=4, batch=2)
    assert len(first.trials) == 4
    more = _search(db, budget=8, batch=2)
    assert len(more.trials) == 8
    assert more.trials["trial"].tolist()[:4] == first.trials["trial"].tolist()
    loaded = load_tune(db, "tune")
    assert loaded.best == more.best and len(loaded.trials) == 8
    with pytest.raises(ConfigError, match="other settings"):
        _search(db, budget=8, batch=2, replications=3)


def test_the_presets_run_on_the_same_worlds_and_seeds(tmp_path):
    result = _search(tmp_path / "compare.duckdb", budget=4, compare=True)
    assert set(Policy.presets()) <= set(result.summary.index)
    assert result.summary.loc[result.best.name, "role"] == "best"
    with open_results(result.db) as stored:
        seeds = stored.sql("SELECT DISTINCT policy, seed FROM runs WHERE experiment = ?", [result.experiment])
    assert seeds.groupby("policy")["seed"].apply(frozenset).nunique() == 1  # common random numbers
    assert "difference" in result.paired.columns


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"max_atempts": {"low": 2, "high": 5}}, "did you mean 'max_attempts'"),
        ({"max_attempts": {"low": 5, "high": 2}}, "low must be below high"),
        ({"max_attempts": {"low": 2.5, "high": 5}}, "must be an integer"),
        ({"backoff_base": {"low": "soon", "high": "10m"}}, "space.backoff_base.low"),
        ({"backoff_multiplier": {"low": 0, "high": 2, "log": True}}, "log scale needs low > 0"),
        ({"jitter": {"low": 1, "high": 2}}, "choices"),
        ({"jitter": {"choices": ["none", "ful"]}}, "did you mean 'full'"),
        ({"max_attempts": [2, 5]}, "must be a table"),
        ({}, "at least one policy field"),
    ],
)
def test_a_bad_space_is_one_clear_error(space, message):
    with pytest.raises(ConfigError, match=message):
        parse_space(space)


def test_bad_objectives_and_constraints_name_the_allowed_metrics():
    with pytest.raises(ConfigError, match=r"allowed: .*attempts_per_notification"):
        parse_objective("send_calls")
    with pytest.raises(ConfigError, match="aggregate"):
        parse_objective("undelivered_rate", "median")
    with pytest.raises(ConfigError, match="did you mean 'max'"):
        parse_objective("undelivered_rate", "mean", {"attempts_per_notification": {"maxi": 3}})
    with pytest.raises(ConfigError, match=r"constraints\.attempts_per_notification\.max: must be a number"):
        parse_objective("undelivered_rate", "mean", {"attempts_per_notification": {"max": "3"}})


def test_bad_input_writes_nothing(tmp_path):
    db = tmp_path / "nothing.duckdb"
    with pytest.raises(ConfigError, match="sampler"):
        _search(db, sampler="annealing")
    with pytest.raises(ConfigError, match="budget"):
        _search(db, budget=0)
    assert list(tmp_path.iterdir()) == []


def test_tune_files_are_checked_and_the_example_loads(tmp_path):
    spec = load_tune_file("data/experiments/tune-4h-outage.toml")
    assert spec.name == "tune-4h-outage"
    assert [w.name for w in spec.arguments["worlds"]] == [f"slack-outage+outage {d}" for d in ("10m", "1h", "4h")]
    with pytest.raises(ConfigError, match="did you mean 'budget'"):
        tune_from_dict({"worlds": ["default"], "space": SPACE, "budgt": 3})
    with pytest.raises(ConfigError, match="policy knob"):
        tune_from_dict({"worlds": ["default"], "space": SPACE, "vary": {"max_attempts": [3]}})


def test_import_notifsim_does_not_import_optuna():
    import subprocess
    import sys

    code = "import sys, notifsim; notifsim.tune; notifsim.tuning; print('optuna' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


CLI_FILE = """
name = "cli-search"
base = { preset = "certctl-i005", backoff_cap = "1d" }
horizon = "2h"
replications = 1
seed = 3
budget = 3
objective = "attempts_per_notification"

[space]
backoff_base = { choices = ["10m", "20m"] }

[constraints]
dead_letter_rate = { max = 0 }

[[worlds]]
name = "slack-outage-50m"
start = "2026-01-05T00:00:00Z"
channels = { Slack = { model = "Outages", windows = [["10m", "50m"]] } }
workload = { model = "Poisson", rate_per_hour = 120, channels = "Slack" }
"""


def test_the_cli_runs_a_tune_file_and_prints_the_answer(tmp_path, capsys):
    from notifsim.cli import main

    path = tmp_path / "search.toml"
    path.write_text(CLI_FILE)
    db = tmp_path / "cli.duckdb"
    assert main(["tune", str(path), "--db", str(db), "--workers", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "tune 'cli-search'" in out and "best: " in out and 'preset = "certctl-i005"' in out
    assert 'backoff_cap = "1d"' in out  # the base's own change is part of the snippet
    assert "sidekiq" in out  # the presets ran on the same world


def test_the_cli_refuses_bad_input_with_exit_2_and_writes_nothing(tmp_path, capsys):
    from notifsim.cli import main

    path = tmp_path / "bad.toml"
    path.write_text(CLI_FILE.replace("budget = 3", "budget = 3\nbudgt = 4"))
    db = tmp_path / "bad.duckdb"
    assert main(["tune", str(path), "--db", str(db)]) == 2
    assert "did you mean 'budget'" in capsys.readouterr().err
    assert main(["tune", str(tmp_path / "search.toml"), "--db", str(db)]) == 2
    path.write_text(CLI_FILE)
    assert main(["tune", str(path), "--db", str(db), "--budget", "0"]) == 2
    assert not db.exists() and not (tmp_path / "bad.duckdb.optuna.journal").exists()


@pytest.mark.parametrize(
    "extra,content,message",
    [
        (["--lock-timeout", "soon"], None, "notifsim: error: lock_timeout: must be a number of seconds in [0, 86400]; got 'soon'"),
        ([], b'name = "x"\nbudget = \xff\n', "notifsim: error: tune file: "),
        ([], b"name = [\n", "notifsim: error: tune file: "),
    ],
)
def test_the_cli_reads_tune_files_and_options_like_every_other_command(tmp_path, capsys, extra, content, message):
    from notifsim.cli import main

    path = tmp_path / "search.toml"
    path.write_bytes(content if content is not None else CLI_FILE.encode())
    db = tmp_path / "x.duckdb"
    assert main(["tune", str(path), "--db", str(db), "--no-progress", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1
    assert not db.exists()


def test_the_report_opens_with_the_search(tmp_path, outage_search):
    from notifsim.report import write_report

    out = write_report(outage_search.db, tmp_path / "tune.html", run_ids=outage_search.run_ids())
    text = out.read_text()
    assert '<section id="search">' in text and "Policy search" in text
    assert text.count("data:image/png") >= 2
    assert "backoff_base = &quot;20m&quot;" in text


def test_the_report_of_one_tune_shows_that_tune_only(tmp_path):
    """Two tunes in one file: a report of one tune's runs has its search section alone; a report of every run has both."""
    from notifsim.report import build_report

    db = tmp_path / "two.duckdb"
    first = _search(db, budget=2, batch=2, name="first")
    second = _search(db, budget=2, batch=2, name="second", objective="undelivered_rate")
    only_first = build_report(db, run_ids=first.run_ids())
    assert "<h3>first</h3>" in only_first and "<h3>second</h3>" not in only_first
    only_second = build_report(db, run_ids=second.run_ids())
    assert "<h3>second</h3>" in only_second and "<h3>first</h3>" not in only_second
    both = build_report(db)
    assert "<h3>first</h3>" in both and "<h3>second</h3>" in both


def test_the_search_figures_draw(outage_search):
    import matplotlib

    matplotlib.use("Agg")
    from notifsim import plots

    ax = plots.search_history(outage_search)
    assert ax.get_xlabel() == "trial (evaluation)"
    ax = plots.search_front(outage_search, x="attempts_per_notification", y="dead_letter_rate")
    assert "Send calls per notification" in ax.get_xlabel()


@given(
    low=st.floats(min_value=1.0, max_value=100.0),
    span=st.floats(min_value=1e-3, max_value=100.0),
    where=st.floats(min_value=0.0, max_value=1.0),
)
def test_settled_values_stay_in_their_range_and_settle_once(low, span, where):
    from notifsim.tuning.space import settle

    (dim,) = parse_space({"backoff_multiplier": {"low": low, "high": low + span}})
    value = low + where * span
    once = settle({"backoff_multiplier": value}, [dim])["backoff_multiplier"]
    assert dim.low <= once <= dim.high
    assert settle({"backoff_multiplier": once}, [dim])["backoff_multiplier"] == once


def test_a_trial_left_unfinished_is_evaluated_first_on_resume(tmp_path):
    import optuna

    from notifsim.tuning.result import dimensions_of, settings_of
    from notifsim.tuning.space import suggest
    from notifsim.tuning.study import open_storage

    db = tmp_path / "stale.duckdb"
    _search(db, budget=2, batch=2)
    study = optuna.load_study(study_name="tune", storage=open_storage(db))
    left = study.ask()  # as if the process had been killed between asking and telling
    suggest(left, dimensions_of(settings_of(study)))
    resumed = _search(db, budget=4, batch=2)
    assert left.number in resumed.trials["trial"].tolist()
    assert len(resumed.trials) == 4
    states = {t.state.name for t in optuna.load_study(study_name="tune", storage=open_storage(db)).trials}
    assert states == {"COMPLETE"}


def test_the_tune_help_teaches(capsys):
    from notifsim.cli import main

    with pytest.raises(SystemExit):
        main(["tune", "--help"])
    text = capsys.readouterr().out
    assert "examples:" in text and "notifsim tune data/experiments/tune-4h-outage.toml" in text
