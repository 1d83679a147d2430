"""Experiments (docs/experiments.md): grid expansion and labels, common random numbers, executors writing the
same rows, resuming, failing runs, and the per-run metrics read back from the file."""

from __future__ import annotations

import dataclasses
import math
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from helpers import Exploding

import notifsim
from notifsim import ConfigError
from notifsim.channels import Bernoulli, GilbertElliott, LogNormal
from notifsim.cli import main
from notifsim.experiments import (
    SweepError,
    configuration_means,
    experiment_from_dict,
    load_experiment,
    replication_seeds,
    run_id,
    run_metrics,
    run_sweep,
)
from notifsim.streams import Streams
from notifsim.workloads import Poisson

ROOT = Path(__file__).resolve().parents[1]


# -- grid -----------------------------------------------------------------------------------------


def test_grid_crosses_policies_and_knobs_in_order_with_readable_labels():
    configs = notifsim.grid(scenarios="default", policies=["certctl-i005", "sqs"], max_attempts=[3, 8])
    assert [c.label for c in configs] == [
        "certctl-i005 · max_attempts=3",
        "certctl-i005 · max_attempts=8",
        "sqs · max_attempts=3",
        "sqs · max_attempts=8",
    ]
    assert [c.policy.max_attempts for c in configs] == [3, 8, 3, 8]
    assert [c.policy.name for c in configs] == ["certctl-i005+max_attempts=3", "certctl-i005+max_attempts=8", "sqs+max_attempts=3", "sqs+max_attempts=8"]
    assert configs[2].policy.backoff_schedule == notifsim.Policy.preset("sqs").backoff_schedule == "fixed"
    assert all(c.scenario.name == "default" for c in configs)
    assert notifsim.Policy.preset("certctl-i005").max_attempts == 5  # the preset itself is untouched


def test_grid_world_knob_changes_only_that_parameter_of_a_composed_channel():
    configs = notifsim.grid(scenarios="provider-outage", policies="certctl-i005", channels__Slack__mean_down=["30m", "2h"])
    assert [c.label for c in configs] == ["certctl-i005 · mean_down=30m", "certctl-i005 · mean_down=2h"]
    original = notifsim.Scenario.preset("provider-outage").describe()
    for config, seconds in zip(configs, (1800.0, 7200.0)):
        changed = config.scenario.describe()
        assert changed["channels"]["Slack"]["models"][1]["mean_down"] == seconds
        changed["channels"]["Slack"]["models"][1]["mean_down"] = original["channels"]["Slack"]["models"][1]["mean_down"]
        changed["name"] = original["name"]
        assert changed == original  # nothing else moved
    assert configs[0].scenario.name == "provider-outage"  # 30 min is the preset's own value: the same world
    assert configs[1].scenario.name == "provider-outage+mean_down=2h"


def test_grid_paths_reach_positions_nested_models_and_whole_parts():
    [by_position] = notifsim.grid(scenarios="provider-outage", policies="sqs", channels__Slack__0__p_fail=0.5)
    assert by_position.scenario.channels["Slack"].models[0].p_fail == 0.5
    [nested] = notifsim.grid(scenarios="provider-outage", policies="sqs", channels__Email__latency__median=2.0)
    latency = nested.scenario.channels["Email"].latency
    assert (latency.median, latency.p99) == (2.0, 5.0)
    [rate] = notifsim.grid(scenarios="default", policies="sqs", workload__rate_per_hour=10, database__write_error_rate=0.01)
    assert (rate.scenario.workload.rate_per_hour, rate.scenario.database.write_error_rate) == (10.0, 0.01)
    assert rate.scenario.workload.channels == notifsim.Scenario.preset("default").workload.channels
    whole = notifsim.grid(scenarios="default", policies="sqs", workload={"quiet": {"model": "Poisson", "rate_per_hour": 5}, "busy": Poisson(500)})
    assert [c.label for c in whole] == ["sqs · quiet", "sqs · busy"]
    assert [c.scenario.workload.rate_per_hour for c in whole] == [5.0, 500.0]
    [burst] = notifsim.grid(scenarios="mass-expiry", policies="sqs", workload__burst_certificates=100)
    assert type(burst.scenario.workload).__name__ == "Burst" and burst.scenario.workload.burst_certificates == 100


def test_grid_labels_from_a_mapping_and_scenario_names_when_several():
    windows = {"outage 10m": [["6h", "10m"]], "outage 2h": [["6h", "2h"]]}
    slack = notifsim.Scenario("slack", channels={"Slack": [Bernoulli(0.01), notifsim.channels.Outages([["6h", "1h"]])]})
    both = notifsim.Scenario("both", channels={"Slack": notifsim.channels.Outages([]), "Email": Bernoulli(0.05)})
    configs = notifsim.grid(scenarios=[slack, both], policies="certctl-i005", channels__Slack__windows=windows)
    assert [c.label for c in configs] == [
        "slack · certctl-i005 · outage 10m",
        "slack · certctl-i005 · outage 2h",
        "both · certctl-i005 · outage 10m",
        "both · certctl-i005 · outage 2h",
    ]
    assert configs[1].scenario.channels["Slack"].models[1].windows == [(21600.0, 7200.0)]
    assert configs[1].scenario.name == "slack+outage 2h"
    assert slack.channels["Slack"].models[1].windows == [(21600.0, 3600.0)]  # the scenario given is untouched
    assert configs[2].scenario.channels["Slack"].windows == [(21600.0, 600.0)]
    assert configs[2].scenario.channels["Email"] is both.channels["Email"]
    with pytest.raises(ConfigError, match="unknown value 'windows'; allowed: accept_status, error, latency, p_fail"):
        notifsim.grid(scenarios=[slack, "default"], policies="certctl-i005", channels__Slack__windows=windows)


@pytest.mark.parametrize(
    "knobs,message",
    [
        ({"maxattempts": [3]}, "grid key: unknown value 'maxattempts' (did you mean 'max_attempts'?)"),
        (
            {"channels__Slack__mean_dow": ["1h"]},
            "channels__Slack__mean_dow: unknown value 'mean_dow' (did you mean 'mean_down'?); "
            "allowed: 0, 1, accept_status, error, latency, mean_down, mean_up, p_fail, p_fail_down, p_fail_up",
        ),
        ({"channels__Teams__p_fail": [0.1]}, "channel of scenario 'provider-outage': unknown value 'Teams'; allowed: Email, PagerDuty, Slack"),
        ({"channels__Slack__latency": [1.0]}, "'latency' is a parameter of the composed models 0 (Bernoulli), 1 (GilbertElliott)"),
        ({"channels__Slack__mean_down": ["soon"]}, "channels__Slack__mean_down: expected a duration"),
        ({"channels__Slack__5__p_fail": [0.1]}, "positions 0 to 1"),
        ({"operator__every": ["1h"]}, "scenario 'provider-outage' has no operator to change"),
        ({"max_attempts": [0]}, "policy.max_attempts: must be an integer >= 1"),
        ({"max_attempts": []}, "max_attempts: must give at least one value"),
        ({"bogus__x": [1]}, "grid key: unknown value 'bogus__x'"),
    ],
)
def test_grid_rejects_bad_knobs_with_one_line_naming_them(knobs, message):
    with pytest.raises(ConfigError) as caught:
        notifsim.grid(scenarios="provider-outage", policies="certctl-i005", **knobs)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_grid_refuses_two_configurations_with_one_label():
    twin = notifsim.Policy.preset("sqs").replace(name="certctl-i005")
    with pytest.raises(ConfigError, match="two configurations are labelled 'certctl-i005'"):
        notifsim.grid(scenarios="default", policies=["certctl-i005", twin])


# -- seeds ---------------------------------------------------------------------------------------


def test_replication_seeds_are_spawned_children_that_fit_bigint_and_extend_as_a_prefix():
    seeds = replication_seeds(2026, 10)
    children = np.random.SeedSequence(2026).spawn(10)
    assert seeds == [int(c.generate_state(1, np.uint64)[0]) >> 1 for c in children]
    assert all(0 <= s < 2**63 for s in seeds) and len(set(seeds)) == 10
    assert replication_seeds(2026, 4) == seeds[:4]
    assert replication_seeds(2027, 4) != seeds[:4]
    assert run_id("e", "a", 0, seeds[0]) == run_id("e", "a", 0, seeds[0]) != run_id("e", "b", 0, seeds[0])


# -- common random numbers -----------------------------------------------------------------------


def _crn_world() -> notifsim.Scenario:
    """Slack fails independently (Bernoulli); Email goes down for periods of mean 30 min, failing every Send while down."""
    return notifsim.Scenario(
        "crn",
        channels={"Slack": Bernoulli(0.3, latency=LogNormal(0.3, 2.0)), "Email": GilbertElliott("2h", "30m", p_fail_up=0.0, p_fail_down=1.0)},
        workload=Poisson(120, channels={"Slack": 1, "Email": 1}),
    )


def test_replication_r_of_every_policy_sees_the_same_arrivals_send_outcomes_and_failure_timeline(tmp_path):
    world = _crn_world()
    db = tmp_path / "crn.duckdb"
    ids = notifsim.sweep(
        notifsim.grid(scenarios=world, policies=["certctl-i005", "grpc"]), replications=2, seed=3, db=db, horizon="6h", executor=1, progress=False
    )
    with notifsim.open_results(db) as stored:
        runs = stored.runs.set_index("run_id")
        results = {rid: stored.run(rid) for rid in ids}
    assert runs.loc[ids, "label"].tolist() == ["certctl-i005", "certctl-i005", "grpc", "grpc"]
    assert runs.loc[ids, "replication"].tolist() == [0, 1, 0, 1]
    assert runs.loc[ids, "seed"].tolist() == replication_seeds(3, 2) * 2
    same = [(results[ids[r]], results[ids[2 + r]]) for r in range(2)]  # (certctl-i005, grpc) in replication r

    arrival = ["id", "type", "channel", "recipient", "certificate_id", "created_at", "message"]
    for i005, grpc in same:
        pd.testing.assert_frame_equal(i005.notifications[arrival], grpc.notifications[arrival])
        # the policies really differ: certctl dead-letters Emails caught in an outage, gRPC retries them until they go through
        assert i005.summary()["dead_lettered"] > 0 == grpc.summary()["dead_lettered"]
        assert len(grpc.attempts) > len(i005.attempts)
    assert not same[0][0].notifications["created_at"].equals(same[1][0].notifications["created_at"])

    def slack_sends(result: notifsim.Result) -> pd.DataFrame:
        slack = result.attempts[result.attempts["channel"] == "Slack"].sort_values("at", kind="stable")
        slack = slack.assign(k=slack.groupby("notification_id", observed=True).cumcount())
        return slack.set_index(["notification_id", "k"])[["outcome", "error", "latency_s"]]

    for i005, grpc in same:  # the k-th Send of an alert has the same outcome and latency under both policies
        a, b = slack_sends(i005), slack_sends(grpc)
        common = a.index.intersection(b.index)
        assert len(common) > 400 and (a.loc[common, "outcome"] == "error").mean() > 0.2
        pd.testing.assert_frame_equal(a.loc[common], b.loc[common])
    a, b = slack_sends(same[0][0]), slack_sends(same[1][0])
    assert not a["outcome"].head(500).reset_index(drop=True).equals(b["outcome"].head(500).reset_index(drop=True))

    email = world.channels["Email"]
    for r, (i005, grpc) in enumerate(same):  # every Email Send fails exactly when the seed's timeline is down
        timeline = email.bind("Email", Streams(replication_seeds(3, 2)[r]))
        other = email.bind("Email", Streams(replication_seeds(3, 2)[1 - r]))
        for result in (i005, grpc):
            sends = result.attempts[result.attempts["channel"] == "Email"]
            seconds = (sends["at"] - world.start).dt.total_seconds()
            failed = (sends["outcome"] == "error").to_numpy()
            assert 0 < failed.sum() < len(failed)
            assert np.array_equal(failed, np.array([timeline.in_outage(t) for t in seconds]))
            assert not np.array_equal(failed, np.array([other.in_outage(t) for t in seconds]))


def test_a_stored_run_is_recreated_alone_by_simulate_from_its_runs_row(tmp_path):
    db = tmp_path / "alone.duckdb"
    configs = notifsim.grid(scenarios="default", policies=["certctl-asbuilt", "svix"])
    ids = notifsim.sweep(configs, replications=2, seed=9, db=db, horizon="2h", executor=1, progress=False, experiment="alone")
    with notifsim.open_results(db) as stored:
        row = stored.runs.set_index("run_id").loc[ids[3]]
        kept = stored.run(ids[3])
    assert (row["experiment"], row["label"], row["replication"]) == ("alone", "svix", 1)
    again = notifsim.simulate(configs[1].scenario, configs[1].policy, seed=int(row["seed"]), horizon="2h")
    assert again.tables().keys() == kept.tables().keys()
    for name, frame in again.tables().items():
        pd.testing.assert_frame_equal(frame, kept.tables()[name], obj=name)


# -- executors write the same rows ---------------------------------------------------------------


def _all_rows(db: Path) -> dict[str, pd.DataFrame]:
    """Every table and view of a results file, rows sorted, without the machine's measurements."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1").fetchall()]
        out = {}
        for name in names:
            exclude = " EXCLUDE (wall_s, created_at)" if name == "runs" else ""
            out[name] = con.execute(f"SELECT *{exclude} FROM {name} ORDER BY ALL").df()
        return out
    finally:
        con.close()


def test_serial_local_pool_thread_pool_and_dask_cluster_write_exactly_the_same_rows(tmp_path):
    from distributed import Client, LocalCluster

    configs = notifsim.grid(scenarios=["provider-outage", "default"], policies=["certctl-asbuilt", "sidekiq"])
    common = dict(replications=3, seed=5, horizon="6h", progress=False, experiment="same")
    serial = notifsim.sweep(configs, db=tmp_path / "serial.duckdb", executor=1, **common)
    pooled = notifsim.sweep(configs, db=tmp_path / "pool.duckdb", executor=2, **common)
    with ThreadPoolExecutor(max_workers=2) as threads:  # any concurrent.futures executor
        threaded = notifsim.sweep(configs, db=tmp_path / "threads.duckdb", executor=threads, **common)
    experiment = tmp_path / "same.toml"  # the same sweep as a file, for `notifsim sweep --dask`
    experiment.write_text(
        'name = "same"\nreplications = 3\nseed = 5\nhorizon = "6h"\nscenarios = ["provider-outage", "default"]\npolicies = ["certctl-asbuilt", "sidekiq"]\n'
    )
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
        on_dask = notifsim.sweep(configs, db=tmp_path / "dask.duckdb", executor=client, **common)
        command = ["sweep", str(experiment), "--db", str(tmp_path / "cli.duckdb"), "--dask", cluster.scheduler_address, "--no-progress"]
        assert main(command) == 0
    assert serial == pooled == threaded == on_dask and len(serial) == 12
    expected = _all_rows(tmp_path / "serial.duckdb")
    assert len(expected) == 11 and len(expected["runs"]) == 12 and len(expected["attempts"]) > 1000
    for other in ("pool", "threads", "dask", "cli"):
        rows = _all_rows(tmp_path / f"{other}.duckdb")
        assert rows.keys() == expected.keys()
        for name, frame in expected.items():
            pd.testing.assert_frame_equal(rows[name], frame, obj=f"{other}: {name}")


# -- resuming ------------------------------------------------------------------------------------


def test_resume_adds_only_missing_runs_and_refuses_another_configuration_under_the_same_ids(tmp_path):
    db = tmp_path / "resume.duckdb"
    configs = notifsim.grid(scenarios="default", policies=["certctl-i005", "sqs"])
    first = run_sweep(configs, replications=2, seed=1, db=db, horizon="1h", executor=1, progress=False, experiment="r")
    assert (first.written, first.skipped, first.failures) == (4, 0, [])
    with notifsim.open_results(db) as stored:
        made = stored.runs.set_index("run_id")["created_at"]
    again = run_sweep(configs, replications=2, seed=1, db=db, horizon="1h", executor=1, progress=False, experiment="r")
    assert (again.written, again.skipped, again.run_ids) == (0, 4, first.run_ids)
    more = run_sweep(
        [*configs, *notifsim.grid(scenarios="default", policies="svix")],
        replications=3,
        seed=1,
        db=db,
        horizon="1h",
        executor=2,
        progress=False,
        experiment="r",
    )
    assert (more.written, more.skipped) == (9 - 4, 4)
    assert set(first.run_ids) < set(more.run_ids)
    with notifsim.open_results(db) as stored:
        runs = stored.runs.set_index("run_id")
        assert runs.index.is_unique and len(runs) == 9
        assert runs.loc[made.index, "created_at"].equals(made)  # the first runs were not written again
        assert sorted(stored.table("notifications")["run_id"].unique()) == sorted(runs.index)
    with pytest.raises(ConfigError, match=r"already has run 'certctl-i005' replication 0 .* with another horizon"):
        run_sweep(configs, replications=2, seed=1, db=db, horizon="2h", executor=1, progress=False, experiment="r")
    changed = notifsim.grid(scenarios="default", policies=["certctl-i005", "sqs"], max_attempts=9)  # same labels, other policies
    with pytest.raises(ConfigError, match="with another scenario and policy"):
        run_sweep(changed, replications=2, seed=1, db=db, horizon="1h", executor=1, progress=False, experiment="r")


# -- failures ------------------------------------------------------------------------------------


def test_a_failing_configuration_is_reported_and_every_other_run_is_written(tmp_path):
    db = tmp_path / "fail.duckdb"
    broken = notifsim.Scenario("broken", channels={"Slack": Bernoulli(0.1)}, workload=Exploding(after=90))
    configs = notifsim.grid(scenarios=["default", broken], policies=["certctl-i005", "sqs"])
    with pytest.raises(SweepError) as caught:
        notifsim.sweep(configs, replications=2, seed=4, db=db, horizon="30m", executor=2, progress=False, experiment="f")
    error = caught.value
    seeds = replication_seeds(4, 2)
    assert [(f.label, f.replication, f.seed) for f in error.failures] == [
        ("broken · certctl-i005", 0, seeds[0]),
        ("broken · certctl-i005", 1, seeds[1]),
        ("broken · sqs", 0, seeds[0]),
        ("broken · sqs", 1, seeds[1]),
    ]
    assert all(f.error == "RuntimeError: workload bug at 90 s" for f in error.failures)
    assert "workload bug at 90 s" in error.failures[0].traceback
    assert str(error).splitlines()[:3] == [
        "4 of 8 runs of experiment 'f' failed (the others were written):",
        "  4 runs: RuntimeError: workload bug at 90 s",
        f"    'broken · certctl-i005' replication 0 (seed {seeds[0]}, run {error.failures[0].run_id})",
    ]
    with notifsim.open_results(db) as stored:
        runs = stored.runs
        assert sorted(runs["run_id"]) == sorted(error.run_ids) and len(runs) == 4
        assert set(runs["label"]) == {"default · certctl-i005", "default · sqs"}
        assert len(stored.table("attempts")) > 0


def test_sweep_rejects_bad_arguments_before_writing_anything(tmp_path):
    configs = notifsim.grid(scenarios="default", policies="sqs")
    db = tmp_path / "never.duckdb"
    cases = [
        (dict(replications=0), "replications: must be an integer >= 1"),
        (dict(seed=-1), "seed: must be an integer >= 0"),
        (dict(horizon="soon"), "horizon"),
        (dict(executor=0), "workers: must be an integer >= 1"),
        (dict(executor="fast"), "executor: must be None"),
        (dict(experiment=""), "experiment: must be a non-empty string"),
    ]
    for change, message in cases:
        args = dict(replications=1, seed=1, db=db, horizon="1h", progress=False, executor=1) | change
        with pytest.raises(ConfigError, match=message):
            notifsim.sweep(configs, **args)
    with pytest.raises(ConfigError, match="must be a Config"):
        notifsim.sweep([("default", "sqs")], replications=1, seed=1, db=db, horizon="1h")
    assert not db.exists()


# -- what an experiment measured -----------------------------------------------------------------


def test_run_metrics_equal_each_runs_summary_and_means_average_them(tmp_path):
    db = tmp_path / "metrics.duckdb"
    configs = notifsim.grid(scenarios="default", policies=["certctl-asbuilt", "celery"], channels__Slack__p_fail=[0.1, 0.6])
    notifsim.sweep(configs, replications=3, seed=8, db=db, horizon="3h", executor=2, progress=False, experiment="m")
    notifsim.simulate("default", "sqs", seed=1, horizon="1h", db=db)  # a run of no experiment stays out
    per_run = run_metrics(db, "m")
    assert len(per_run) == 12 and per_run["run_id"].is_unique
    with notifsim.open_results(db) as stored:
        for row in per_run.itertuples(index=False):
            expected = stored.run(row.run_id).summary()
            got = pd.Series([getattr(row, m) for m in expected.index], index=expected.index, dtype="float64", name="value")
            pd.testing.assert_series_equal(got, expected, check_exact=True)
    means = configuration_means(per_run, order=[c.label for c in configs])
    assert means.index.tolist() == [c.label for c in configs]
    assert means["runs"].tolist() == [3, 3, 3, 3]
    for label, values in means.iterrows():
        mine = per_run[per_run["label"] == label]
        assert math.isclose(values["delivery_rate"], sum(mine["delivery_rate"]) / 3, rel_tol=1e-12)


# -- experiment files ----------------------------------------------------------------------------


def test_the_shipped_outage_experiment_reads_as_documented_and_runs():
    experiment = load_experiment(ROOT / "data" / "experiments" / "outage-tuning.toml")
    assert experiment.name == "outage-tuning" and experiment.replications == 10 and experiment.runs == 400
    policies = notifsim.Policy.presets()
    outages = ["10m", "1h", "2h", "4h"]
    assert [c.label for c in experiment.configs] == [f"{p} · outage {o}" for o in outages for p in policies]
    lengths = {c.scenario.channels["Slack"].models[1].windows[0][1] for c in experiment.configs}
    assert lengths == {600.0, 3600.0, 7200.0, 14400.0}


def test_experiment_file_errors_name_the_key(tmp_path):
    base = {"replications": 1, "seed": 1, "horizon": "1h", "scenarios": ["default"], "policies": ["sqs"]}
    assert len(experiment_from_dict(base).configs) == 1
    for change, message in [
        ({"replication": 2}, "experiment key: unknown value 'replication' (did you mean 'replications'?)"),
        ({"vary": {"max_attempts": [0]}}, "policy.max_attempts"),
        ({"policies": ["sq"]}, "policy: unknown value 'sq'"),
        ({"scenarios": ["missing.toml"]}, "cannot read"),
        ({"vary": [1]}, "vary: must be a table"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(message)):
            experiment_from_dict(base | change, base=tmp_path)
    without = {k: v for k, v in base.items() if k != "horizon"}
    with pytest.raises(ConfigError, match="horizon: is required"):
        experiment_from_dict(without)
    short = dataclasses.replace(experiment_from_dict(base), replications=2)
    assert short.runs == 2


def test_import_notifsim_stays_light_and_a_local_sweep_never_imports_dask(tmp_path):
    script = f"""
import sys
import notifsim
heavy = ("dask", "distributed", "duckdb", "simpy", "pyarrow", "matplotlib", "pandas")
print(sorted(m for m in heavy if m in sys.modules))
configs = notifsim.grid(scenarios="default", policies="sqs")
notifsim.sweep(configs, replications=1, seed=1, horizon="10m", db={str(tmp_path / "light.duckdb")!r}, executor=1, progress=False)
print(sorted(m for m in ("dask", "distributed") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == ["[]", "[]"]


def test_a_class_defined_in_a_session_is_refused_for_worker_processes_and_runs_in_this_process(tmp_path):
    script = f"""
import notifsim
from notifsim.channels import Bernoulli
from notifsim.workloads import Workload

class Hourly(Workload):
    def process(self, hooks):
        while True:
            hooks.create(type="ExpirationWarning", channel="Slack", recipient="sre@example.com", message="cert expires", certificate_id="mc-1", deadline=300)
            yield hooks.timeout(3600)

configs = notifsim.grid(scenarios=notifsim.Scenario("hourly", channels={{"Slack": Bernoulli(0.5)}}, workload=Hourly()), policies="sqs")
try:
    notifsim.sweep(configs, replications=2, seed=1, horizon="3h", db={str(tmp_path / "session.duckdb")!r}, executor=2, progress=False)
except notifsim.ConfigError as exc:
    print(exc)
ids = notifsim.sweep(configs, replications=2, seed=1, horizon="3h", db={str(tmp_path / "session.duckdb")!r}, executor=1, progress=False)
print(len(ids))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == [
        "executor: configuration 'sqs' uses a class defined in this notebook or session (__main__), which worker processes cannot import; "
        "move it to a module, or run in this process with executor=1 (a Dask client also works)",
        "2",
    ]
